/**
 * The CoinGecko `/coins/markets` client: plan-aware host and key header, pagination with pacing, and
 * retries (axios-retry) with exponential backoff and jitter for 429/5xx/408/timeouts/network errors,
 * `Retry-After` honoured, all bounded by a time budget so a Lambda invocation fails with a clear error
 * before its timeout instead of being killed mid-wait. Configuration errors (400/401/403, CoinGecko error
 * codes 10002/10005/10010/10011) fail at once. No message ever contains the API key.
 */
import axios, { AxiosError, AxiosResponse } from "axios";
import axiosRetry, { IAxiosRetryConfig } from "axios-retry";
import { setTimeout as delay } from "node:timers/promises";
import { coinGeckoError, CoinGeckoError, CoinGeckoErrorKind } from "./coingeckoErrors";
import type { FetchedPage, SnapshotSource } from "./ingest";
import { errorBodyOf, errorBodyOfBytes } from "./normalize";
import { redact } from "./telemetry";

/**
 * CoinGecko plans: `demo` (free key, public host, header `x-cg-demo-api-key`), `pro` (paid key, Pro host,
 * header `x-cg-pro-api-key`), `keyless` (public host, no key, a rate limit shared by everyone on the IP).
 */
export type CoinGeckoPlan = "demo" | "pro" | "keyless";

/** Every plan name, for validating configuration text. */
export const COINGECKO_PLANS: readonly CoinGeckoPlan[] = ["demo", "pro", "keyless"];

/** Base URL of the Demo plan and of keyless access. */
export const PUBLIC_BASE_URL = "https://api.coingecko.com/api/v3";

/** Base URL of the paid plans. */
export const PRO_BASE_URL = "https://pro-api.coingecko.com/api/v3";

/** Default base URL of each plan. */
export const DEFAULT_BASE_URLS: Readonly<Record<CoinGeckoPlan, string>> = {
  demo: PUBLIC_BASE_URL,
  pro: PRO_BASE_URL,
  keyless: PUBLIC_BASE_URL,
};

/** Request header carrying the key, per keyed plan. */
export const KEY_HEADERS = { demo: "x-cg-demo-api-key", pro: "x-cg-pro-api-key" } as const;

/** Path of the markets endpoint under the base URL. */
export const MARKETS_PATH = "/coins/markets";

/** Path of a coin's price, market cap and volume history under the base URL (`/coins/{id}/market_chart`). */
export function marketChartPath(coinId: string): string {
  return `/coins/${encodeURIComponent(coinId)}/market_chart`;
}

/** Coins per page; CoinGecko's maximum, and one page costs one credit whatever its size. */
export const MAX_PER_PAGE = 250;

/** Default number of coins per snapshot (one page). */
export const DEFAULT_TOP_N = 250;

/** Default quote currency. */
export const DEFAULT_VS_CURRENCY = "usd";

/** Default pause between pages, so a multi-page snapshot stays under the Demo plan's per-minute limit. */
export const DEFAULT_PAGE_PACING_MS = 2_500;

/** Default first backoff for 5xx/408/timeouts/network errors; doubles per retry. */
export const DEFAULT_RETRY_BASE_DELAY_MS = 2_000;

/** Default cap on one exponential backoff step. */
export const DEFAULT_RETRY_MAX_DELAY_MS = 30_000;

/** Default wait after a 429 without `Retry-After`: CoinGecko's limits are per minute. */
export const DEFAULT_RATE_LIMIT_DELAY_MS = 60_000;

/** Default timeout of one HTTP request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/** Default time budget of one snapshot fetch (all pages, waits and retries) when the caller gives none. */
export const DEFAULT_FETCH_BUDGET_MS = 240_000;

/** Largest page body accepted; a real 250-coin page is about 200 KB. */
export const MAX_PAGE_BYTES = 20 * 1024 * 1024;

/** Random extra added to every wait, as a fraction of it, so retrying clients do not move in lockstep. */
const JITTER_RATIO = 0.2;

/** A retry is only started when at least this long (or the request timeout, if shorter) is left after its wait. */
const MIN_ATTEMPT_MS = 1_000;

/** Host names of this machine, the only ones a base URL may reach over plain http (tests, local stand-ins). */
const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * Why `url` can never work as a CoinGecko base URL, or undefined when it can: it must parse as a URL and
 * use https (the key travels in a header); with `loopbackHttp`, plain http to this machine is also
 * accepted, for stand-ins. The client checks this before any request, so a typo or an `ftp://` fails at
 * once instead of being retried for the whole time budget; the IngestLake component checks it at deploy
 * time without `loopbackHttp` (a Lambda function reaches no server on its own loopback).
 */
export function baseUrlProblem(url: string, options: { loopbackHttp: boolean }): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (parsed.protocol === "https:") return undefined;
  if (options.loopbackHttp && parsed.protocol === "http:" && LOOPBACK_HOST.test(parsed.hostname)) return undefined;
  return options.loopbackHttp
    ? "must be an https:// URL (the key travels in a header), or http:// to this machine (localhost, 127.0.0.1, [::1])"
    : "must be an https:// URL (the key travels in a header)";
}

/** Told about every retry before its wait starts (the ingest handler logs it, the CLI prints it). */
export interface RetryNotice {
  /** Page (1-based) being retried. */
  page: number;
  /** What is being fetched, e.g. `page 2` or `bitcoin market_chart`. */
  label: string;
  /** Retry number for this page, 1 for the first retry. */
  retry: number;
  /** What failed, e.g. `HTTP 429`, `timed out after 15000 ms`, `ECONNRESET`. */
  reason: string;
  /** How long the client waits before the retry, jitter included. */
  delayMs: number;
}

/** Options of {@link createCoinGeckoSource}. */
export interface CoinGeckoSourceOptions {
  /** Plan; defaults to `demo` when `apiKey` is given, else `keyless`. */
  plan?: CoinGeckoPlan;
  /** The API key; required by `demo` and `pro`, refused by `keyless`. Never logged or put in errors. */
  apiKey?: string;
  /** Base URL override (tests, proxies, local runs); defaults to the plan's host ({@link DEFAULT_BASE_URLS}). */
  baseUrl?: string;
  /** Quote currency; defaults to {@link DEFAULT_VS_CURRENCY}. */
  vsCurrency?: string;
  /**
   * Coins per snapshot, 1–250 or a multiple of 250 (pages are 250 coins and a page costs one credit
   * whatever its size); defaults to {@link DEFAULT_TOP_N}.
   */
  topN?: number;
  /** Pause between pages; defaults to {@link DEFAULT_PAGE_PACING_MS}. */
  pagePacingMs?: number;
  /** First backoff for 5xx/408/timeouts/network errors; defaults to {@link DEFAULT_RETRY_BASE_DELAY_MS}. */
  retryBaseDelayMs?: number;
  /** Cap of one backoff step; defaults to {@link DEFAULT_RETRY_MAX_DELAY_MS}. */
  retryMaxDelayMs?: number;
  /** Wait after a 429 without `Retry-After`; defaults to {@link DEFAULT_RATE_LIMIT_DELAY_MS}. */
  rateLimitDelayMs?: number;
  /**
   * Time budget of one snapshot fetch in ms, pages, waits and retries included: when the next wait would
   * pass it the fetch fails at once. The Lambda handler passes its remaining time minus a safety margin.
   * Defaults to {@link DEFAULT_FETCH_BUDGET_MS}.
   */
  budgetMs?: number;
  /** Timeout of one HTTP request (capped by what is left of the budget); defaults to {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  /**
   * Most retries of one page, whatever time is left: caps the requests a long outage costs (each one may
   * count against the plan's rate limit). Defaults to no cap, so the time budget alone bounds retries.
   */
  maxRetries?: number;
  /** Called before every retry's wait; defaults to doing nothing. */
  onRetry?: (notice: RetryNotice) => void;
}

/** The plan in effect: the given one, else `demo` when there is a key, else `keyless`. */
export function resolvePlan(plan: CoinGeckoPlan | undefined, apiKey: string | undefined): CoinGeckoPlan {
  return plan ?? (apiKey === undefined ? "keyless" : "demo");
}

/**
 * Milliseconds a `Retry-After` header asks to wait: delta-seconds (`"30"`) or an HTTP date; undefined
 * when absent or unreadable. A date in the past means 0.
 */
export function retryAfterMs(header: unknown, nowMs: number): number | undefined {
  if (typeof header !== "string" || header.trim() === "") return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}

/** One response body fetched by {@link CoinGeckoClient.get}. */
export interface FetchedBody {
  /** The exact response body bytes. */
  body: Uint8Array;
  /** The request as kept beside the raw body: URL without key, query parameters, plan. Never the key. */
  request: Record<string, unknown>;
  /** ISO-8601 time the request started. */
  fetchedAt: string;
  /** HTTP retries spent. */
  retries: number;
  /** Wall time, retries included, in ms. */
  latencyMs: number;
}

/** CoinGecko as configured once: the markets snapshot, and any other GET with the same plan, key, retries and budget. */
export interface CoinGeckoClient {
  /** The top `topN` coins by market cap from `/coins/markets`, page by page (see {@link createCoinGeckoSource}). */
  snapshot: SnapshotSource;
  /**
   * One GET of `path` (under the base URL) with `params`, with the snapshot's retries, `Retry-After`
   * handling and a time budget of its own; `label` names the request in messages (e.g. `bitcoin
   * market_chart`). A 200 whose body is an error object fails as the snapshot's pages do.
   */
  get(path: string, params: Record<string, string | number>, label: string): Promise<FetchedBody>;
}

/**
 * A {@link SnapshotSource} fetching the top `topN` coins by market cap from `/coins/markets`, page by page.
 * Options are checked here, so a misconfiguration fails before any request: a keyed plan without a key,
 * a key with plan `keyless`, a base URL that can never work ({@link baseUrlProblem}), a plan whose host does
 * not match the base URL, a topN that is not 1–250 or a
 * multiple of 250.
 */
export function createCoinGeckoSource(options: CoinGeckoSourceOptions = {}): SnapshotSource {
  return createCoinGeckoClient(options).snapshot;
}

/** A {@link CoinGeckoClient}; options are checked as {@link createCoinGeckoSource} checks them, before any request. */
export function createCoinGeckoClient(options: CoinGeckoSourceOptions = {}): CoinGeckoClient {
  const plan = resolvePlan(options.plan, options.apiKey);
  const apiKey = options.apiKey;
  checkPlan(plan, apiKey);
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URLS[plan]).replace(/\/+$/, "");
  const urlProblem = baseUrlProblem(baseUrl, { loopbackHttp: true });
  if (urlProblem !== undefined) throw configError(`CoinGecko base URL ${JSON.stringify(baseUrl)} ${urlProblem}`);
  checkHost(plan, baseUrl);
  const vsCurrency = options.vsCurrency ?? DEFAULT_VS_CURRENCY;
  if (vsCurrency.trim() === "") throw configError("vsCurrency must not be empty");
  const topN = options.topN ?? DEFAULT_TOP_N;
  if (!Number.isInteger(topN) || topN < 1 || (topN > MAX_PER_PAGE && topN % MAX_PER_PAGE !== 0)) {
    throw configError(`topN must be 1-${MAX_PER_PAGE} or a multiple of ${MAX_PER_PAGE} (pages hold ${MAX_PER_PAGE} coins); got ${topN}`);
  }
  const timing = {
    pagePacingMs: nonNegative("pagePacingMs", options.pagePacingMs ?? DEFAULT_PAGE_PACING_MS),
    retryBaseDelayMs: nonNegative("retryBaseDelayMs", options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS),
    retryMaxDelayMs: nonNegative("retryMaxDelayMs", options.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS),
    rateLimitDelayMs: nonNegative("rateLimitDelayMs", options.rateLimitDelayMs ?? DEFAULT_RATE_LIMIT_DELAY_MS),
    budgetMs: nonNegative("budgetMs", options.budgetMs ?? DEFAULT_FETCH_BUDGET_MS),
    requestTimeoutMs: nonNegative("requestTimeoutMs", options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
  };
  const maxRetries = options.maxRetries ?? Number.POSITIVE_INFINITY;
  if (!(Number.isInteger(maxRetries) || maxRetries === Number.POSITIVE_INFINITY) || maxRetries < 0) {
    throw configError(`maxRetries must be a whole number >= 0; got ${maxRetries}`);
  }
  const onRetry = options.onRetry ?? (() => undefined);
  const perPage = Math.min(topN, MAX_PER_PAGE);
  const pageCount = Math.ceil(topN / perPage);
  const url = `${baseUrl}${MARKETS_PATH}`;
  const params = { vs_currency: vsCurrency, order: "market_cap_desc", per_page: perPage, price_change_percentage: "1h,24h,7d" };
  const secrets = apiKey === undefined ? [] : [apiKey];
  const messageContext: MessageContext = { plan, baseUrl, vsCurrency, secrets, path: MARKETS_PATH };

  const http = axios.create({
    headers: { Accept: "application/json", ...(plan === "keyless" || apiKey === undefined ? {} : { [KEY_HEADERS[plan]]: apiKey }) },
    responseType: "arraybuffer",
    // Redirects would carry the key header to whatever host they name; CoinGecko never redirects the API.
    maxRedirects: 0,
    maxContentLength: MAX_PAGE_BYTES,
  });
  // Installs the retry interceptors; each request brings its own policy, bound to its page and the
  // snapshot's deadline (retries: 0 here only covers requests that bring none).
  axiosRetry(http, { retries: 0 });

  const snapshot: SnapshotSource = async () => {
    const started = Date.now();
    const deadline = started + timing.budgetMs;
    const pages: FetchedPage[] = [];
    let retries = 0;
    for (let page = 1; page <= pageCount; page += 1) {
      if (page > 1 && timing.pagePacingMs > 0) {
        if (Date.now() + timing.pagePacingMs >= deadline) throw budgetSpent(`page ${page}`, page);
        await delay(timing.pagePacingMs);
      }
      const fetched = await fetchBody({ url, params: { ...params, page }, page, label: `page ${page}`, path: MARKETS_PATH }, deadline);
      retries += fetched.retries;
      pages.push({ page, body: fetched.body });
    }
    return {
      pages,
      request: { url, params, pages: pageCount, plan },
      fetchedAt: new Date(started).toISOString(),
      retries,
      latencyMs: Date.now() - started,
    };
  };

  return {
    snapshot,
    async get(path, getParams, label) {
      const started = Date.now();
      const getUrl = `${baseUrl}${path}`;
      const fetched = await fetchBody({ url: getUrl, params: getParams, page: 1, label, path }, started + timing.budgetMs);
      return {
        body: fetched.body,
        request: { url: getUrl, params: getParams, plan },
        fetchedAt: new Date(started).toISOString(),
        retries: fetched.retries,
        latencyMs: Date.now() - started,
      };
    },
  };

  function budgetSpent(label: string, page: number): CoinGeckoError {
    return coinGeckoError("unavailable", `CoinGecko fetch ran out of its ${seconds(timing.budgetMs)} time budget before ${label}`, {
      page,
      attempts: 0,
    });
  }

  /** One GET with retries until `deadline`; `request.page` is what retry notices and errors report as the page. */
  async function fetchBody(
    request: { url: string; params: Record<string, string | number>; page: number; label: string; path: string },
    deadline: number,
  ): Promise<{ body: Uint8Array; retries: number }> {
    const { page, label } = request;
    const requestContext: MessageContext = { ...messageContext, path: request.path };
    const pageStarted = Date.now();
    let pageRetries = 0;
    let nextDelayMs = 0;
    let gaveUpBeforeMs: number | undefined;
    let retryLimitReached = false;
    const policy: IAxiosRetryConfig = {
      retries: Number.POSITIVE_INFINITY,
      // Each attempt gets its own timeout; the budget, not axios-retry, bounds the total.
      shouldResetTimeout: true,
      validateResponse: (response) => response.status >= 200 && response.status < 300 && errorBodyOfBytes(bodyOf(response)) === undefined,
      retryCondition: (error) => {
        const failure = classify(error, requestContext, timing.requestTimeoutMs);
        if (!failure.retryable) return false;
        if (pageRetries >= maxRetries) {
          retryLimitReached = true;
          return false;
        }
        const delayMs = waitFor(failure, pageRetries + 1, timing);
        if (Date.now() + delayMs + Math.min(timing.requestTimeoutMs, MIN_ATTEMPT_MS) > deadline) {
          gaveUpBeforeMs = delayMs;
          return false;
        }
        nextDelayMs = delayMs;
        return true;
      },
      retryDelay: () => nextDelayMs,
      onRetry: (_count, error, config) => {
        pageRetries += 1;
        config.timeout = Math.max(1, Math.min(timing.requestTimeoutMs, deadline - Date.now() - nextDelayMs));
        onRetry({
          page,
          label,
          retry: pageRetries,
          reason: classify(error, requestContext, timing.requestTimeoutMs).reason,
          delayMs: nextDelayMs,
        });
      },
    };
    const timeout = Math.min(timing.requestTimeoutMs, deadline - pageStarted);
    if (timeout <= 0) throw budgetSpent(label, page);
    try {
      const response = await http.get(request.url, { params: request.params, timeout, "axios-retry": policy });
      const body = bodyOf(response);
      // A page echoing the key would carry it into raw/, processed/ and parse errors (which Lambda prints
      // unredacted): refuse it before anything else reads it.
      if (holdsSecret(body, secrets)) {
        const details = { status: response.status, attempts: pageRetries + 1, elapsedMs: Date.now() - pageStarted, page };
        throw coinGeckoError(
          "invalid-response",
          `CoinGecko ${label} echoed the API key in its body (HTTP ${response.status}); refused, so the key is neither stored nor logged`,
          details,
        );
      }
      return { body, retries: pageRetries };
    } catch (err) {
      if (!axios.isAxiosError(err)) throw err;
      const failure = classify(err, requestContext, timing.requestTimeoutMs);
      const details = {
        status: failure.status,
        errorCode: failure.errorCode,
        attempts: pageRetries + 1,
        elapsedMs: Date.now() - pageStarted,
        page,
      };
      if (!failure.retryable) throw coinGeckoError(failure.kind, failure.message, details);
      const what = failure.kind === "rate-limited" ? "CoinGecko kept rate limiting the requests" : "CoinGecko stayed unavailable";
      const budget = `the ${seconds(timing.budgetMs)} time budget`;
      const next = retryLimitReached
        ? `; its retry limit (${maxRetries}) was reached`
        : gaveUpBeforeMs === undefined
          ? ` within ${budget}`
          : `; the next wait of ${seconds(gaveUpBeforeMs)} would pass ${budget}`;
      throw coinGeckoError(
        failure.kind,
        `${what} (${failure.reason}) on ${label}: gave up after ${details.attempts} attempt(s) over ${seconds(details.elapsedMs)}${next}`,
        details,
      );
    }
  }
}

/** What messages may say about the configuration, and the secrets they must not. */
interface MessageContext {
  plan: CoinGeckoPlan;
  /** Path of the request under the base URL, e.g. `/coins/markets`. */
  path: string;
  baseUrl: string;
  vsCurrency: string;
  secrets: readonly string[];
}

/** A failed request, classified. */
interface Failure {
  kind: CoinGeckoErrorKind;
  retryable: boolean;
  /** Short cause for retry notices and give-up messages, e.g. `HTTP 503`. */
  reason: string;
  /** Full message for errors that are not retried. */
  message: string;
  status?: number;
  errorCode?: number;
  retryAfterMs?: number;
}

/** Sorts an axios error into retryable (rate limit, outage) or final (configuration, bad body). */
function classify(error: AxiosError, context: MessageContext, requestTimeoutMs: number): Failure {
  const response = error.response;
  if (response === undefined) {
    if (error.code === "ECONNABORTED" || error.code === "ETIMEDOUT") {
      const reason = `timed out after ${error.config?.timeout ?? requestTimeoutMs} ms`;
      return { kind: "unavailable", retryable: true, reason, message: `CoinGecko request ${reason}` };
    }
    if (error.code === "ERR_BAD_RESPONSE") {
      const message = `CoinGecko response was unreadable: ${redact(error.message, context.secrets)}`;
      return { kind: "invalid-response", retryable: false, reason: "unreadable response", message };
    }
    const reason = error.code ?? redact(error.message, context.secrets);
    return { kind: "unavailable", retryable: error.code !== "ERR_CANCELED", reason, message: `CoinGecko request failed: ${reason}` };
  }
  const status = response.status;
  const body = errorBodyOf(parseJson(bodyOf(response)));
  const errorCode = body?.code;
  const said = body?.message === undefined ? "" : ` (CoinGecko: "${redact(body.message, context.secrets)}")`;
  const base = { status, errorCode };
  if (status === 429 || errorCode === 429) {
    const reason = status === 429 ? "HTTP 429" : `HTTP ${status} with error_code 429`;
    return {
      ...base,
      kind: "rate-limited",
      retryable: true,
      reason,
      retryAfterMs: retryAfterMs(response.headers["retry-after"], Date.now()),
      message: reason,
    };
  }
  if (status === 408 || status >= 500 || (errorCode !== undefined && errorCode >= 500 && errorCode <= 599)) {
    const reason = errorCode !== undefined && status < 500 ? `HTTP ${status} with error_code ${errorCode}` : `HTTP ${status}`;
    return {
      ...base,
      kind: "unavailable",
      retryable: true,
      reason,
      retryAfterMs: retryAfterMs(response.headers["retry-after"], Date.now()),
      message: reason,
    };
  }
  const configuration = configurationMessage(status, errorCode, context);
  if (configuration !== undefined) {
    return { ...base, kind: "configuration", retryable: false, reason: `HTTP ${status}`, message: configuration + said };
  }
  const what = errorCode === undefined ? "an unexpected response" : `error_code ${errorCode}`;
  return {
    ...base,
    kind: "invalid-response",
    retryable: false,
    reason: `HTTP ${status}`,
    message: `CoinGecko answered HTTP ${status} with ${what}${said}`,
  };
}

/** The message naming the misconfiguration behind a final status or error code; undefined if it is none. */
function configurationMessage(status: number, errorCode: number | undefined, d: MessageContext): string | undefined {
  const host = hostOf(d.baseUrl);
  switch (errorCode) {
    case 10002:
      return d.plan === "keyless"
        ? `CoinGecko error 10002: an API key is required but plan "keyless" sends none; configure a Demo key (plan "demo") or a paid key (plan "pro")`
        : `CoinGecko error 10002: the API key is missing or empty although plan "${d.plan}" sends header ${KEY_HEADERS[d.plan]}; check the configured key`;
    case 10005:
      return `CoinGecko error 10005: ${d.path} is not available on plan "${d.plan}"`;
    case 10010:
      return `CoinGecko error 10010: the key is a paid (Pro) key but requests go to ${host}; set plan "pro" (host ${hostOf(PRO_BASE_URL)})`;
    case 10011:
      return `CoinGecko error 10011: the key is a Demo key but requests go to ${host}; set plan "demo" (host ${hostOf(PUBLIC_BASE_URL)})`;
    case 10012:
      // https://docs.coingecko.com/reference/common-errors-rate-limit: 10012 is the Demo/keyless history limit.
      return `CoinGecko error 10012: the requested history reaches beyond what plan "${d.plan}" may query (365 days on the Demo plan and keyless); ask for fewer days`;
  }
  if (status === 401) {
    return d.plan === "keyless"
      ? `CoinGecko refused keyless access (HTTP 401): configure a Demo key (plan "demo")`
      : `CoinGecko rejected the ${d.plan} API key (HTTP 401): check the key and that plan "${d.plan}" matches it (Demo keys use ${hostOf(PUBLIC_BASE_URL)}, paid keys ${hostOf(PRO_BASE_URL)})`;
  }
  if (status === 403) return `CoinGecko refused access (HTTP 403${errorCode === 1020 ? ", CDN firewall rule 1020" : ""}) to ${host}`;
  if (status === 400) return `CoinGecko rejected the request parameters (HTTP 400): check vs_currency "${d.vsCurrency}"`;
  if (status === 404) return `CoinGecko has no ${d.path} under ${d.baseUrl} (HTTP 404): check the base URL`;
  if (status >= 300 && status < 400) return `CoinGecko answered with a redirect (HTTP ${status}): check the base URL ${d.baseUrl}`;
  return undefined;
}

/** How long to wait before retry number `retry`: Retry-After or the 429 pause, else capped exponential backoff; plus jitter. */
function waitFor(
  failure: Failure,
  retry: number,
  timing: { retryBaseDelayMs: number; retryMaxDelayMs: number; rateLimitDelayMs: number },
): number {
  const backoff =
    failure.kind === "rate-limited"
      ? timing.rateLimitDelayMs
      : Math.min(timing.retryMaxDelayMs, timing.retryBaseDelayMs * 2 ** (retry - 1));
  const base = failure.retryAfterMs ?? backoff;
  return Math.round(base * (1 + JITTER_RATIO * Math.random()));
}

function checkPlan(plan: CoinGeckoPlan, apiKey: string | undefined): void {
  if (!COINGECKO_PLANS.includes(plan)) {
    throw configError(`unknown CoinGecko plan "${String(plan)}"; use one of ${COINGECKO_PLANS.join(", ")}`);
  }
  if (plan === "keyless" && apiKey !== undefined) {
    throw configError(`an API key was given but the plan is "keyless"; use plan "demo" for a Demo key or "pro" for a paid key`);
  }
  if (plan !== "keyless" && (apiKey === undefined || apiKey.trim() === "")) {
    throw configError(`CoinGecko plan "${plan}" needs an API key; configure one or use plan "keyless"`);
  }
}

function checkHost(plan: CoinGeckoPlan, baseUrl: string): void {
  const host = hostOf(baseUrl);
  if (host === hostOf(PRO_BASE_URL) && plan !== "pro") {
    throw configError(
      `base URL ${baseUrl} is the paid (Pro) host but the plan is "${plan}"; use plan "pro" or host ${hostOf(PUBLIC_BASE_URL)}`,
    );
  }
  if (host === hostOf(PUBLIC_BASE_URL) && plan === "pro") {
    throw configError(`plan "pro" needs host ${hostOf(PRO_BASE_URL)} but the base URL is ${baseUrl}`);
  }
}

function configError(message: string): CoinGeckoError {
  return coinGeckoError("configuration", message, { attempts: 0 });
}

/** The host of a URL that {@link baseUrlProblem} has accepted. */
function hostOf(url: string): string {
  return new URL(url).host;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw configError(`${name} must be a non-negative number of milliseconds; got ${value}`);
  return value;
}

/** The body bytes of a response (responseType `arraybuffer` gives a Buffer; a bodiless response none). */
function bodyOf(response: AxiosResponse): Uint8Array {
  const data: unknown = response.data;
  return data instanceof Uint8Array ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array();
}

function holdsSecret(body: Uint8Array, secrets: readonly string[]): boolean {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return secrets.some((secret) => bytes.includes(secret));
}

function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch {
    return undefined;
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
