import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryExecutionOutput,
  GetQueryResultsCommand,
  GetQueryResultsOutput,
  QueryExecutionState,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from "@aws-sdk/client-athena";
import { mockClient } from "aws-sdk-client-mock";
import {
  AthenaQueryEngine,
  AthenaQueryEngineOptions,
  AthenaQueryError,
  attemptToken,
  isAthenaQueryError,
  DEFAULT_POLL_INITIAL_MS,
  MAX_STATEMENT_ATTEMPTS,
  RESULTS_PAGE_SIZE,
} from "../functions/athenaQueryEngine";
import { createAthenaStandIn } from "./helpers/athenaStandIn";
import { AwsStandIn, STAND_IN_REGION, startAwsStandIn } from "./helpers/awsStandIn";
import { recorder } from "./helpers/factories";

const QUERY_ID = "5f0e7c8a-1111-2222-3333-444455556666";
const KEY = "transform-2024-9-3-7-0123456789abcdef0123456789abcdef";
// Only this instance is mocked: the HTTP tests below use their own clients against a loopback stand-in.
const mockedClient = new AthenaClient({ region: "eu-west-1" });
const athena = mockClient(mockedClient);

/** A virtual clock that only the injected sleep advances, so polling takes no real time. */
function fakeTime() {
  const state = { t: 1_700_000_000_000, sleeps: [] as number[] };
  return {
    state,
    now: () => state.t,
    sleep: async (ms: number) => {
      state.sleeps.push(ms);
      state.t += ms;
    },
  };
}

function engine(options: Partial<AthenaQueryEngineOptions> = {}) {
  const time = fakeTime();
  const log = recorder();
  const e = new AthenaQueryEngine(mockedClient, {
    workGroup: "wg_test",
    database: "crypto_data",
    now: time.now,
    sleep: time.sleep,
    logger: log.logger,
    ...options,
  });
  return { engine: e, time, lines: () => log.logs() };
}

/** A GetQueryExecution response in one state. */
function execution(
  State: QueryExecutionState,
  extra: { SubstatementType?: string; StatementType?: "DML" | "DDL" | "UTILITY"; AthenaError?: object; StateChangeReason?: string } = {},
): GetQueryExecutionOutput {
  const { AthenaError, StateChangeReason, ...rest } = extra;
  return {
    QueryExecution: {
      QueryExecutionId: QUERY_ID,
      StatementType: "DML",
      SubstatementType: "SELECT",
      ...rest,
      Status: { State, AthenaError, StateChangeReason },
      Statistics: { DataScannedInBytes: 1234, EngineExecutionTimeInMillis: 800 },
    },
  };
}

/** Makes GetQueryExecution answer the given states in order (the last one repeats). */
function statesInOrder(...responses: GetQueryExecutionOutput[]) {
  const stub = athena.on(GetQueryExecutionCommand);
  responses.slice(0, -1).forEach((r) => stub.resolvesOnce(r));
  stub.resolves(responses[responses.length - 1]);
}

/** A GetQueryResults page of string cells (null = SQL NULL). */
function page(columns: string[], rows: (string | null)[][], NextToken?: string): GetQueryResultsOutput {
  return {
    NextToken,
    ResultSet: {
      ResultSetMetadata: { ColumnInfo: columns.map((Name) => ({ Name, Type: "varchar" })) },
      Rows: rows.map((r) => ({ Data: r.map((v) => (v === null ? {} : { VarCharValue: v })) })),
    },
  };
}

beforeEach(() => {
  athena.reset();
  athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: QUERY_ID });
  athena.on(GetQueryResultsCommand).resolves(page(["n"], [["n"]]));
});

const inputsOf = <T>(command: new (...args: never[]) => T) =>
  athena.commandCalls(command as never).map((c) => (c.args[0] as { input: unknown }).input);

describe("AthenaQueryEngine: polling until the statement ends", () => {
  it.each([
    ["QUEUED -> RUNNING -> SUCCEEDED", ["QUEUED", "RUNNING", "SUCCEEDED"]],
    ["RUNNING -> QUEUED -> SUCCEEDED (transient requeue)", ["RUNNING", "QUEUED", "SUCCEEDED"]],
  ] as const)("%s: starts once, polls with doubling waits, returns the query id", async (_name, states) => {
    statesInOrder(...states.map((s) => execution(s)));
    const { engine: e, time, lines } = engine();

    const result = await e.execute("SELECT 1 AS n", { idempotencyKey: KEY });

    expect(inputsOf(StartQueryExecutionCommand)).toEqual([
      {
        QueryString: "SELECT 1 AS n",
        ClientRequestToken: KEY,
        WorkGroup: "wg_test",
        QueryExecutionContext: { Database: "crypto_data" },
      },
    ]);
    expect(inputsOf(GetQueryExecutionCommand)).toEqual(Array(3).fill({ QueryExecutionId: QUERY_ID }));
    expect(time.state.sleeps).toEqual([DEFAULT_POLL_INITIAL_MS, DEFAULT_POLL_INITIAL_MS * 2, DEFAULT_POLL_INITIAL_MS * 4]);
    expect(result.queryId).toBe(QUERY_ID);
    expect(inputsOf(StopQueryExecutionCommand)).toEqual([]);
    expect(
      lines()
        .filter((l) => l.queryId === QUERY_ID)
        .map((l) => l.message),
    ).toEqual(["athena query started", "athena query succeeded"]);
  });

  it("caps the wait between polls at pollMaxMs", async () => {
    statesInOrder(...Array(6).fill(execution("RUNNING")), execution("SUCCEEDED"));
    const { engine: e, time } = engine({ pollInitialMs: 100, pollMaxMs: 350 });

    await e.execute("SELECT 1 AS n");

    expect(time.state.sleeps).toEqual([100, 200, 350, 350, 350, 350, 350]);
  });

  it("sends the catalog and omits the execution context when neither catalog nor database is set", async () => {
    statesInOrder(execution("SUCCEEDED"));
    await engine({ database: undefined }).engine.execute("SELECT 1 AS n", { idempotencyKey: KEY });
    await engine({ catalog: "AwsDataCatalog" }).engine.execute("SELECT 1 AS n", { idempotencyKey: KEY });

    expect(inputsOf(StartQueryExecutionCommand).map((i) => (i as { QueryExecutionContext?: unknown }).QueryExecutionContext)).toEqual([
      undefined,
      { Catalog: "AwsDataCatalog", Database: "crypto_data" },
    ]);
  });
});

describe("AthenaQueryEngine: statements that end without success", () => {
  it("FAILED: throws with the AthenaError, the state change reason and the query id, reads no results", async () => {
    const athenaError = { ErrorCategory: 2, ErrorType: 1006, ErrorMessage: "TABLE_NOT_FOUND: analytics_prices", Retryable: false };
    statesInOrder(
      execution("RUNNING"),
      execution("FAILED", { AthenaError: athenaError, StateChangeReason: "line 1:15: Table does not exist" }),
    );
    const { engine: e, lines } = engine();

    const error = (await e
      .execute("INSERT INTO analytics_prices SELECT 1", { idempotencyKey: KEY })
      .catch((err) => err)) as AthenaQueryError;

    expect(isAthenaQueryError(error)).toBe(true);
    expect(error.kind).toBe("FAILED");
    expect(error.queryId).toBe(QUERY_ID);
    expect(error.athenaError).toEqual(athenaError);
    expect(error.stateChangeReason).toBe("line 1:15: Table does not exist");
    expect(error.message).toBe(
      `Athena query ${QUERY_ID} FAILED; ErrorCategory=2 (USER) ErrorType=1006: TABLE_NOT_FOUND: analytics_prices; ` +
        "StateChangeReason: line 1:15: Table does not exist",
    );
    expect(inputsOf(GetQueryResultsCommand)).toEqual([]);
    expect(inputsOf(StopQueryExecutionCommand)).toEqual([]);
    expect(lines()).toContainEqual(expect.objectContaining({ level: "error", queryId: QUERY_ID, state: "FAILED", athenaError }));
  });

  it("CANCELLED: throws with the query id and does not try to stop it again", async () => {
    statesInOrder(execution("QUEUED"), execution("CANCELLED", { StateChangeReason: "Query cancelled by user" }));
    const { engine: e } = engine();

    const error = (await e.execute("SELECT 1 AS n").catch((err) => err)) as AthenaQueryError;

    expect(isAthenaQueryError(error)).toBe(true);
    expect(error.kind).toBe("CANCELLED");
    expect(error.message).toBe(`Athena query ${QUERY_ID} CANCELLED; StateChangeReason: Query cancelled by user`);
    expect(inputsOf(StopQueryExecutionCommand)).toEqual([]);
    expect(inputsOf(GetQueryResultsCommand)).toEqual([]);
  });

  it("timeout: stops the still-running query with StopQueryExecution, then throws", async () => {
    statesInOrder(execution("RUNNING"));
    athena.on(StopQueryExecutionCommand).resolves({});
    const { engine: e, time, lines } = engine({ timeoutMs: 3_000, pollInitialMs: 500, pollMaxMs: 1_000 });

    const error = (await e.execute("SELECT 1 AS n", { idempotencyKey: KEY }).catch((err) => err)) as AthenaQueryError;

    expect(isAthenaQueryError(error)).toBe(true);
    expect(error.kind).toBe("TIMEOUT");
    expect(error.message).toBe(`Athena query ${QUERY_ID} timed out while RUNNING after 3000 ms; StopQueryExecution was requested`);
    // The last wait is clipped to the time left, so the stop comes exactly at the limit.
    expect(time.state.sleeps).toEqual([500, 1_000, 1_000, 500]);
    expect(inputsOf(StopQueryExecutionCommand)).toEqual([{ QueryExecutionId: QUERY_ID }]);
    expect(inputsOf(GetQueryResultsCommand)).toEqual([]);
    expect(lines()).toContainEqual(expect.objectContaining({ message: "athena query timed out", queryId: QUERY_ID }));
  });

  it("timeout: the caller's deadline wins over a longer timeoutMs", async () => {
    statesInOrder(execution("QUEUED"));
    athena.on(StopQueryExecutionCommand).resolves({});
    const start = fakeTime().now();
    const { engine: e, time } = engine({ timeoutMs: 60_000, deadlineMs: start + 1_200 });

    await expect(e.execute("SELECT 1 AS n")).rejects.toMatchObject({ kind: "TIMEOUT", queryId: QUERY_ID });

    expect(time.state.sleeps).toEqual([500, 700]);
    expect(inputsOf(StopQueryExecutionCommand)).toEqual([{ QueryExecutionId: QUERY_ID }]);
  });

  it("timeout: a failing StopQueryExecution is logged and the timeout is still what the caller sees", async () => {
    statesInOrder(execution("RUNNING"));
    athena.on(StopQueryExecutionCommand).rejects(new Error("AccessDenied: athena:StopQueryExecution"));
    const { engine: e, lines } = engine({ timeoutMs: 500 });

    await expect(e.execute("SELECT 1 AS n")).rejects.toMatchObject({ kind: "TIMEOUT" });

    expect(lines()).toContainEqual(
      expect.objectContaining({
        message: "athena query could not be stopped",
        queryId: QUERY_ID,
        errorMessage: "AccessDenied: athena:StopQueryExecution",
      }),
    );
  });

  it("a deadline already passed starts nothing", async () => {
    const { engine: e } = engine({ deadlineMs: fakeTime().now() });

    await expect(e.execute("SELECT 1 AS n")).rejects.toThrow("Athena statement not started: the caller's deadline has already passed");

    expect(athena.calls()).toHaveLength(0);
  });
});

/**
 * Athena as its API reference describes tokens: a StartQueryExecution with a token seen before returns the
 * original execution whatever its state, a new token creates an execution submitted at the clock's time.
 * `earlier` seeds executions of earlier calls (one per attempt token, submitted a minute before); each new
 * execution walks `fresh` states.
 */
function tokenAwareAthena(now: () => number, earlier: QueryExecutionState[][], fresh: QueryExecutionState[] = ["SUCCEEDED"]) {
  const byToken = new Map<string, { id: string; submittedAt: number; states: QueryExecutionState[]; polls: number }>();
  earlier.forEach((states, attempt) =>
    byToken.set(attemptToken(KEY, attempt), { id: `q-earlier-${attempt}`, submittedAt: now() - 60_000, states, polls: 0 }),
  );
  athena.on(StartQueryExecutionCommand).callsFake((input: { ClientRequestToken: string }) => {
    const known = byToken.get(input.ClientRequestToken) ?? { id: `q-new-${byToken.size}`, submittedAt: now(), states: fresh, polls: 0 };
    byToken.set(input.ClientRequestToken, known);
    return { QueryExecutionId: known.id };
  });
  athena.on(GetQueryExecutionCommand).callsFake((input: { QueryExecutionId: string }) => {
    const q = [...byToken.values()].find((e) => e.id === input.QueryExecutionId);
    if (q === undefined) throw new Error(`unknown execution ${input.QueryExecutionId}`);
    const State = q.states[Math.min(q.polls++, q.states.length - 1)];
    return {
      QueryExecution: {
        QueryExecutionId: q.id,
        StatementType: "DML",
        SubstatementType: "SELECT",
        Status: { State, SubmissionDateTime: new Date(q.submittedAt) },
      },
    };
  });
}

const startedTokens = () => inputsOf(StartQueryExecutionCommand).map((i) => (i as { ClientRequestToken: string }).ClientRequestToken);

describe("AthenaQueryEngine: a retry after a failed attempt (Athena returns the same execution for a reused token)", () => {
  it.each([
    ["FAILED", [["FAILED"]]],
    ["CANCELLED", [["CANCELLED"]]],
    ["FAILED three times (three earlier retries)", [["FAILED"], ["CANCELLED"], ["FAILED"]]],
  ] as [string, QueryExecutionState[][]][])(
    "an earlier call's execution that ended %s: the next attempt token starts a new execution",
    async (_name, earlier) => {
      const { engine: e, time, lines } = engine();
      tokenAwareAthena(time.now, earlier);

      const result = await e.execute("SELECT 1 AS n", { idempotencyKey: KEY });

      const attempts = earlier.length + 1;
      expect(startedTokens()).toEqual(Array.from({ length: attempts }, (_, attempt) => attemptToken(KEY, attempt)));
      expect(result.queryId).toBe(`q-new-${earlier.length}`);
      expect(
        lines()
          .filter((l) => l.level === "warn")
          .map((l) => l.queryId),
      ).toEqual(earlier.map((_, attempt) => `q-earlier-${attempt}`));
    },
  );

  it.each([
    ["is still running", ["RUNNING", "SUCCEEDED"]],
    ["has succeeded", ["SUCCEEDED"]],
  ] as [string, QueryExecutionState[]][])(
    "an earlier call's execution that %s is re-attached to: no second execution",
    async (_name, states) => {
      const { engine: e, time } = engine();
      tokenAwareAthena(time.now, [states]);

      const result = await e.execute("SELECT 1 AS n", { idempotencyKey: KEY });

      expect(startedTokens()).toEqual([KEY]);
      expect(result.queryId).toBe("q-earlier-0");
    },
  );

  it("an earlier attempt that fails while this call waits for it is followed by the next attempt in the same call", async () => {
    const { engine: e, time } = engine();
    tokenAwareAthena(time.now, [["RUNNING", "FAILED"]]);

    const result = await e.execute("SELECT 1 AS n", { idempotencyKey: KEY });

    expect(startedTokens()).toEqual([KEY, attemptToken(KEY, 1)]);
    expect(result.queryId).toBe("q-new-1");
  });

  it("an execution this call started that fails is thrown, not retried at once: the caller's retry runs the next attempt", async () => {
    const { engine: e, time } = engine();
    tokenAwareAthena(time.now, [], ["RUNNING", "FAILED"]);

    await expect(e.execute("SELECT 1 AS n", { idempotencyKey: KEY })).rejects.toMatchObject({ kind: "FAILED", queryId: "q-new-0" });
    expect(startedTokens()).toEqual([KEY]);

    // The caller's retry (a later Lambda attempt): the failed execution is now an earlier call's.
    time.state.t += 60_000;
    await expect(e.execute("SELECT 1 AS n", { idempotencyKey: KEY })).rejects.toMatchObject({ kind: "FAILED", queryId: "q-new-1" });
    expect(startedTokens()).toEqual([KEY, KEY, attemptToken(KEY, 1)]);
  });

  it(`after ${MAX_STATEMENT_ATTEMPTS} failed attempts under one key, starts no more and says so`, async () => {
    const { engine: e, time } = engine();
    tokenAwareAthena(
      time.now,
      Array.from({ length: MAX_STATEMENT_ATTEMPTS }, () => ["FAILED"] as QueryExecutionState[]),
    );

    await expect(e.execute("SELECT 1 AS n", { idempotencyKey: KEY })).rejects.toThrow(
      `Athena statement not started: its ${MAX_STATEMENT_ATTEMPTS} attempts under this idempotency key all ended FAILED or CANCELLED`,
    );
    expect(startedTokens()).toHaveLength(MAX_STATEMENT_ATTEMPTS);
    expect(new Set(startedTokens()).size).toBe(MAX_STATEMENT_ATTEMPTS);
  });

  it("attempt tokens: the key itself first, then distinct 64-hex digests inside Athena's 32..128 characters", () => {
    const tokens = [0, 1, 2].map((attempt) => attemptToken(KEY, attempt));
    expect(tokens[0]).toBe(KEY);
    expect(tokens.slice(1)).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/), expect.stringMatching(/^[0-9a-f]{64}$/)]);
    expect(new Set(tokens).size).toBe(3);
    expect(attemptToken(KEY, 1)).toBe(tokens[1]);
  });
});

describe("AthenaQueryEngine: ClientRequestToken", () => {
  it("a caller retrying after a throttled StartQueryExecution sends the identical token", async () => {
    const throttled = Object.assign(new Error("Rate exceeded"), { name: "TooManyRequestsException" });
    athena.on(StartQueryExecutionCommand).rejectsOnce(throttled).resolves({ QueryExecutionId: QUERY_ID });
    statesInOrder(execution("SUCCEEDED"));
    const { engine: e } = engine();

    await expect(e.execute("SELECT 1 AS n", { idempotencyKey: KEY })).rejects.toThrow("Rate exceeded");
    await e.execute("SELECT 1 AS n", { idempotencyKey: KEY });

    const tokens = inputsOf(StartQueryExecutionCommand).map((i) => (i as { ClientRequestToken: string }).ClientRequestToken);
    expect(tokens).toEqual([KEY, KEY]);
  });

  it("without a key, each call gets its own random UUID token, never one derived from the SQL", async () => {
    statesInOrder(execution("SUCCEEDED"));
    const { engine: e } = engine();

    await e.execute("SELECT 1 AS n");
    await e.execute("SELECT 1 AS n");

    const tokens = inputsOf(StartQueryExecutionCommand).map((i) => (i as { ClientRequestToken: string }).ClientRequestToken);
    expect(tokens).toHaveLength(2);
    tokens.forEach((t) => expect(t).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/));
    expect(tokens[0]).not.toBe(tokens[1]);
  });

  it.each([
    ["31 characters", "k".repeat(31)],
    ["129 characters", "k".repeat(129)],
    ["empty", ""],
  ])("rejects an idempotency key of %s before calling Athena", async (_name, key) => {
    const { engine: e } = engine();

    await expect(e.execute("SELECT 1 AS n", { idempotencyKey: key })).rejects.toThrow(
      `idempotencyKey must be 32 to 128 characters (Athena ClientRequestToken); got ${key.length}`,
    );
    expect(athena.calls()).toHaveLength(0);
  });

  it.each([32, 128])("accepts a key of exactly %i characters", async (length) => {
    statesInOrder(execution("SUCCEEDED"));
    await engine().engine.execute("SELECT 1 AS n", { idempotencyKey: "k".repeat(length) });
    expect(inputsOf(StartQueryExecutionCommand)).toHaveLength(1);
  });
});

describe("AthenaQueryEngine: results", () => {
  it("SELECT: reads every page, drops the header row of the first page only, maps NULL to null", async () => {
    statesInOrder(execution("SUCCEEDED"));
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce(
        page(
          ["id", "price"],
          [
            ["id", "price"],
            ["bitcoin", "64000.5"],
            ["tether", null],
          ],
          "page-2",
        ),
      )
      .resolvesOnce(
        page(
          ["id", "price"],
          [
            ["id", "1.0"],
            ["solana", "150"],
          ],
          "page-3",
        ),
      )
      .resolvesOnce(page(["id", "price"], [["ethereum", "3000"]]));
    const { engine: e } = engine();

    const result = await e.execute("SELECT id, price FROM t", { idempotencyKey: KEY });

    expect(result).toEqual({
      queryId: QUERY_ID,
      rows: [
        { id: "bitcoin", price: "64000.5" },
        { id: "tether", price: null },
        // A data row that happens to look like a header on a later page is kept.
        { id: "id", price: "1.0" },
        { id: "solana", price: "150" },
        { id: "ethereum", price: "3000" },
      ],
    });
    expect(inputsOf(GetQueryResultsCommand)).toEqual([
      { QueryExecutionId: QUERY_ID, MaxResults: RESULTS_PAGE_SIZE, NextToken: undefined },
      { QueryExecutionId: QUERY_ID, MaxResults: RESULTS_PAGE_SIZE, NextToken: "page-2" },
      { QueryExecutionId: QUERY_ID, MaxResults: RESULTS_PAGE_SIZE, NextToken: "page-3" },
    ]);
  });

  it("INSERT: rowsWritten comes from UpdateCount, with one small results call and no rows", async () => {
    statesInOrder(execution("SUCCEEDED", { SubstatementType: "INSERT" }));
    athena.on(GetQueryResultsCommand).resolves({ UpdateCount: 2750, ResultSet: { Rows: [] } });
    const { engine: e, lines } = engine();

    const result = await e.execute("INSERT INTO analytics_prices SELECT * FROM processed_prices", { idempotencyKey: KEY });

    expect(result).toEqual({ queryId: QUERY_ID, rows: [], rowsWritten: 2750 });
    expect(inputsOf(GetQueryResultsCommand)).toEqual([{ QueryExecutionId: QUERY_ID, MaxResults: 1 }]);
    expect(lines()).toContainEqual(
      expect.objectContaining({ message: "athena query succeeded", queryId: QUERY_ID, rowsWritten: 2750, dataScannedBytes: 1234 }),
    );
  });

  it("DDL: rows come back as Athena returns them, with no header row to drop", async () => {
    statesInOrder(execution("SUCCEEDED", { StatementType: "DDL", SubstatementType: "SHOW_PARTITIONS" }));
    athena.on(GetQueryResultsCommand).resolves(page(["partition"], [["year=2024/month=9/day=3/hour=7"]]));

    const result = await engine().engine.execute("SHOW PARTITIONS analytics_prices");

    expect(result.rows).toEqual([{ partition: "year=2024/month=9/day=3/hour=7" }]);
  });
});

describe("AthenaQueryEngine over HTTP: the real SDK against a loopback Athena", () => {
  const athenaStandIn = createAthenaStandIn((sql) =>
    /^INSERT/.test(sql) ? { states: ["QUEUED", "RUNNING", "SUCCEEDED"], updateCount: 42 } : { columns: ["id"], rows: [["bitcoin"]] },
  );
  let standIn: AwsStandIn;
  beforeAll(async () => {
    standIn = await startAwsStandIn({ routes: [athenaStandIn.route] });
  });
  afterAll(() => standIn.close());

  function httpEngine() {
    const client = new AthenaClient({
      region: STAND_IN_REGION,
      endpoint: standIn.url,
      credentials: { accessKeyId: "AKIDSTANDIN", secretAccessKey: "stand-in-secret" },
    });
    const time = fakeTime();
    return new AthenaQueryEngine(client, {
      workGroup: "wg_http",
      database: "crypto_data",
      sleep: time.sleep,
      now: time.now,
      logger: recorder().logger,
    });
  }

  it.each([
    ["with an idempotency key", KEY],
    ["without one (the engine's random token)", undefined],
  ])("the SDK's own retry of a throttled StartQueryExecution resends the identical token, %s", async (_name, key) => {
    standIn.requests.length = 0;
    athenaStandIn.throttleNextStarts = 1;
    const queriesBefore = athenaStandIn.queries.length;

    const result = await httpEngine().execute("INSERT INTO analytics_prices SELECT 1", { idempotencyKey: key });

    const starts = standIn.ops("StartQueryExecution").map((r) => r.input as { ClientRequestToken: string; WorkGroup: string });
    expect(starts).toHaveLength(2);
    expect(starts[1]).toEqual(starts[0]);
    if (key) expect(starts[0].ClientRequestToken).toBe(key);
    expect(athenaStandIn.queries).toHaveLength(queriesBefore + 1);
    expect(result).toEqual({ queryId: athenaStandIn.queries[queriesBefore].id, rows: [], rowsWritten: 42 });
  });

  it("a second execute with the same key re-attaches to the first execution instead of starting another", async () => {
    const queriesBefore = athenaStandIn.queries.length;
    const key = "reattach-" + "0".repeat(40);

    const first = await httpEngine().execute("INSERT INTO analytics_prices SELECT 2", { idempotencyKey: key });
    const second = await httpEngine().execute("INSERT INTO analytics_prices SELECT 2", { idempotencyKey: key });

    expect(second.queryId).toBe(first.queryId);
    expect(athenaStandIn.queries).toHaveLength(queriesBefore + 1);
  });

  it("SELECT over the wire: the header row is dropped and rows come back by column name", async () => {
    const result = await httpEngine().execute("SELECT id FROM analytics_prices");
    expect(result.rows).toEqual([{ id: "bitcoin" }]);
  });
});
