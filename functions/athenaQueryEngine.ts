/**
 * The AWS query engine: runs one statement on Amazon Athena and waits for it, polling with capped
 * exponential backoff. Used by the transform Lambda; the local twin is the DuckDB engine.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  QueryExecution,
  Row,
  StartQueryExecutionCommand,
  StartQueryExecutionInput,
  StopQueryExecutionCommand,
} from "@aws-sdk/client-athena";
import { createHash, randomUUID } from "crypto";
import { QueryEngine, QueryResult } from "./queryEngine";
import { Logger, createLogger, errorFields } from "./telemetry";

/** First wait between status polls. */
export const DEFAULT_POLL_INITIAL_MS = 500;
/** Longest wait between status polls; the backoff doubles up to this cap. */
export const DEFAULT_POLL_MAX_MS = 5_000;
/** Longest a single statement may run before it is stopped. */
export const DEFAULT_QUERY_TIMEOUT_MS = 10 * 60_000;
/** Shortest ClientRequestToken Athena accepts. */
export const MIN_CLIENT_REQUEST_TOKEN_LENGTH = 32;
/** Longest ClientRequestToken Athena accepts. */
export const MAX_CLIENT_REQUEST_TOKEN_LENGTH = 128;
/**
 * Most executions one idempotency key may have started: after this many FAILED or CANCELLED attempts
 * under one key, `execute` starts no more and throws. The transform's keys change every run hour, so a
 * statement that keeps failing is tried by the schedule's run, Lambda's two async retries and manual
 * re-runs within the hour, then afresh the next hour.
 */
export const MAX_STATEMENT_ATTEMPTS = 10;
/** Rows per GetQueryResults page (the API's maximum). */
export const RESULTS_PAGE_SIZE = 1000;

const POLL_BACKOFF_FACTOR = 2;

/** Athena's `AthenaError.ErrorCategory` codes. */
const ERROR_CATEGORIES: Record<number, string> = { 1: "SYSTEM", 2: "USER", 3: "OTHER" };

/** Settings of an {@link AthenaQueryEngine}. */
export interface AthenaQueryEngineOptions {
  /** Workgroup every statement runs in; its enforced configuration sets the result location and encryption. */
  workGroup: string;
  /** Data catalog of unqualified table names. Defaults to Athena's own default (`AwsDataCatalog`): not sent. */
  catalog?: string;
  /** Database of unqualified table names. Defaults to none: statements must qualify their tables. */
  database?: string;
  /** First wait between status polls, ms. Defaults to {@link DEFAULT_POLL_INITIAL_MS}. */
  pollInitialMs?: number;
  /** Cap of the doubling wait between polls, ms. Defaults to {@link DEFAULT_POLL_MAX_MS}. */
  pollMaxMs?: number;
  /** Longest one statement may run, ms. Defaults to {@link DEFAULT_QUERY_TIMEOUT_MS}. */
  timeoutMs?: number;
  /**
   * Epoch ms after which no statement may still be running, whatever `timeoutMs` says: the Lambda handler
   * sets it from the invocation's remaining time, so a query never outlives the function that waits for it.
   * Defaults to no deadline.
   */
  deadlineMs?: number;
  /** Waits between polls. Defaults to a `setTimeout` promise; tests inject one that returns at once. */
  sleep?: (ms: number) => Promise<void>;
  /** Clock in epoch ms. Defaults to `Date.now`; tests inject one that the injected sleep advances. */
  now?: () => number;
  /** Where query ids and outcomes are logged. Defaults to a JSON-lines logger on stdout. */
  logger?: Logger;
}

/** How a statement ended without success. */
export type AthenaFailureKind = "FAILED" | "CANCELLED" | "TIMEOUT";

/** Athena's `AthenaError` of a FAILED statement. */
export interface AthenaErrorInfo {
  ErrorCategory?: number;
  ErrorType?: number;
  ErrorMessage?: string;
  Retryable?: boolean;
}

/** A statement that Athena failed or cancelled, or that ran past its time limit and was stopped. */
export interface AthenaQueryError extends Error {
  name: "AthenaQueryError";
  /** How it ended. */
  kind: AthenaFailureKind;
  /** The Athena QueryExecutionId. */
  queryId: string;
  /** Athena's `AthenaError`, for FAILED statements that report one. */
  athenaError?: AthenaErrorInfo;
  /** Athena's `Status.StateChangeReason`, when given. */
  stateChangeReason?: string;
}

/**
 * Creates an {@link AthenaQueryError}. A factory rather than `class extends Error`: Pulumi's function
 * serializer turns `super(message)` into `Error.call(this, message)`, so a serialized subclass instance
 * would lose its message in the deployed Lambda (see coinGeckoError).
 */
export function athenaQueryError(
  message: string,
  kind: AthenaFailureKind,
  queryId: string,
  athenaError?: AthenaErrorInfo,
  stateChangeReason?: string,
): AthenaQueryError {
  const error = new Error(message) as AthenaQueryError;
  error.name = "AthenaQueryError";
  error.kind = kind;
  error.queryId = queryId;
  error.athenaError = athenaError;
  error.stateChangeReason = stateChangeReason;
  return error;
}

/** True for errors made by {@link athenaQueryError}. */
export function isAthenaQueryError(err: unknown): err is AthenaQueryError {
  return err instanceof Error && err.name === "AthenaQueryError";
}

/**
 * Runs SQL on Athena through one workgroup.
 *
 * Idempotency: every StartQueryExecution carries a ClientRequestToken, which the SDK resends unchanged on
 * its own retries (throttling, network errors), so a retried request never starts a second query. With
 * `idempotencyKey` the tokens are the key's attempt tokens ({@link attemptToken}: attempt 0 is the key
 * itself), so a caller that repeats the same statement later (a Lambda retry) re-attaches to an earlier
 * execution that is still queued or running, or that succeeded, instead of writing twice. Athena answers a
 * reused token with the original execution whatever its state, so re-using one token would hand every
 * retry the same FAILED execution; instead an execution of an earlier call that ended FAILED or CANCELLED
 * moves on to the next attempt token, which starts a new execution (at most
 * {@link MAX_STATEMENT_ATTEMPTS} per key). "Of an earlier call" means Athena's SubmissionDateTime lies
 * before this call began: an execution this call started and saw fail is thrown, not retried at once.
 * Without a key the token is a fresh random UUID per `execute` call, never one derived from the SQL: a
 * SQL-derived token would make a repeated SELECT return stale results and a repeated INSERT do nothing.
 *
 * Timeout: a statement still queued or running at its time limit is stopped (StopQueryExecution) before
 * the error is thrown, so no query outlives the function that waits for it and keeps writing behind the
 * next run's back.
 */
export class AthenaQueryEngine implements QueryEngine {
  private readonly pollInitialMs: number;
  private readonly pollMaxMs: number;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly logger: Logger;

  /** Creates an engine over an Athena client; `options.workGroup` is required. */
  constructor(
    private readonly client: AthenaClient,
    private readonly options: AthenaQueryEngineOptions,
  ) {
    this.pollInitialMs = options.pollInitialMs ?? DEFAULT_POLL_INITIAL_MS;
    this.pollMaxMs = options.pollMaxMs ?? DEFAULT_POLL_MAX_MS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    this.sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? createLogger("athena-query-engine");
  }

  /**
   * Starts the statement, waits until it ends and returns its result: for a SELECT every row (Athena's
   * header row removed) as column name to string, null for SQL NULL; for an INSERT/CTAS `rowsWritten`
   * from Athena's UpdateCount and no rows; for DDL and utility statements their rows as Athena returns them.
   * Rejects with {@link AthenaQueryError} when the statement fails, is cancelled or times out.
   */
  async execute(sql: string, options: { idempotencyKey?: string } = {}): Promise<QueryResult> {
    const key = options.idempotencyKey ?? randomUUID();
    if (key.length < MIN_CLIENT_REQUEST_TOKEN_LENGTH || key.length > MAX_CLIENT_REQUEST_TOKEN_LENGTH) {
      throw new Error(
        `idempotencyKey must be ${MIN_CLIENT_REQUEST_TOKEN_LENGTH} to ${MAX_CLIENT_REQUEST_TOKEN_LENGTH} characters ` +
          `(Athena ClientRequestToken); got ${key.length}`,
      );
    }
    const startedAt = this.now();
    const waitUntil = Math.min(startedAt + this.timeoutMs, this.options.deadlineMs ?? Number.POSITIVE_INFINITY);
    for (let attempt = 0; attempt < MAX_STATEMENT_ATTEMPTS; attempt += 1) {
      if (waitUntil <= this.now()) {
        throw new Error("Athena statement not started: the caller's deadline has already passed");
      }
      const token = attemptToken(key, attempt);
      const { QueryExecutionId: queryId } = await this.client.send(new StartQueryExecutionCommand(this.startInput(sql, token)));
      if (!queryId) throw new Error("Athena StartQueryExecution returned no QueryExecutionId");
      this.logger.info("athena query started", { queryId, clientRequestToken: token, attempt, workGroup: this.options.workGroup });

      const execution = await this.waitForEnd(queryId, startedAt, waitUntil);
      if (execution === undefined) continue;
      const result = await this.readResult(queryId, execution);
      this.logger.info("athena query succeeded", {
        queryId,
        statementType: execution.StatementType,
        substatementType: execution.SubstatementType,
        rowsWritten: result.rowsWritten,
        rowsReturned: result.rows.length,
        dataScannedBytes: execution.Statistics?.DataScannedInBytes,
        engineExecutionMs: execution.Statistics?.EngineExecutionTimeInMillis,
      });
      return result;
    }
    throw new Error(
      `Athena statement not started: its ${MAX_STATEMENT_ATTEMPTS} attempts under this idempotency key all ended FAILED or CANCELLED; ` +
        `a new key (the transform's next run hour) starts afresh`,
    );
  }

  private startInput(sql: string, token: string): StartQueryExecutionInput {
    const { catalog, database, workGroup } = this.options;
    const input: StartQueryExecutionInput = { QueryString: sql, ClientRequestToken: token, WorkGroup: workGroup };
    if (catalog !== undefined || database !== undefined) {
      input.QueryExecutionContext = {
        ...(catalog !== undefined ? { Catalog: catalog } : {}),
        ...(database !== undefined ? { Database: database } : {}),
      };
    }
    return input;
  }

  /**
   * Polls until SUCCEEDED (returned), FAILED/CANCELLED (thrown; undefined for an execution submitted before
   * this call began, whose attempt the caller moves past) or the time limit (stopped, thrown).
   */
  private async waitForEnd(queryId: string, startedAt: number, waitUntil: number): Promise<QueryExecution | undefined> {
    let delay = this.pollInitialMs;
    for (;;) {
      await this.sleep(Math.min(delay, Math.max(0, waitUntil - this.now())));
      const { QueryExecution: execution } = await this.client.send(new GetQueryExecutionCommand({ QueryExecutionId: queryId }));
      const status = execution?.Status;
      switch (status?.State) {
        case "SUCCEEDED":
          return execution ?? {};
        case "FAILED":
        case "CANCELLED":
          // Without a SubmissionDateTime the execution counts as this call's own: thrown, never retried at once.
          if (status.SubmissionDateTime !== undefined && status.SubmissionDateTime.getTime() < startedAt) {
            this.logger.warn("athena query of an earlier attempt had ended without success; starting the next attempt", {
              queryId,
              state: status.State,
              submittedAt: status.SubmissionDateTime.toISOString(),
            });
            return undefined;
          }
          throw this.failure(queryId, status.State, status.AthenaError, status.StateChangeReason);
      }
      if (this.now() >= waitUntil) {
        await this.stop(queryId);
        const lastState = status?.State ?? "UNKNOWN";
        const error = athenaQueryError(
          `Athena query ${queryId} timed out while ${lastState} after ${this.now() - startedAt} ms; ` + `StopQueryExecution was requested`,
          "TIMEOUT",
          queryId,
        );
        this.logger.error("athena query timed out", { queryId, lastState });
        throw error;
      }
      delay = Math.min(delay * POLL_BACKOFF_FACTOR, this.pollMaxMs);
    }
  }

  private failure(
    queryId: string,
    state: "FAILED" | "CANCELLED",
    athenaError: AthenaErrorInfo | undefined,
    reason: string | undefined,
  ): AthenaQueryError {
    const parts = [`Athena query ${queryId} ${state}`];
    if (athenaError) {
      const category = athenaError.ErrorCategory;
      const categoryName = category !== undefined ? (ERROR_CATEGORIES[category] ?? "UNKNOWN") : "UNKNOWN";
      parts.push(
        `ErrorCategory=${category ?? "?"} (${categoryName}) ErrorType=${athenaError.ErrorType ?? "?"}: ` +
          `${athenaError.ErrorMessage ?? "no message"}`,
      );
    }
    if (reason) parts.push(`StateChangeReason: ${reason}`);
    this.logger.error("athena query ended without success", { queryId, state, athenaError, stateChangeReason: reason });
    return athenaQueryError(parts.join("; "), state, queryId, athenaError, reason);
  }

  /** Requests a stop; a failure to stop is logged, not thrown, so the caller still sees the timeout. */
  private async stop(queryId: string): Promise<void> {
    try {
      await this.client.send(new StopQueryExecutionCommand({ QueryExecutionId: queryId }));
    } catch (err) {
      this.logger.error("athena query could not be stopped", { queryId, ...errorFields(err) });
    }
  }

  private async readResult(queryId: string, execution: QueryExecution): Promise<QueryResult> {
    const isSelect = execution.StatementType === "DML" && execution.SubstatementType === "SELECT";
    if (execution.StatementType === "DML" && !isSelect) {
      // INSERT INTO / CTAS: the count is all there is; one page is enough to carry UpdateCount.
      const page = await this.client.send(new GetQueryResultsCommand({ QueryExecutionId: queryId, MaxResults: 1 }));
      return { rows: [], rowsWritten: page.UpdateCount, queryId };
    }
    const rows: Record<string, unknown>[] = [];
    let columns: string[] = [];
    let nextToken: string | undefined;
    let first = true;
    do {
      const page = await this.client.send(
        new GetQueryResultsCommand({ QueryExecutionId: queryId, MaxResults: RESULTS_PAGE_SIZE, NextToken: nextToken }),
      );
      if (first) columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? "");
      // A SELECT's first row repeats the column labels; only the first page carries it.
      const pageRows = page.ResultSet?.Rows ?? [];
      for (const row of first && isSelect ? pageRows.slice(1) : pageRows) rows.push(rowObject(columns, row));
      first = false;
      nextToken = page.NextToken;
    } while (nextToken);
    return { rows, queryId };
  }
}

/**
 * ClientRequestToken of attempt `attempt` (0-based) under `key`: the key itself for the first attempt, so a
 * caller's key is what Athena sees, and a SHA-256 hex digest of key and attempt number after it (64
 * characters, inside Athena's 32..128). Deterministic, so every retry of a call walks the same tokens.
 * Athena: a reused ClientRequestToken returns the original execution and creates no other
 * (https://docs.aws.amazon.com/athena/latest/APIReference/API_StartQueryExecution.html).
 */
export function attemptToken(key: string, attempt: number): string {
  return attempt === 0 ? key : createHash("sha256").update(`${key}#attempt=${attempt}`).digest("hex");
}

function rowObject(columns: readonly string[], row: Row): Record<string, string | null> {
  const data = row.Data ?? [];
  const out: Record<string, string | null> = {};
  columns.forEach((name, i) => {
    // Athena sends SQL NULL as a Datum without VarCharValue.
    out[name] = data[i]?.VarCharValue ?? null;
  });
  return out;
}
