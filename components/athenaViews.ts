/**
 * The curated `v_*` views as Athena (Presto/Trino) views in the Glue catalog: one `VIRTUAL_VIEW` table
 * per `sql/views/<name>.sql`, in the form Athena itself writes for `CREATE VIEW`.
 *
 * Column names and types come from DuckDB binding the same SQL (`deriveViewSchemas`) when the program
 * runs, so the SQL files stay the only source of truth: a changed view is redeployed with the columns it
 * now returns, and no checked-in schema copy can fall behind (Athena refuses a view whose stored columns
 * disagree with its SQL: VIEW_IS_STALE). The price is that deploying needs DuckDB, a dependency of this
 * package, on the deploying machine.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ColumnType } from "../functions/schema";
import { stripLineComments, viewDependencies, viewsInDependencyOrder } from "../functions/sqlFiles";
import type { ViewColumn, ViewSchema } from "../local/duckdbEngine";

/** Catalog name Athena records in a view definition (the Glue Data Catalog). */
export const PRESTO_VIEW_CATALOG = "awsdatacatalog";

/** Text Athena stores as a view's expanded text. */
export const PRESTO_VIEW_EXPANDED_TEXT = "/* Presto View */";

/** Table parameters Athena sets on a view it creates. */
export const PRESTO_VIEW_PARAMETERS: Readonly<Record<string, string>> = Object.freeze({
  presto_view: "true",
  comment: "Presto View",
});

/**
 * SerDe of a view's storage descriptor. A view has no storage, but Athena's catalog reader dereferences
 * the SerDe of every table, so an empty one makes the view unreadable.
 */
export const VIEW_SERDE_INFO: Readonly<{ name: string; serializationLibrary: string }> = Object.freeze({
  name: "-",
  serializationLibrary: "-",
});

/** Presto/Trino type of each Glue (Hive) column type: the view JSON uses the former, the Glue columns the latter. */
export const PRESTO_TYPES: Readonly<Record<ColumnType, string>> = Object.freeze({
  string: "varchar",
  bigint: "bigint",
  int: "integer",
  double: "double",
});

// Glue caps a table description at 2048 characters.
const DESCRIPTION_MAX = 2048;
const VIEW_TEXT_PREFIX = "/* Presto View: ";
const VIEW_TEXT_SUFFIX = " */";

/** The JSON Athena base64-encodes into a view's original text. */
export interface PrestoViewDefinition {
  /** The view's SELECT. */
  originalSql: string;
  /** Always {@link PRESTO_VIEW_CATALOG}. */
  catalog: string;
  /** The Glue database; unqualified table and view names in the SQL resolve against it. */
  schema: string;
  /** Output columns with Presto types. */
  columns: { name: string; type: string }[];
}

/** Arguments of {@link createAthenaViews}. */
export interface AthenaViewsArgs {
  /** Glue database of the views (and of the tables they read). */
  databaseName: pulumi.Input<string>;
  /** The tables the views read; every view is created after them and deleted before them. */
  tables: pulumi.Resource[];
}

/** The definition of a view: its SQL without whole-line comments, the database and the Presto-typed columns. */
export function prestoViewDefinition(sql: string, database: string, columns: readonly ViewColumn[]): PrestoViewDefinition {
  return {
    originalSql: stripLineComments(sql),
    catalog: PRESTO_VIEW_CATALOG,
    schema: database,
    columns: columns.map((c) => ({ name: c.name, type: PRESTO_TYPES[c.type] })),
  };
}

/** A view's original text as Athena stores it: the base64 of the JSON inside a `Presto View:` block comment. */
export function encodePrestoView(definition: PrestoViewDefinition): string {
  return VIEW_TEXT_PREFIX + Buffer.from(JSON.stringify(definition), "utf8").toString("base64") + VIEW_TEXT_SUFFIX;
}

/** The definition inside a view's original text; throws if the text is not in Athena's form. */
export function decodePrestoView(text: string): PrestoViewDefinition {
  if (!text.startsWith(VIEW_TEXT_PREFIX) || !text.endsWith(VIEW_TEXT_SUFFIX)) {
    throw new Error(`not an Athena view text (expected "${VIEW_TEXT_PREFIX}<base64>${VIEW_TEXT_SUFFIX}"): ${text.slice(0, 40)}`);
  }
  const base64 = text.slice(VIEW_TEXT_PREFIX.length, -VIEW_TEXT_SUFFIX.length);
  return JSON.parse(Buffer.from(base64, "base64").toString("utf8")) as PrestoViewDefinition;
}

/**
 * Creates every view of `sql/views` as a child of `parent`, named `${name}-<view name with dashes>`, each
 * after the lake tables and after the views its SQL reads (explicit `dependsOn`). Returns them by view name.
 */
export function createAthenaViews(name: string, args: AthenaViewsArgs, parent: pulumi.Resource): Record<string, aws.glue.CatalogTable> {
  // Loaded here, not at the top: importing the library must not load DuckDB's native binding.
  const schemas = pulumi.output(import("../local/duckdbEngine").then((engine) => engine.deriveViewSchemas()));
  const views: Record<string, aws.glue.CatalogTable> = {};
  for (const view of viewsInDependencyOrder()) {
    const columns = schemas.apply((all) => columnsOf(all, view.name));
    views[view.name] = new aws.glue.CatalogTable(
      `${name}-${view.name.replace(/_/g, "-")}`,
      {
        name: view.name,
        databaseName: args.databaseName,
        description: descriptionOf(view.sql),
        tableType: "VIRTUAL_VIEW",
        parameters: { ...PRESTO_VIEW_PARAMETERS },
        viewOriginalText: pulumi
          .all([args.databaseName, columns])
          .apply(([database, cols]) => encodePrestoView(prestoViewDefinition(view.sql, database, cols))),
        viewExpandedText: PRESTO_VIEW_EXPANDED_TEXT,
        storageDescriptor: {
          columns: columns.apply((cols) => cols.map((c) => ({ name: c.name, type: c.type }))),
          serDeInfo: { ...VIEW_SERDE_INFO },
        },
      },
      { parent, dependsOn: [...args.tables, ...viewDependencies(view.name).map((dependency) => views[dependency])] },
    );
  }
  return views;
}

function columnsOf(schemas: readonly ViewSchema[], view: string): ViewColumn[] {
  const schema = schemas.find((s) => s.name === view);
  if (schema === undefined || schema.columns.length === 0) throw new Error(`DuckDB derived no columns for view ${view}`);
  return schema.columns;
}

/** The first paragraph of the SQL's leading `--` comment, as one line. */
function descriptionOf(sql: string): string {
  const paragraph: string[] = [];
  for (const line of sql.split("\n")) {
    const comment = /^\s*--\s?(.*)$/.exec(line);
    if (comment === null || comment[1].trim() === "") break;
    paragraph.push(comment[1].trim());
  }
  return paragraph.join(" ").slice(0, DESCRIPTION_MAX);
}
