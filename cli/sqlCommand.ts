/**
 * `crypto-analytics sql "<query>" --lake DIR [--format table|json|csv]`: one read-only SELECT or WITH query
 * over the local lake, with the Glue catalog's table and view names (see local/lakeSql.ts for what is
 * refused and how).
 */
import { queryLake } from "../local/lakeSql";
import { formatRows, QueryFormat } from "./queryCommand";

/** Arguments of {@link sqlCommand}. */
export interface SqlCommandArgs {
  /** The lake folder; must exist. */
  lake: string;
  /** One SELECT or WITH statement. */
  query: string;
  /** Output format. Defaults to `table`. */
  format?: QueryFormat;
}

/** The query's rows as text in the query's own order; rejects with a one-line reason when refused or invalid. */
export async function sqlCommand(args: SqlCommandArgs): Promise<string> {
  const { columns, rows } = await queryLake(args.lake, args.query);
  return formatRows(columns, rows, args.format ?? "table");
}
