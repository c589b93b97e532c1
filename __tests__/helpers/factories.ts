/**
 * Small factories for the ingest tests (and anyone else's): recorded CoinGecko fixtures, scripted
 * CoinGecko answers (pages, rate limits, error codes, HTML), coin objects, scheduled events, a Lambda
 * context, log/metric sinks and temporary folders.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CoinGeckoSourceOptions } from "../../functions/coingeckoClient";
import { createLogger, createMetrics, Logger, MetricsEmitter } from "../../functions/telemetry";
import type { ScriptedResponse } from "./coingeckoStandIn";

/** Folder of the recorded CoinGecko responses (see its README). */
export const COINGECKO_FIXTURES_DIR = path.resolve(__dirname, "..", "fixtures", "coingecko");

/** The exact bytes of a fixture file, e.g. `cgdata-page1-250.json`. */
export function fixtureBytes(name: string): Buffer {
  return fs.readFileSync(path.join(COINGECKO_FIXTURES_DIR, name));
}

/** A fixture's coins, parsed. */
export function fixtureCoins(name: string): Record<string, unknown>[] {
  return JSON.parse(fixtureBytes(name).toString("utf8")) as Record<string, unknown>[];
}

/** A 200 answer replaying a fixture's exact bytes. */
export function fixturePage(name: string): ScriptedResponse {
  return { status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body: fixtureBytes(name) };
}

/** A 200 answer with the given coins as compact JSON. */
export function marketsPage(coins: readonly unknown[]): ScriptedResponse {
  return { status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body: JSON.stringify(coins) };
}

/** A CoinGecko error object body, `{"status":{"error_code":..,"error_message":..}}`. */
export function errorBody(code: number, message: string): string {
  return JSON.stringify({ status: { error_code: code, error_message: message } });
}

/** An answer with a CoinGecko error object, e.g. `errorCodeResponse(401, 10002, "API Key Missing")`. */
export function errorCodeResponse(status: number, code: number, message: string, headers: Record<string, string> = {}): ScriptedResponse {
  return { status, headers: { "content-type": "application/json", ...headers }, body: errorBody(code, message) };
}

/** A 429 as CoinGecko sends it; `retryAfter` sets the `Retry-After` header (seconds or an HTTP date). */
export function rateLimited(retryAfter?: string): ScriptedResponse {
  return errorCodeResponse(
    429,
    429,
    "You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits.",
    retryAfter === undefined ? {} : { "retry-after": retryAfter },
  );
}

/** A 5xx (or 408) with a plain body. */
export function serverError(status = 500): ScriptedResponse {
  return { status, headers: { "content-type": "text/plain" }, body: `upstream error ${status}` };
}

/** An HTML page, as a CDN or a maintenance page sends it. */
export function htmlPage(status = 200): ScriptedResponse {
  return {
    status,
    headers: { "content-type": "text/html" },
    body: "<!DOCTYPE html>\n<html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>",
  };
}

/** A realistic `/coins/markets` coin object; override any field. */
export function coin(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "bitcoin",
    symbol: "btc",
    name: "Bitcoin",
    image: "https://assets.coingecko.com/coins/images/1/large/bitcoin.png",
    current_price: 27191.5,
    market_cap: 527458103541,
    market_cap_rank: 1,
    fully_diluted_valuation: 571173256725,
    total_volume: 177859514325,
    high_24h: 27267,
    low_24h: 26975,
    price_change_percentage_24h: -0.28006,
    circulating_supply: 19392750.0,
    last_updated: "2023-06-04T12:00:00.000Z",
    price_change_percentage_1h_in_currency: 0.1,
    price_change_percentage_24h_in_currency: -0.28,
    price_change_percentage_7d_in_currency: 2.5,
    ...overrides,
  };
}

/** The EventBridge Scheduler target input the IngestLake schedule sends. */
export function scheduledEvent(iso: string): { scheduledTime: string } {
  return { scheduledTime: iso };
}

/** An EventBridge rule ("Scheduled Event") event. */
export function ruleEvent(iso: string): Record<string, unknown> {
  return {
    version: "0",
    id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "123456789012",
    time: iso,
    region: "eu-west-1",
    resources: ["arn:aws:events:eu-west-1:123456789012:rule/ingest"],
    detail: {},
  };
}

/** The part of a Lambda context the handlers use. */
export function lambdaContext(remainingMs = 60_000): { getRemainingTimeInMillis(): number } {
  return { getRemainingTimeInMillis: () => remainingMs };
}

/** CoinGecko client timing small enough for tests: every wait a few ms, short request timeout. */
export const FAST_RETRY_OPTIONS: Readonly<CoinGeckoSourceOptions> = {
  pagePacingMs: 5,
  retryBaseDelayMs: 5,
  retryMaxDelayMs: 20,
  rateLimitDelayMs: 10,
  requestTimeoutMs: 1_000,
  budgetMs: 10_000,
};

/** A logger and a metrics emitter writing into arrays, with helpers to read them back. */
export interface Recorder {
  logger: Logger;
  metrics: MetricsEmitter;
  /** Raw log lines, as they would reach stdout. */
  logLines: string[];
  /** Raw EMF lines. */
  metricLines: string[];
  /** Log lines parsed. */
  logs(): Record<string, unknown>[];
  /** EMF records parsed. */
  emf(): Record<string, unknown>[];
}

/** Creates a {@link Recorder}; `secrets` are redacted from log lines as in production. */
export function recorder(secrets: readonly string[] = []): Recorder {
  const logLines: string[] = [];
  const metricLines: string[] = [];
  return {
    logger: createLogger("ingest", { secrets, sink: (l) => logLines.push(l) }),
    metrics: createMetrics("test-pipeline", { sink: (l) => metricLines.push(l) }),
    logLines,
    metricLines,
    logs: () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>),
    emf: () => metricLines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/**
 * Captures what this process writes to stdout (a handler's JSON logs and EMF lines), chunk by chunk, until
 * `jest.restoreAllMocks()`; returns the list the chunks are appended to.
 */
export function captureStdout(): string[] {
  const chunks: string[] = [];
  jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  return chunks;
}

/** A fresh temporary folder; remove it with {@link removeTempDir}. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

/** Removes a folder made by {@link makeTempDir}. */
export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * A maker of temporary folders ({@link makeTempDir}) that are all removed once the calling test file's
 * tests are done; call it at the top level of the file.
 */
export function tempDirsRemovedAfterAll(): (prefix: string) => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removeTempDir));
  return (prefix) => {
    const dir = makeTempDir(prefix);
    dirs.push(dir);
    return dir;
  };
}
