/**
 * A CoinGecko stand-in: a real HTTP server on 127.0.0.1 (ephemeral port) that replays scripted responses,
 * one per request in arrival order, and records every request (path, query, headers). A script entry can
 * delay its answer, hang (never answer, for timeouts) or destroy the socket (a network error). When the
 * script runs out the `fallback` answers (e.g. "429 forever"); without one the stand-in answers 599 so a
 * test that sent more requests than it scripted fails loudly.
 */
import * as http from "http";
import { AddressInfo, Socket } from "net";

/** One scripted answer. */
export interface ScriptedResponse {
  /** HTTP status. Defaults to 200. */
  status?: number;
  /** Response headers. Defaults to `content-type: application/json`. */
  headers?: Record<string, string>;
  /** Exact body bytes or text. Defaults to empty. */
  body?: string | Uint8Array;
  /** Wait this long before answering. Defaults to 0. */
  delayMs?: number;
  /** Never answer (the client's timeout must fire). */
  hang?: boolean;
  /** Destroy the socket instead of answering (the client sees a network error). */
  destroy?: boolean;
}

/** One request as the stand-in received it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query, e.g. `/api/v3/coins/markets`. */
  path: string;
  /** Query parameters, decoded. */
  query: Record<string, string>;
  /** Request headers (lower-case names). */
  headers: http.IncomingHttpHeaders;
}

/** Computes an answer from the request and its 0-based arrival index. */
export type Responder = (request: RecordedRequest, index: number) => ScriptedResponse;

/** Options of {@link startCoinGeckoStandIn}. */
export interface StandInOptions {
  /** Answers for the first requests, in order. Defaults to none. */
  responses?: ScriptedResponse[];
  /** Answers every request after the scripted ones. Defaults to a 599 "script exhausted" answer. */
  fallback?: ScriptedResponse | Responder;
}

/** A running stand-in. */
export interface CoinGeckoStandIn {
  /** Base URL to configure the client with: `http://127.0.0.1:<port>/api/v3`. */
  baseUrl: string;
  /** Every request received, in arrival order. */
  requests: RecordedRequest[];
  /** Appends answers to the script (for a second run against the same server). */
  enqueue(...responses: ScriptedResponse[]): void;
  /** Stops the server and destroys hung connections. */
  close(): Promise<void>;
}

/** Path prefix of the real API, kept so tests see realistic paths. */
export const STAND_IN_API_PREFIX = "/api/v3";

/** Starts a stand-in on an ephemeral loopback port. */
export async function startCoinGeckoStandIn(options: StandInOptions = {}): Promise<CoinGeckoStandIn> {
  const script = [...(options.responses ?? [])];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const fallback = options.fallback ?? { status: 599, body: "coingecko stand-in: script exhausted" };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const request: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams.entries()),
      headers: req.headers,
    };
    const index = requests.length;
    requests.push(request);
    const next = script.shift() ?? (typeof fallback === "function" ? fallback(request, index) : fallback);
    const answer = (): void => {
      if (next.hang) return;
      if (next.destroy) {
        req.socket.destroy();
        return;
      }
      res.writeHead(next.status ?? 200, next.headers ?? { "content-type": "application/json" });
      res.end(next.body === undefined ? "" : Buffer.from(next.body));
    };
    if (next.delayMs) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, next.delayMs);
      timers.add(timer);
    } else {
      answer();
    }
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}${STAND_IN_API_PREFIX}`,
    requests,
    enqueue: (...responses) => {
      script.push(...responses);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** A coin the {@link marketChartResponder} knows: its price and supply at the start of the history. */
export interface ChartCoin {
  price: number;
  supply: number;
}

/** What {@link marketChartResponder} serves. */
export interface ChartMarket {
  /** The stand-in's "now", epoch ms: the last point of every series. */
  nowMs: number;
  /** Coin id to its starting values; other ids get 404 `{"error":"coin not found"}` as CoinGecko answers. */
  coins: Record<string, ChartCoin>;
}

/**
 * `GET /coins/{id}/market_chart?vs_currency=usd&days=N` as CoinGecko documents it: `{prices, market_caps,
 * total_volumes}` of `[ms, value]` points, 5-minute for 1 day and hourly for 2-90 days, at irregular
 * milliseconds (a different offset within each hour), a last point at "now", and `total_volumes` one point
 * shorter than the others (the arrays can differ in length). Deterministic: the same request gets the same bytes.
 */
export function marketChartBody(market: ChartMarket, id: string, days: number): string {
  const { price, supply } = market.coins[id];
  const step = days === 1 ? 300_000 : 3_600_000;
  const start = market.nowMs - days * 86_400_000;
  const times: number[] = [];
  for (let k = 1; start + k * step < market.nowMs - 60_000; k += 1) times.push(start + k * step + ((k * 7919) % 97_000) - 48_500);
  times.push(market.nowMs);
  const priceAt = (t: number, i: number): number => price * (1 + 0.03 * Math.sin(i / 9) + 0.00001 * (t % 1000));
  const prices = times.map((t, i) => [t, priceAt(t, i)]);
  return JSON.stringify({
    prices,
    market_caps: prices.map(([t, p]) => [t, p * supply]),
    total_volumes: prices.slice(0, -1).map(([t, p]) => [t, p * supply * 0.04]),
  });
}

/** The path of a market_chart request, `/api/v3/coins/<id>/market_chart`, or undefined for any other path. */
export function marketChartCoinOf(path: string): string | undefined {
  const m = new RegExp(`^${STAND_IN_API_PREFIX}/coins/([^/]+)/market_chart$`).exec(path);
  return m === null ? undefined : decodeURIComponent(m[1]);
}

/** A {@link Responder} serving {@link marketChartBody} for the market's coins, 404 for other ids, 599 for other paths. */
export function marketChartResponder(market: ChartMarket): Responder {
  return (request) => {
    const id = marketChartCoinOf(request.path);
    if (id === undefined) return { status: 599, body: `coingecko stand-in: no route for ${request.path}` };
    if (!(id in market.coins)) return { status: 404, body: JSON.stringify({ error: "coin not found" }) };
    return { body: marketChartBody(market, id, Number(request.query.days)) };
  };
}

/** A responder behind a rate limit, and what the limit saw. */
export interface RateLimited {
  responder: Responder;
  /** Requests answered 429. */
  refused(): number;
  /** Requests that came back before the `Retry-After` they were given had passed. */
  early(): number;
}

/**
 * Puts `inner` behind a plan-like rate limit: at most `limit` requests per `windowMs` window; a request
 * beyond it gets 429 with `Retry-After` (whole seconds until the window ends), and any request that arrives
 * before then counts as early. `now` is the clock the windows follow.
 */
export function rateLimit(inner: Responder, limit: number, windowMs: number, now: () => number = Date.now): RateLimited {
  let windowStart = Number.NEGATIVE_INFINITY;
  let used = 0;
  let blockedUntil = Number.NEGATIVE_INFINITY;
  let refused = 0;
  let early = 0;
  return {
    responder: (request, index) => {
      const t = now();
      if (t < blockedUntil) early += 1;
      if (t >= windowStart + windowMs) [windowStart, used] = [t, 0];
      if (used >= limit) {
        refused += 1;
        const waitSeconds = Math.ceil((windowStart + windowMs - t) / 1000);
        blockedUntil = t + waitSeconds * 1000;
        return {
          status: 429,
          headers: { "content-type": "application/json", "retry-after": String(waitSeconds) },
          body: JSON.stringify({ status: { error_code: 429, error_message: "You've exceeded the Rate Limit." } }),
        };
      }
      used += 1;
      return inner(request, index);
    },
    refused: () => refused,
    early: () => early,
  };
}
