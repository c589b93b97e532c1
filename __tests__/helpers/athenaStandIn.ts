/**
 * Athena JSON-protocol routes for the loopback AWS stand-in (awsStandIn.ts): StartQueryExecution (with
 * ClientRequestToken idempotency as Athena documents it), GetQueryExecution walking a scripted list of
 * states, GetQueryResults (SELECT rows with Athena's header row, or an INSERT's UpdateCount) and
 * StopQueryExecution. It runs no SQL: each statement's fate is scripted by the test.
 */
import { jsonError, jsonOk, RecordedRequest, StandInResponse, StandInRoute } from "./awsStandIn";

/** How one statement behaves. */
export interface ScriptedQuery {
  /** States reported by successive GetQueryExecution calls; the last repeats. Defaults to RUNNING, SUCCEEDED. */
  states?: string[];
  /** UpdateCount of an INSERT. Defaults to 0 for INSERT statements. */
  updateCount?: number;
  /** Column names of a SELECT. Defaults to none. */
  columns?: string[];
  /** Data rows of a SELECT (null = SQL NULL). Defaults to none. */
  rows?: (string | null)[][];
  /** AthenaError of a FAILED statement. */
  athenaError?: { ErrorCategory: number; ErrorType: number; ErrorMessage: string; Retryable?: boolean };
}

/** One execution the stand-in created. */
export interface StandInQuery {
  id: string;
  sql: string;
  token: string;
  workGroup?: string;
  database?: string;
  /** Epoch ms the execution was created (Athena's SubmissionDateTime). */
  submittedAt: number;
  polls: number;
  stopped: boolean;
  script: ScriptedQuery;
}

/** The Athena part of the stand-in: pass `route` in `startAwsStandIn({ routes })`. */
export interface AthenaStandIn {
  route: StandInRoute;
  /** Executions in creation order (a start that re-used a token creates none). */
  queries: StandInQuery[];
  /** How many upcoming StartQueryExecution calls to answer with TooManyRequestsException. */
  throttleNextStarts: number;
}

const DEFAULT_STATES = ["RUNNING", "SUCCEEDED"];

/** Creates the routes; `script` decides each statement's fate from its SQL. Defaults to every statement succeeding. */
export function createAthenaStandIn(script: (sql: string) => ScriptedQuery = () => ({})): AthenaStandIn {
  const queries: StandInQuery[] = [];
  const byToken = new Map<string, StandInQuery>();
  const find = (input: Record<string, unknown> | undefined) => queries.find((q) => q.id === input?.QueryExecutionId);

  const standIn: AthenaStandIn = {
    queries,
    throttleNextStarts: 0,
    route: (request: RecordedRequest): StandInResponse | undefined => {
      if (request.service !== "AmazonAthena") return undefined;
      const input = request.input ?? {};
      switch (request.operation) {
        case "StartQueryExecution": {
          if (standIn.throttleNextStarts > 0) {
            standIn.throttleNextStarts -= 1;
            return jsonError(400, "TooManyRequestsException", "Rate exceeded");
          }
          const token = String(input.ClientRequestToken);
          const sql = String(input.QueryString);
          const earlier = byToken.get(token);
          if (earlier && earlier.sql !== sql) return jsonError(400, "InvalidRequestException", "Idempotent parameters do not match");
          if (earlier) return jsonOk({ QueryExecutionId: earlier.id });
          const context = input.QueryExecutionContext as { Database?: string } | undefined;
          const query: StandInQuery = {
            id: `q-${String(queries.length + 1).padStart(4, "0")}-0000-0000-0000-000000000000`,
            sql,
            token,
            workGroup: input.WorkGroup as string | undefined,
            database: context?.Database,
            submittedAt: Date.now(),
            polls: 0,
            stopped: false,
            script: script(sql),
          };
          queries.push(query);
          byToken.set(token, query);
          return jsonOk({ QueryExecutionId: query.id });
        }
        case "GetQueryExecution": {
          const q = find(input);
          if (!q) return jsonError(400, "InvalidRequestException", "QueryExecution not found");
          const states = q.script.states ?? DEFAULT_STATES;
          const state = q.stopped ? "CANCELLED" : states[Math.min(q.polls, states.length - 1)];
          q.polls += 1;
          return jsonOk({
            QueryExecution: {
              QueryExecutionId: q.id,
              Query: q.sql,
              StatementType: "DML",
              SubstatementType: /^\s*INSERT/i.test(q.sql) ? "INSERT" : "SELECT",
              WorkGroup: q.workGroup,
              Status: {
                State: state,
                // The JSON protocol carries timestamps as epoch seconds.
                SubmissionDateTime: q.submittedAt / 1000,
                ...(state === "FAILED" && q.script.athenaError ? { AthenaError: q.script.athenaError } : {}),
                ...(state === "FAILED" ? { StateChangeReason: q.script.athenaError?.ErrorMessage } : {}),
              },
              Statistics: { DataScannedInBytes: 4096, EngineExecutionTimeInMillis: 900 },
            },
          });
        }
        case "GetQueryResults": {
          const q = find(input);
          if (!q) return jsonError(400, "InvalidRequestException", "QueryExecution not found");
          if (/^\s*INSERT/i.test(q.sql)) return jsonOk({ UpdateCount: q.script.updateCount ?? 0, ResultSet: { Rows: [] } });
          const columns = q.script.columns ?? [];
          const cells = (r: (string | null)[]) => ({ Data: r.map((v) => (v === null ? {} : { VarCharValue: v })) });
          return jsonOk({
            ResultSet: {
              ResultSetMetadata: { ColumnInfo: columns.map((Name) => ({ Name, Label: Name, Type: "varchar" })) },
              Rows: [cells(columns), ...(q.script.rows ?? []).map(cells)],
            },
          });
        }
        case "StopQueryExecution": {
          const q = find(input);
          if (q) q.stopped = true;
          return jsonOk({});
        }
        default:
          return jsonError(400, "UnknownOperationException", `stand-in does not serve Athena ${request.operation}`);
      }
    },
  };
  return standIn;
}
