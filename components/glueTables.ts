/**
 * The three lake tables in the Glue catalog, with partition projection that matches the paths their
 * writers produce. Every writer (the ingest function for `processed/`, Athena `INSERT INTO` and the local
 * DuckDB insert for `analytics/`) writes unpadded Hive paths (`year=2024/month=9/day=3/hour=7`), so the
 * projections are plain integer ranges with no `digits`, and each `storage.location.template` is the
 * table location followed by exactly that path.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LAKE_PREFIXES } from "../functions/partitions";
import { ColumnDef, LAKE_TABLES, PARTITION_COLUMNS, PROCESSED_COLUMNS } from "../functions/schema";

/** First year the tables project. */
export const DEFAULT_PROJECTION_YEAR_FROM = 2024;
/** Last year the tables project (a bounded range keeps unbounded queries from enumerating centuries). */
export const DEFAULT_PROJECTION_YEAR_TO = 2035;

/** Projected values of the partitions below the year: the UTC calendar, unpadded. */
export const PROJECTION_RANGES = {
  month: [1, 12],
  day: [1, 31],
  hour: [0, 23],
} as const;

/** OpenX JSON SerDe: reads the processed NDJSON (gzip by file extension) for both JSON tables. */
export const JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe";
/**
 * SerDe parameters of the JSON tables: a malformed line reads as a row of nulls instead of failing the
 * whole query (the transform drops rows without an id).
 */
export const JSON_SERDE_PARAMETERS: Readonly<Record<string, string>> = Object.freeze({ "ignore.malformed.json": "true" });
/** Input format of text (NDJSON) tables. */
export const TEXT_INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat";
/** Output format of text (NDJSON) tables. */
export const TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";
/** Parquet SerDe of analytics_prices. */
export const PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";
/** Input format of Parquet tables. */
export const PARQUET_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
/** Output format of Parquet tables. */
export const PARQUET_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
/** Compression Athena's `INSERT INTO` uses for analytics_prices (Athena's own Parquet default is GZIP). */
export const PARQUET_COMPRESSION = "SNAPPY";

/**
 * `year=${year}/month=${month}/day=${day}/hour=${hour}`: the Hive path of an hour with each partition
 * column as a projection placeholder, in PARTITION_COLUMNS order (the order every writer uses).
 */
export const HOUR_PATH_TEMPLATE = PARTITION_COLUMNS.map((c) => `${c.name}=\${${c.name}}`).join("/");

/** Where the lake tables live and how far the year projection reaches. */
export interface LakeTablesArgs {
  /** Glue database of the tables. */
  databaseName: pulumi.Input<string>;
  /** Bucket holding `processed/` (IngestLake's archive). */
  archiveBucketName: pulumi.Input<string>;
  /** Bucket holding `analytics/`. */
  analyticsBucketName: pulumi.Input<string>;
  /** First projected year (already checked by the caller). */
  projectionYearFrom: pulumi.Input<number>;
  /** Last projected year (already checked by the caller). */
  projectionYearTo: pulumi.Input<number>;
}

/** The three lake tables. */
export interface LakeTables {
  /** `processed_prices_raw`: processed NDJSON, every column a string (the transform's source). */
  processedRaw: aws.glue.CatalogTable;
  /** `processed_prices`: the same files, typed. */
  processed: aws.glue.CatalogTable;
  /** `analytics_prices`: hourly Parquet written by the transform. */
  analytics: aws.glue.CatalogTable;
}

/** `s3://<bucket>/<prefix>/`: a table's location. */
export function tableLocation(bucketName: pulumi.Input<string>, prefix: string): pulumi.Output<string> {
  return pulumi.interpolate`s3://${bucketName}/${prefix}/`;
}

/**
 * Table parameters turning on partition projection: integer projections (no `digits`, so values are
 * unpadded) and a location template equal to `location` + {@link HOUR_PATH_TEMPLATE} + `/`.
 */
export function projectionParameters(
  location: pulumi.Input<string>,
  yearFrom: pulumi.Input<number>,
  yearTo: pulumi.Input<number>,
): Record<string, pulumi.Input<string>> {
  const range = (from: pulumi.Input<number>, to: pulumi.Input<number>): pulumi.Output<string> => pulumi.interpolate`${from},${to}`;
  return {
    "projection.enabled": "true",
    "projection.year.type": "integer",
    "projection.year.range": range(yearFrom, yearTo),
    "projection.month.type": "integer",
    "projection.month.range": range(...PROJECTION_RANGES.month),
    "projection.day.type": "integer",
    "projection.day.range": range(...PROJECTION_RANGES.day),
    "projection.hour.type": "integer",
    "projection.hour.range": range(...PROJECTION_RANGES.hour),
    "storage.location.template": pulumi.interpolate`${location}${HOUR_PATH_TEMPLATE}/`,
  };
}

/**
 * Creates the three lake tables as children of `parent`, named `${name}-processed-prices-raw`,
 * `${name}-processed-prices` and `${name}-analytics-prices`.
 */
export function createLakeTables(name: string, args: LakeTablesArgs, parent: pulumi.Resource): LakeTables {
  const processedLocation = tableLocation(args.archiveBucketName, LAKE_PREFIXES.processed);
  const analyticsLocation = tableLocation(args.analyticsBucketName, LAKE_PREFIXES.analytics);
  const projection = (location: pulumi.Output<string>) => projectionParameters(location, args.projectionYearFrom, args.projectionYearTo);
  const jsonTable = (tableName: string, columns: readonly ColumnDef[], description: string): aws.glue.CatalogTable =>
    new aws.glue.CatalogTable(
      `${name}-${tableName.replace(/_/g, "-")}`,
      {
        name: tableName,
        databaseName: args.databaseName,
        description,
        tableType: "EXTERNAL_TABLE",
        parameters: { EXTERNAL: "TRUE", classification: "json", ...projection(processedLocation) },
        partitionKeys: glueColumns(PARTITION_COLUMNS),
        storageDescriptor: {
          location: processedLocation,
          inputFormat: TEXT_INPUT_FORMAT,
          outputFormat: TEXT_OUTPUT_FORMAT,
          columns: glueColumns(columns),
          serDeInfo: { name: "json", serializationLibrary: JSON_SERDE, parameters: { ...JSON_SERDE_PARAMETERS } },
        },
      },
      { parent },
    );

  const processedRaw = jsonTable(
    LAKE_TABLES.processedRaw,
    PROCESSED_COLUMNS.map((c) => ({ ...c, type: "string" as const })),
    "Processed CoinGecko snapshots (NDJSON.gz), every column as text; the transform types them with TRY_CAST",
  );
  const processed = jsonTable(LAKE_TABLES.processed, PROCESSED_COLUMNS, "Processed CoinGecko snapshots (NDJSON.gz), typed");
  const analytics = new aws.glue.CatalogTable(
    `${name}-${LAKE_TABLES.analytics.replace(/_/g, "-")}`,
    {
      name: LAKE_TABLES.analytics,
      databaseName: args.databaseName,
      description: "Typed, deduplicated snapshots as hourly Parquet, appended by the transform (Athena INSERT INTO)",
      tableType: "EXTERNAL_TABLE",
      parameters: {
        EXTERNAL: "TRUE",
        classification: "parquet",
        "parquet.compression": PARQUET_COMPRESSION,
        ...projection(analyticsLocation),
      },
      partitionKeys: glueColumns(PARTITION_COLUMNS),
      storageDescriptor: {
        location: analyticsLocation,
        inputFormat: PARQUET_INPUT_FORMAT,
        outputFormat: PARQUET_OUTPUT_FORMAT,
        columns: glueColumns(PROCESSED_COLUMNS),
        serDeInfo: { name: "parquet", serializationLibrary: PARQUET_SERDE, parameters: { "serialization.format": "1" } },
      },
    },
    { parent },
  );
  return { processedRaw, processed, analytics };
}

/** Glue columns (name, Hive type, comment) of schema columns. */
function glueColumns(columns: readonly ColumnDef[]): { name: string; type: string; comment: string }[] {
  return columns.map((c) => ({ name: c.name, type: c.type, comment: c.comment }));
}
