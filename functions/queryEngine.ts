/**
 * The query engine the transform and the CLI run SQL through: Athena in AWS, DuckDB in local mode.
 */

/** Result of one statement. */
export interface QueryResult {
  /** Result rows of a SELECT, column name to value (Athena returns strings; DuckDB typed values). */
  rows: Record<string, unknown>[];
  /** Rows written by an INSERT/COPY, when the engine reports it. */
  rowsWritten?: number;
  /** Engine-side id of the execution (Athena QueryExecutionId), for logs. */
  queryId?: string;
}

/** Runs SQL statements one at a time. */
export interface QueryEngine {
  /**
   * Runs one statement and waits for it to finish; rejects with the engine's error message on failure.
   * `idempotencyKey`, when given, makes a retried call of the same statement start no second execution
   * while an earlier one is running or has succeeded (Athena ClientRequestToken); after one that failed or
   * was cancelled, the retry runs the statement again (Athena: the key's next attempt token; DuckDB keeps
   * only successful results).
   */
  execute(sql: string, options?: { idempotencyKey?: string }): Promise<QueryResult>;
}
