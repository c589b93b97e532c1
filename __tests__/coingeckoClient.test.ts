import {
  baseUrlProblem,
  CoinGeckoSourceOptions,
  createCoinGeckoSource,
  KEY_HEADERS,
  resolvePlan,
  retryAfterMs,
  RetryNotice,
} from "../functions/coingeckoClient";
import { CoinGeckoError, isCoinGeckoError } from "../functions/coingeckoErrors";
import { CoinGeckoStandIn, ScriptedResponse, startCoinGeckoStandIn } from "./helpers/coingeckoStandIn";
import {
  errorBody,
  errorCodeResponse,
  FAST_RETRY_OPTIONS,
  fixtureBytes,
  fixturePage,
  htmlPage,
  rateLimited,
  serverError,
} from "./helpers/factories";

const KEY = "CG-h1TestKey0123456789";
const SLOT = 1725346800;

let standIn: CoinGeckoStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

async function serve(responses: ScriptedResponse[], fallback?: ScriptedResponse): Promise<CoinGeckoStandIn> {
  standIn = await startCoinGeckoStandIn({ responses, fallback });
  return standIn;
}

function sourceFor(server: CoinGeckoStandIn, options: CoinGeckoSourceOptions = {}) {
  return createCoinGeckoSource({ ...FAST_RETRY_OPTIONS, plan: "demo", apiKey: KEY, baseUrl: server.baseUrl, ...options });
}

async function failure(promise: Promise<unknown>): Promise<CoinGeckoError> {
  try {
    await promise;
  } catch (err) {
    expect(isCoinGeckoError(err)).toBe(true);
    expect((err as Error).message).not.toContain(KEY);
    return err as CoinGeckoError;
  }
  throw new Error("expected the fetch to fail");
}

function configFailure(options: CoinGeckoSourceOptions): CoinGeckoError {
  try {
    createCoinGeckoSource(options);
  } catch (err) {
    expect(isCoinGeckoError(err)).toBe(true);
    expect((err as CoinGeckoError).kind).toBe("configuration");
    return err as CoinGeckoError;
  }
  throw new Error("expected a configuration error");
}

describe("plans and key headers", () => {
  it.each([
    ["demo", KEY, KEY_HEADERS.demo, KEY_HEADERS.pro],
    ["pro", KEY, KEY_HEADERS.pro, KEY_HEADERS.demo],
  ] as const)("plan %s sends the key in its own header only", async (plan, apiKey, header, otherHeader) => {
    const server = await serve([fixturePage("recorded-5-coins.json")]);
    await sourceFor(server, { plan, apiKey })(SLOT);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0].headers[header]).toBe(KEY);
    expect(server.requests[0].headers[otherHeader]).toBeUndefined();
  });

  it("keyless sends no key header", async () => {
    const server = await serve([fixturePage("recorded-5-coins.json")]);
    await sourceFor(server, { plan: "keyless", apiKey: undefined })(SLOT);
    expect(Object.keys(server.requests[0].headers).filter((h) => h.startsWith("x-cg-"))).toEqual([]);
  });

  it("defaults to demo with a key and to keyless without", () => {
    expect(resolvePlan(undefined, KEY)).toBe("demo");
    expect(resolvePlan(undefined, undefined)).toBe("keyless");
    expect(resolvePlan("pro", KEY)).toBe("pro");
  });

  it.each([
    [{ plan: "demo" }, /plan "demo" needs an API key/],
    [{ plan: "pro", apiKey: "  " }, /plan "pro" needs an API key/],
    [{ plan: "keyless", apiKey: KEY }, /API key was given but the plan is "keyless"/],
    [{ plan: "demo", apiKey: KEY, baseUrl: "https://pro-api.coingecko.com/api/v3" }, /is the paid \(Pro\) host but the plan is "demo"/],
    [{ plan: "keyless", baseUrl: "https://pro-api.coingecko.com/api/v3/" }, /is the paid \(Pro\) host but the plan is "keyless"/],
    [{ plan: "pro", apiKey: KEY, baseUrl: "https://api.coingecko.com/api/v3" }, /plan "pro" needs host pro-api\.coingecko\.com/],
    [{ plan: "enterprise" as never, apiKey: KEY }, /unknown CoinGecko plan "enterprise"/],
    [{ baseUrl: "not a url" }, /base URL "not a url" is not a URL/],
    [{ topN: 300 }, /topN must be 1-250 or a multiple of 250 .*got 300/],
    [{ topN: 0 }, /got 0/],
    [{ topN: 2.5 }, /got 2.5/],
    [{ vsCurrency: "" }, /vsCurrency must not be empty/],
    [{ budgetMs: -1 }, /budgetMs must be a non-negative number/],
    [{ maxRetries: -1 }, /maxRetries must be a whole number >= 0; got -1/],
    [{ maxRetries: 1.5 }, /maxRetries must be a whole number >= 0; got 1.5/],
  ] as [CoinGeckoSourceOptions, RegExp][])("refuses %j before sending anything", (options, message) => {
    const err = configFailure(options);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain(KEY);
  });
});

describe("pages", () => {
  it("asks for the top 250 by market cap with 1h/24h/7d changes and keeps the exact bytes", async () => {
    const server = await serve([fixturePage("cgdata-page1-250.json")]);
    const snapshot = await sourceFor(server)(SLOT);

    expect(server.requests[0].path).toBe("/api/v3/coins/markets");
    expect(server.requests[0].query).toEqual({
      vs_currency: "usd",
      order: "market_cap_desc",
      per_page: "250",
      page: "1",
      price_change_percentage: "1h,24h,7d",
    });
    expect(snapshot.pages).toHaveLength(1);
    expect(Buffer.from(snapshot.pages[0].body).equals(fixtureBytes("cgdata-page1-250.json"))).toBe(true);
    expect(snapshot.retries).toBe(0);
    expect(snapshot.request).toEqual({
      url: `${server.baseUrl}/coins/markets`,
      params: { vs_currency: "usd", order: "market_cap_desc", per_page: 250, price_change_percentage: "1h,24h,7d" },
      pages: 1,
      plan: "demo",
    });
    expect(JSON.stringify(snapshot.request)).not.toContain(KEY);
    expect(Number.isNaN(Date.parse(snapshot.fetchedAt))).toBe(false);
  });

  it("fetches two pages for topN 500, page 1 first", async () => {
    const server = await serve([fixturePage("cgdata-page1-250.json"), fixturePage("cgdata-page2-250.json")]);
    const snapshot = await sourceFor(server, { topN: 500, vsCurrency: "eur" })(SLOT);

    expect(server.requests.map((r) => [r.query.page, r.query.per_page, r.query.vs_currency])).toEqual([
      ["1", "250", "eur"],
      ["2", "250", "eur"],
    ]);
    expect(snapshot.pages.map((p) => p.page)).toEqual([1, 2]);
    expect(Buffer.from(snapshot.pages[1].body).equals(fixtureBytes("cgdata-page2-250.json"))).toBe(true);
    expect(snapshot.request.pages).toBe(2);
  });

  it("asks for exactly topN coins when topN is below one page", async () => {
    const server = await serve([fixturePage("recorded-5-coins.json")]);
    await sourceFor(server, { topN: 5 })(SLOT);
    expect(server.requests.map((r) => r.query.per_page)).toEqual(["5"]);
  });

  it("fails before page 2 when the pause between pages would pass the budget", async () => {
    const server = await serve([fixturePage("cgdata-page1-250.json")]);
    const err = await failure(sourceFor(server, { topN: 500, pagePacingMs: 5_000, budgetMs: 2_000 })(SLOT));
    expect(err.kind).toBe("unavailable");
    expect(err.message).toMatch(/ran out of its 2\.0 s time budget before page 2/);
    expect(server.requests).toHaveLength(1);
  });

  it("returns a 200 body as it came, leaving validation to the ingest", async () => {
    const server = await serve([htmlPage(200)]);
    const snapshot = await sourceFor(server)(SLOT);
    expect(Buffer.from(snapshot.pages[0].body).toString("utf8")).toMatch(/^<!DOCTYPE html>/);
    expect(server.requests).toHaveLength(1);
  });
});

describe("retries", () => {
  function notices(): { list: RetryNotice[]; onRetry: (n: RetryNotice) => void } {
    const list: RetryNotice[] = [];
    return { list, onRetry: (n) => list.push(n) };
  }

  it("honours Retry-After on a 429, then succeeds", async () => {
    const server = await serve([rateLimited("1"), fixturePage("recorded-5-coins.json")]);
    const seen = notices();
    const snapshot = await sourceFor(server, { onRetry: seen.onRetry })(SLOT);

    expect(server.requests).toHaveLength(2);
    expect(snapshot.retries).toBe(1);
    expect(seen.list).toHaveLength(1);
    expect(seen.list[0]).toMatchObject({ page: 1, retry: 1, reason: "HTTP 429" });
    // rateLimitDelayMs is 10 ms here, so a wait of at least a second can only come from Retry-After.
    expect(seen.list[0].delayMs).toBeGreaterThanOrEqual(1000);
    expect(seen.list[0].delayMs).toBeLessThanOrEqual(1200);
  });

  it("waits rateLimitDelayMs after a 429 without Retry-After", async () => {
    const server = await serve([rateLimited(), fixturePage("recorded-5-coins.json")]);
    const seen = notices();
    await sourceFor(server, { onRetry: seen.onRetry, rateLimitDelayMs: 40 })(SLOT);
    expect(seen.list[0].delayMs).toBeGreaterThanOrEqual(40);
    expect(seen.list[0].delayMs).toBeLessThanOrEqual(48);
  });

  it("retries 500 and 503 with exponential backoff, then succeeds", async () => {
    const server = await serve([serverError(500), serverError(503), fixturePage("recorded-5-coins.json")]);
    const seen = notices();
    const snapshot = await sourceFor(server, { onRetry: seen.onRetry, retryBaseDelayMs: 20, retryMaxDelayMs: 1000 })(SLOT);

    expect(server.requests).toHaveLength(3);
    expect(snapshot.retries).toBe(2);
    expect(seen.list.map((n) => n.reason)).toEqual(["HTTP 500", "HTTP 503"]);
    expect(seen.list[0].delayMs).toBeGreaterThanOrEqual(20);
    expect(seen.list[0].delayMs).toBeLessThanOrEqual(24);
    expect(seen.list[1].delayMs).toBeGreaterThanOrEqual(40);
    expect(seen.list[1].delayMs).toBeLessThanOrEqual(48);
  });

  it.each([
    ["a 408", serverError(408), "HTTP 408"],
    ["a hung connection", { hang: true } as ScriptedResponse, "timed out after 300 ms"],
    ["a destroyed socket", { destroy: true } as ScriptedResponse, "ECONNRESET"],
    [
      "a 200 carrying error_code 429",
      { status: 200, body: errorBody(429, "Rate limited") } as ScriptedResponse,
      "HTTP 200 with error_code 429",
    ],
  ])("retries after %s", async (_case, fault, reason) => {
    const server = await serve([fault, fixturePage("recorded-5-coins.json")]);
    const seen = notices();
    const snapshot = await sourceFor(server, { onRetry: seen.onRetry, requestTimeoutMs: 300 })(SLOT);

    expect(server.requests).toHaveLength(2);
    expect(seen.list.map((n) => n.reason)).toEqual([reason]);
    expect(Buffer.from(snapshot.pages[0].body).equals(fixtureBytes("recorded-5-coins.json"))).toBe(true);
  });

  it("gives up on 429 forever inside the time budget, saying it was rate limited and for how long", async () => {
    const server = await serve([], rateLimited());
    const budgetMs = 800;
    const err = await failure(sourceFor(server, { rateLimitDelayMs: 50, budgetMs, requestTimeoutMs: 200 })(SLOT));

    expect(err.kind).toBe("rate-limited");
    expect(err.status).toBe(429);
    expect(err.attempts).toBe(server.requests.length);
    expect(err.attempts).toBeGreaterThan(2);
    expect(err.elapsedMs).toBeLessThanOrEqual(budgetMs);
    expect(err.message).toMatch(
      /^CoinGecko kept rate limiting the requests \(HTTP 429\) on page 1: gave up after \d+ attempt\(s\) over \d+\.\d s; the next wait of \d+\.\d s would pass the 0\.8 s time budget$/,
    );
  });

  it("fails at once when Retry-After asks for more than the budget", async () => {
    const server = await serve([], rateLimited("120"));
    const err = await failure(sourceFor(server, { budgetMs: 5_000 })(SLOT));
    expect(err.kind).toBe("rate-limited");
    expect(server.requests).toHaveLength(1);
    expect(err.message).toMatch(/the next wait of 1\d\d\.\d s would pass the 5\.0 s time budget/);
  });

  it("gives up on 503 forever as unavailable", async () => {
    const server = await serve([], serverError(503));
    const err = await failure(sourceFor(server, { budgetMs: 300, requestTimeoutMs: 100 })(SLOT));
    expect(err.kind).toBe("unavailable");
    expect(err.message).toMatch(/^CoinGecko stayed unavailable \(HTTP 503\) on page 1: gave up after/);
    expect(server.requests.length).toBeGreaterThan(1);
  });

  it.each([0, 2])("stops after maxRetries %i retries of a failing page, however much budget is left", async (maxRetries) => {
    const server = await serve([], serverError(503));
    const seen = notices();
    const err = await failure(sourceFor(server, { maxRetries, onRetry: seen.onRetry, budgetMs: 60_000 })(SLOT));

    expect(err.kind).toBe("unavailable");
    expect(server.requests).toHaveLength(maxRetries + 1);
    expect(err.attempts).toBe(maxRetries + 1);
    expect(seen.list.map((n) => n.retry)).toEqual(Array.from({ length: maxRetries }, (_, i) => i + 1));
    expect(err.message).toMatch(
      new RegExp(
        `^CoinGecko stayed unavailable \\(HTTP 503\\) on page 1: gave up after ${maxRetries + 1} attempt\\(s\\) over \\d+\\.\\d s; its retry limit \\(${maxRetries}\\) was reached$`,
      ),
    );
  });

  it("counts maxRetries per page: each page of a paginated fetch gets its own retries", async () => {
    const server = await serve([
      serverError(503),
      fixturePage("cgdata-page1-250.json"),
      serverError(503),
      fixturePage("cgdata-page2-250.json"),
    ]);
    const snapshot = await sourceFor(server, { maxRetries: 1, topN: 500 })(SLOT);
    expect(server.requests).toHaveLength(4);
    expect(snapshot.retries).toBe(2);
    expect(snapshot.pages.map((p) => p.page)).toEqual([1, 2]);
  });

  it("gives up on a server that never answers as unavailable", async () => {
    const server = await serve([], { hang: true });
    const err = await failure(sourceFor(server, { budgetMs: 400, requestTimeoutMs: 100 })(SLOT));
    expect(err.kind).toBe("unavailable");
    expect(err.message).toMatch(/\(timed out after \d+ ms\)/);
    expect(err.elapsedMs).toBeLessThanOrEqual(400);
  });
});

describe("configuration errors are not retried", () => {
  it.each([
    [
      "401 with error 10002",
      errorCodeResponse(401, 10002, "API Key Missing"),
      "demo",
      10002,
      /error 10002: the API key is missing or empty although plan "demo" sends header x-cg-demo-api-key/,
    ],
    [
      "401 with error 10002 on keyless",
      errorCodeResponse(401, 10002, "API Key Missing"),
      "keyless",
      10002,
      /error 10002: an API key is required but plan "keyless" sends none/,
    ],
    [
      "10010 (Pro key on the public host)",
      errorCodeResponse(
        401,
        10010,
        "If you are using Pro API key, please change your root URL from api.coingecko.com to pro-api.coingecko.com",
      ),
      "demo",
      10010,
      /error 10010: the key is a paid \(Pro\) key but requests go to 127\.0\.0\.1:\d+; set plan "pro"/,
    ],
    [
      "10011 (Demo key on the Pro host)",
      errorCodeResponse(
        400,
        10011,
        "If you are using Demo API key, please change your root URL from pro-api.coingecko.com to api.coingecko.com",
      ),
      "pro",
      10011,
      /error 10011: the key is a Demo key but requests go to 127\.0\.0\.1:\d+; set plan "demo"/,
    ],
    [
      "10005 (plan restricted)",
      errorCodeResponse(403, 10005, "This request is limited to paid plans"),
      "demo",
      10005,
      /error 10005: \/coins\/markets is not available on plan "demo"/,
    ],
    ["a 200 carrying error 10002", errorCodeResponse(200, 10002, "API Key Missing"), "demo", 10002, /error 10002/],
    [
      "a plain 401",
      { status: 401, body: "Unauthorized" },
      "pro",
      undefined,
      /rejected the pro API key \(HTTP 401\): check the key and that plan "pro" matches it/,
    ],
    [
      "a 403 from the CDN",
      errorCodeResponse(403, 1020, "Access denied"),
      "demo",
      1020,
      /refused access \(HTTP 403, CDN firewall rule 1020\)/,
    ],
    [
      "a 400",
      { status: 400, body: JSON.stringify({ error: "invalid vs_currency" }) },
      "demo",
      undefined,
      /rejected the request parameters \(HTTP 400\): check vs_currency "usd" \(CoinGecko: "invalid vs_currency"\)/,
    ],
    [
      "a 404",
      { status: 404, body: "Not Found" },
      "demo",
      undefined,
      /has no \/coins\/markets under http:\/\/127\.0\.0\.1:\d+\/api\/v3 \(HTTP 404\): check the base URL/,
    ],
    [
      "a redirect",
      { status: 301, headers: { location: "http://127.0.0.2/elsewhere" } },
      "demo",
      undefined,
      /answered with a redirect \(HTTP 301\)/,
    ],
  ] as const)("%s fails at once with a message naming the misconfiguration", async (_case, response, plan, errorCode, message) => {
    const server = await serve([response as ScriptedResponse], fixturePage("recorded-5-coins.json"));
    const err = await failure(sourceFor(server, { plan, apiKey: plan === "keyless" ? undefined : KEY })(SLOT));

    expect(server.requests).toHaveLength(1);
    expect(err.kind).toBe("configuration");
    expect(err.errorCode).toBe(errorCode);
    expect(err.attempts).toBe(1);
    expect(err.message).toMatch(message);
  });

  it("never puts the key in a message, even when CoinGecko echoes it", async () => {
    const server = await serve([errorCodeResponse(401, 10011, `key ${KEY} is a demo key`)]);
    const err = await failure(sourceFor(server, { plan: "pro" })(SLOT));
    expect(err.message).toContain("key [REDACTED] is a demo key");
  });

  it("reports an unknown error code in a 200 as an invalid response", async () => {
    const server = await serve([errorCodeResponse(200, 12345, "something new")]);
    const err = await failure(sourceFor(server)(SLOT));
    expect(err.kind).toBe("invalid-response");
    expect(err.message).toBe('CoinGecko answered HTTP 200 with error_code 12345 (CoinGecko: "something new")');
    expect(server.requests).toHaveLength(1);
  });
});

describe("baseUrlProblem", () => {
  const httpsOnly = "must be an https:// URL (the key travels in a header)";
  const orLoopback = `${httpsOnly}, or http:// to this machine (localhost, 127.0.0.1, [::1])`;

  it.each([
    ["https://api.coingecko.com/api/v3", undefined, undefined],
    ["https://proxy.example.com:8443/coingecko", undefined, undefined],
    ["http://127.0.0.1:8080/api/v3", httpsOnly, undefined],
    ["http://localhost:8080/api/v3", httpsOnly, undefined],
    ["http://[::1]:8080/api/v3", httpsOnly, undefined],
    ["http://api.coingecko.com/api/v3", httpsOnly, orLoopback],
    ["http://127.0.0.1.example.com/api/v3", httpsOnly, orLoopback],
    ["ftp://x", httpsOnly, orLoopback],
    ["file:///etc/passwd", httpsOnly, orLoopback],
    ["api.coingecko.com/api/v3", "is not a URL", "is not a URL"],
    ["https://api coingecko.com", "is not a URL", "is not a URL"],
    ["", "is not a URL", "is not a URL"],
  ])("%p: deployed (https only) %p; client (loopback http too) %p", (url, deployed, client) => {
    expect(baseUrlProblem(url, { loopbackHttp: false })).toBe(deployed);
    expect(baseUrlProblem(url, { loopbackHttp: true })).toBe(client);
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("Wed, 21 Oct 2015 07:27:58 GMT");
  it.each([
    ["30", 30_000],
    ["1.5", 1_500],
    [" 0 ", 0],
    ["Wed, 21 Oct 2015 07:28:00 GMT", 2_000],
    ["Wed, 21 Oct 2015 07:27:00 GMT", 0],
    ["soon", undefined],
    ["", undefined],
    [undefined, undefined],
  ])("reads %p as %p ms", (header, expected) => {
    expect(retryAfterMs(header, now)).toBe(expected);
  });
});
