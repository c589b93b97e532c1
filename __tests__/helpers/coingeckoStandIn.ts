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
