/**
 * AnalyticsLayer under Pulumi mocks: storage hardening and result expiry, the Glue database and tables
 * (columns, SerDe, projection agreeing with the paths the real writers produce), the Athena workgroup,
 * the INSERT template in SSM, the transform's exact IAM statements (with what Athena does on its behalf:
 * the default database, partitions, multipart uploads, KMS) and its optional Lake Formation grants,
 * function, schedule and queues, the views' wiring, tags, outputs and argument checks.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
  AnalyticsLayer,
  AnalyticsLayerArgs,
  DEFAULT_BYTES_SCANNED_CUTOFF,
  DEFAULT_TRANSFORM_TIMEOUT_SECONDS,
  SSM_STANDARD_TIER_MAX_BYTES,
  ssmTierFor,
} from "../components/analyticsLayer";
import { DEFAULT_LAKE_FORMATION_PERMISSIONS } from "../components/athenaAccess";
import { ATHENA_ENGINE_VERSION } from "../components/athenaWorkgroup";
import {
  JSON_SERDE,
  PARQUET_INPUT_FORMAT,
  PARQUET_OUTPUT_FORMAT,
  PARQUET_SERDE,
  TEXT_INPUT_FORMAT,
  TEXT_OUTPUT_FORMAT,
} from "../components/glueTables";
import { WILDCARD_ONLY_ACTIONS } from "../components/iam";
import { LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, SCHEDULED_TIME_INPUT } from "../components/scheduledFunction";
import { HourPartition, hourPrefix, partitionPath, partitionStart, processedKey } from "../functions/partitions";
import { PARTITION_COLUMNS, PROCESSED_COLUMNS } from "../functions/schema";
import { athenaInsertTemplate, viewsInDependencyOrder } from "../functions/sqlFiles";
import { fillPlaceholders, HOUR_PLACEHOLDERS, placeholdersIn, renderTemplate } from "../functions/sqlTemplate";
import { TRANSFORM_ENV } from "../functions/transformHandler";
import { DuckDbEngine } from "../local/duckdbEngine";
import { makeTempDir, removeTempDir } from "./helpers/factories";
import {
  installPulumiMocks,
  MOCK_ACCOUNT_ID,
  MOCK_KMS_KEY_ARN,
  MOCK_REGION,
  MOCK_TAGS,
  policyOf,
  promiseOf,
  recordDependencies,
  RESOURCE_TYPES as T,
  stringField,
} from "./helpers/pulumiMocks";
import { analyticsFiles, simulateInto } from "./helpers/simulatedLake";

/** The parts of a recorded workgroup's `configuration` these tests read. */
interface WorkgroupConfiguration {
  bytesScannedCutoffPerQuery: number;
  resultConfiguration: { outputLocation: string; encryptionConfiguration: unknown };
}

const mocks = installPulumiMocks();
/** The account's default EventBridge bus in the mocked account and region. */
const DEFAULT_EVENT_BUS_ARN = `arn:aws:events:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:event-bus/default`;
// A function serialization error makes a mocked deployment hang instead of failing.
jest.setTimeout(90_000);
afterAll(() => pulumi.runtime.disconnect());

const ARCHIVE = "lake-archive-1a2b3c4";
const ARCHIVE_ARN = `arn:aws:s3:::${ARCHIVE}`;

/** The hour values as projection placeholders receive them: decimal, unpadded. */
const placeholderValues = (p: HourPartition): Record<string, string> =>
  Object.fromEntries(HOUR_PLACEHOLDERS.map((name) => [name, String(p[name])]));

const tableParameters = (name: string): Record<string, string> => mocks.one(T.table, name).inputs.parameters as Record<string, string>;

const deps = recordDependencies();
let layer: AnalyticsLayer;

beforeAll(async () => {
  layer = new AnalyticsLayer(
    "analytics",
    { archiveBucketName: ARCHIVE, archiveBucketArn: ARCHIVE_ARN, tags: MOCK_TAGS },
    { transformations: [deps.transformation] },
  );
  new AnalyticsLayer("kmsanalytics", {
    archiveBucketName: pulumi.output(ARCHIVE),
    archiveBucketArn: pulumi.output(ARCHIVE_ARN),
    kmsKeyArn: MOCK_KMS_KEY_ARN,
    databaseName: "crypto_kms",
    projectionYearFrom: 2025,
    projectionYearTo: pulumi.output(2030),
    lookbackHours: 6,
    bytesScannedCutoffPerQuery: 100 * 1024 ** 2,
    queryResultsExpirationDays: 3,
    timeoutSeconds: 300,
    pipelineName: "pipe-kms",
    metricsNamespace: "Crypto/Test",
    lakeFormationPermissions: true,
  });
  await mocks.settled();
});

describe("storage", () => {
  test.each(["analytics-analytics", "analytics-query-results"])(
    "%s: private, ACL-free, SSE-S3 without SSE-C, versioned, TLS-only",
    (name) => {
      const bucket = mocks.one(T.bucket, name);
      expect(bucket.inputs).toEqual({ forceDestroy: false, tags: MOCK_TAGS });
      expect(mocks.one(T.publicAccess, `${name}-public-access`).inputs).toEqual({
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      expect(mocks.one(T.ownership, `${name}-ownership`).inputs.rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
      expect(mocks.one(T.encryption, `${name}-encryption`).inputs.rules).toEqual([
        { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, blockedEncryptionTypes: ["SSE-C"] },
      ]);
      expect(mocks.one(T.versioning, `${name}-versioning`).inputs.versioningConfiguration).toEqual({ status: "Enabled" });
      const sids = policyOf(mocks.one(T.bucketPolicy, `${name}-policy`)).Statement.map((s) => s.Sid);
      expect(sids).toEqual(["DenyInsecureTransport", "DenyOutdatedTls"]);
    },
  );

  test("query results expire after 7 days, their old versions after 1, and unfinished uploads are aborted after 1", () => {
    expect(mocks.one(T.lifecycle, "analytics-query-results-lifecycle").inputs.rules).toEqual([
      {
        id: "expire-noncurrent-versions",
        status: "Enabled",
        filter: {},
        noncurrentVersionExpiration: { noncurrentDays: 1 },
        expiration: { expiredObjectDeleteMarker: true },
      },
      {
        id: "abort-incomplete-multipart-uploads",
        status: "Enabled",
        filter: {},
        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
      },
      { id: "expire-query-results", status: "Enabled", filter: { prefix: "query-results/" }, expiration: { days: 7 } },
    ]);
    const kmsRules = mocks.one(T.lifecycle, "kmsanalytics-query-results-lifecycle").inputs.rules as Record<string, unknown>[];
    expect(kmsRules[2]).toEqual({
      id: "expire-query-results",
      status: "Enabled",
      filter: { prefix: "query-results/" },
      expiration: { days: 3 },
    });
  });

  test("analytics data never expires: only the housekeeping rules", () => {
    const rules = mocks.one(T.lifecycle, "analytics-analytics-lifecycle").inputs.rules as { id: string }[];
    expect(rules.map((r) => r.id)).toEqual(["expire-noncurrent-versions", "abort-incomplete-multipart-uploads"]);
  });

  test("with kmsKeyArn both buckets use SSE-KMS with a Bucket Key", () => {
    for (const name of ["kmsanalytics-analytics", "kmsanalytics-query-results"]) {
      expect(mocks.one(T.encryption, `${name}-encryption`).inputs.rules).toEqual([
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: MOCK_KMS_KEY_ARN },
          bucketKeyEnabled: true,
          blockedEncryptionTypes: ["SSE-C"],
        },
      ]);
    }
  });
});

describe("Glue database and tables", () => {
  test("database crypto_data by default, the given name otherwise", () => {
    expect(mocks.one(T.database, "analytics-database").inputs).toEqual({
      name: "crypto_data",
      description: "CoinGecko analytics lake of pipeline analytics-test",
      tags: MOCK_TAGS,
    });
    expect(mocks.one(T.database, "kmsanalytics-database").inputs.name).toBe("crypto_kms");
  });

  const typed = PROCESSED_COLUMNS.map((c) => ({ name: c.name, type: c.type, comment: c.comment }));
  const partitionKeys = PARTITION_COLUMNS.map((c) => ({ name: c.name, type: "int", comment: c.comment }));

  test.each([
    [
      "analytics-processed-prices-raw",
      "processed_prices_raw",
      PROCESSED_COLUMNS.map((c) => ({ name: c.name, type: "string", comment: c.comment })),
    ],
    ["analytics-processed-prices", "processed_prices", typed],
  ])("%s: JSON over processed/, columns in file order", (resourceName, tableName, columns) => {
    const table = mocks.one(T.table, resourceName);
    expect(table.inputs).toMatchObject({ name: tableName, databaseName: "crypto_data", tableType: "EXTERNAL_TABLE", partitionKeys });
    expect(table.inputs.storageDescriptor).toEqual({
      location: `s3://${ARCHIVE}/processed/`,
      inputFormat: TEXT_INPUT_FORMAT,
      outputFormat: TEXT_OUTPUT_FORMAT,
      columns,
      serDeInfo: { name: "json", serializationLibrary: JSON_SERDE, parameters: { "ignore.malformed.json": "true" } },
    });
    expect(JSON_SERDE).toBe("org.openx.data.jsonserde.JsonSerDe");
    expect(tableParameters(resourceName)).toMatchObject({ EXTERNAL: "TRUE", classification: "json" });
  });

  test("analytics_prices: Parquet (SNAPPY) over the analytics bucket, typed columns", () => {
    const analyticsBucket = stringField(mocks.one(T.bucket, "analytics-analytics"), "bucket");
    const table = mocks.one(T.table, "analytics-analytics-prices");
    expect(table.inputs).toMatchObject({
      name: "analytics_prices",
      databaseName: "crypto_data",
      tableType: "EXTERNAL_TABLE",
      partitionKeys,
    });
    expect(table.inputs.storageDescriptor).toEqual({
      location: `s3://${analyticsBucket}/analytics/`,
      inputFormat: PARQUET_INPUT_FORMAT,
      outputFormat: PARQUET_OUTPUT_FORMAT,
      columns: typed,
      serDeInfo: { name: "parquet", serializationLibrary: PARQUET_SERDE, parameters: { "serialization.format": "1" } },
    });
    expect([PARQUET_SERDE, PARQUET_INPUT_FORMAT, PARQUET_OUTPUT_FORMAT]).toEqual([
      "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
      "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
      "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    ]);
    expect(tableParameters("analytics-analytics-prices")).toMatchObject({
      EXTERNAL: "TRUE",
      classification: "parquet",
      "parquet.compression": "SNAPPY",
    });
  });

  test.each(["analytics-processed-prices-raw", "analytics-processed-prices", "analytics-analytics-prices"])(
    "%s: integer projection without digits, bounded years, template = location + unpadded hour path",
    (name) => {
      const parameters = tableParameters(name);
      const location = (mocks.one(T.table, name).inputs.storageDescriptor as { location: string }).location;
      const projection = Object.fromEntries(
        Object.entries(parameters).filter(([key]) => key.startsWith("projection.") || key.startsWith("storage.")),
      );
      expect(projection).toEqual({
        "projection.enabled": "true",
        "projection.year.type": "integer",
        "projection.year.range": "2024,2035",
        "projection.month.type": "integer",
        "projection.month.range": "1,12",
        "projection.day.type": "integer",
        "projection.day.range": "1,31",
        "projection.hour.type": "integer",
        "projection.hour.range": "0,23",
        "storage.location.template": `${location}year=\${year}/month=\${month}/day=\${day}/hour=\${hour}/`,
      });
      expect(Object.keys(parameters).filter((key) => key.includes("digits") || key.includes("format"))).toEqual([]);
    },
  );

  test("the year range is an argument", () => {
    expect(tableParameters("kmsanalytics-analytics-prices")["projection.year.range"]).toBe("2025,2030");
  });
});

describe("projection agrees with the writers' paths", () => {
  // Single-digit and two-digit months, days and hours, and both ends of a year.
  const hours: HourPartition[] = [
    { year: 2024, month: 9, day: 3, hour: 7 },
    { year: 2024, month: 12, day: 31, hour: 23 },
    { year: 2025, month: 1, day: 1, hour: 0 },
    { year: 2035, month: 10, day: 10, hour: 10 },
  ];
  const template = (name: string): string => tableParameters(name)["storage.location.template"];

  test.each(hours)("processed hour %o: the projected location is where the ingest writes that hour's snapshots", (p) => {
    const rendered = fillPlaceholders(template("analytics-processed-prices-raw"), placeholderValues(p));
    expect(rendered).toBe(`s3://${ARCHIVE}/${hourPrefix("processed", p)}`);
    expect(fillPlaceholders(template("analytics-processed-prices"), placeholderValues(p))).toBe(rendered);
    // A snapshot anywhere in the hour is keyed under exactly that prefix.
    for (const offset of [0, 1799, 3599]) {
      const key = processedKey(partitionStart(p) + offset);
      expect(`s3://${ARCHIVE}/${path.posix.dirname(key)}/`).toBe(rendered);
    }
  });

  test.each(hours)("analytics hour %o: the projected location is the table location + the Hive path INSERT INTO writes", (p) => {
    const analyticsBucket = stringField(mocks.one(T.bucket, "analytics-analytics"), "bucket");
    expect(fillPlaceholders(template("analytics-analytics-prices"), placeholderValues(p))).toBe(
      `s3://${analyticsBucket}/analytics/${partitionPath(p)}/`,
    );
  });

  test("padded paths do not match: month=09 is a different location", () => {
    const rendered = fillPlaceholders(template("analytics-processed-prices-raw"), placeholderValues(hours[0]));
    expect(rendered).not.toContain("month=09");
    expect(rendered).toContain("/month=9/day=3/hour=7/");
  });

  test("files the real ingest and the local DuckDB insert write sit exactly at the projected locations", async () => {
    const lake = makeTempDir("analytics-layout-");
    try {
      const written = [hours[0], hours[1]];
      for (const p of written) await simulateInto(lake, { from: partitionStart(p), to: partitionStart(p) + 600, every: 300, coins: 4 });
      const engine = await DuckDbEngine.open(lake);
      try {
        for (const p of written) await engine.execute(engine.renderInsert(p));
      } finally {
        engine.close();
      }
      const analyticsBucket = stringField(mocks.one(T.bucket, "analytics-analytics"), "bucket");
      const projected = (name: string, bucket: string) =>
        written.map((p) => fillPlaceholders(template(name), placeholderValues(p)).slice(`s3://${bucket}/`.length)).sort();

      const parquetDirs = [...new Set(analyticsFiles(lake).map((f) => `${path.dirname(f).split(path.sep).join("/")}/`))].sort();
      expect(parquetDirs).toEqual(projected("analytics-analytics-prices", analyticsBucket));

      const processedDirs = [
        ...new Set(written.flatMap((p) => [0, 300, 600].map((s) => path.posix.dirname(processedKey(partitionStart(p) + s)) + "/"))),
      ].sort();
      expect(processedDirs).toEqual(projected("analytics-processed-prices-raw", ARCHIVE));
      for (const dir of processedDirs) expect(fs.readdirSync(path.join(lake, dir))).toHaveLength(3); // three snapshots per hour
      // Every value the writers used lies inside the range the tables project.
      const parameters = tableParameters("analytics-analytics-prices");
      for (const p of written) {
        for (const name of HOUR_PLACEHOLDERS) {
          const [from, to] = parameters[`projection.${name}.range`].split(",").map(Number);
          expect(p[name]).toBeGreaterThanOrEqual(from);
          expect(p[name]).toBeLessThanOrEqual(to);
        }
      }
    } finally {
      removeTempDir(lake);
    }
  });
});

describe("Athena workgroup", () => {
  test("engine 3, enforced settings, encrypted result location in the results bucket, scan cutoff, CloudWatch metrics", () => {
    const results = stringField(mocks.one(T.bucket, "analytics-query-results"), "bucket");
    const workgroup = mocks.one(T.workgroup, "analytics-workgroup");
    expect(workgroup.inputs).toEqual({
      description: "Queries of pipeline analytics-test",
      state: "ENABLED",
      forceDestroy: false,
      configuration: {
        engineVersion: { selectedEngineVersion: "Athena engine version 3" },
        enforceWorkgroupConfiguration: true,
        publishCloudwatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: DEFAULT_BYTES_SCANNED_CUTOFF,
        requesterPaysEnabled: false,
        resultConfiguration: {
          outputLocation: `s3://${results}/query-results/`,
          expectedBucketOwner: MOCK_ACCOUNT_ID,
          encryptionConfiguration: { encryptionOption: "SSE_S3" },
        },
      },
      tags: MOCK_TAGS,
    });
    expect([ATHENA_ENGINE_VERSION, DEFAULT_BYTES_SCANNED_CUTOFF]).toEqual(["Athena engine version 3", 1073741824]);
  });

  test("no hard-coded name: Pulumi auto-names it from the component name, so two stacks never collide", () => {
    expect(mocks.one(T.workgroup, "analytics-workgroup").inputs.name).toBeUndefined();
    expect(stringField(mocks.one(T.workgroup, "analytics-workgroup"), "name")).toMatch(/^analytics-workgroup-/);
  });

  test("with kmsKeyArn results are SSE-KMS with that key; the cutoff is an argument", () => {
    const configuration = mocks.one(T.workgroup, "kmsanalytics-workgroup").inputs.configuration as WorkgroupConfiguration;
    expect(configuration.resultConfiguration.encryptionConfiguration).toEqual({ encryptionOption: "SSE_KMS", kmsKeyArn: MOCK_KMS_KEY_ARN });
    expect(configuration.bytesScannedCutoffPerQuery).toBe(104857600);
  });
});

describe("INSERT template in SSM", () => {
  const hour: HourPartition = { year: 2024, month: 9, day: 3, hour: 7 };

  test("a plain String parameter on the Standard tier holding the Athena template", () => {
    const parameter = mocks.one(T.parameter, "analytics-insert-template");
    expect(parameter.inputs).toEqual({
      type: "String",
      tier: "Standard",
      insecureValue: athenaInsertTemplate(),
      description: "Hourly INSERT INTO analytics_prices template of pipeline analytics-test",
      tags: MOCK_TAGS,
    });
    expect(Buffer.byteLength(parameter.inputs.insecureValue as string)).toBeLessThanOrEqual(SSM_STANDARD_TIER_MAX_BYTES);
  });

  test("it holds only the hour placeholders and renders an hour exactly as sqlTemplate renders the SQL files", () => {
    const value = mocks.one(T.parameter, "analytics-insert-template").inputs.insecureValue as string;
    expect([...new Set(placeholdersIn(value))].sort()).toEqual([...HOUR_PLACEHOLDERS].sort());
    const rendered = renderTemplate(value, hour);
    expect(rendered).toBe(renderTemplate(athenaInsertTemplate(), hour));
    expect(rendered).not.toContain("${");
    expect(rendered).toContain("r.year = 2024");
    expect(rendered).toContain("r.month = 9");
    expect(rendered).toContain("a.hour = 7");
    expect(value.split("\n").filter((line) => line.trimStart().startsWith("--"))).toEqual([]);
  });

  test("it names the tables this layer creates, which resolve in the database the function passes to Athena", () => {
    const value = mocks.one(T.parameter, "analytics-insert-template").inputs.insecureValue as string;
    const tableNames = mocks
      .ofType(T.table)
      .filter((t) => t.name.startsWith("analytics-") && t.inputs.tableType === "EXTERNAL_TABLE")
      .map((t) => t.inputs.name as string);
    expect(value).toMatch(new RegExp(`^INSERT INTO ${tableNames.find((n) => n === "analytics_prices")}\\n`));
    expect(value).toContain("FROM processed_prices_raw AS r");
    expect(value).toContain("FROM analytics_prices AS a");
    expect(tableNames.sort()).toEqual(["analytics_prices", "processed_prices", "processed_prices_raw"]);
    const env = (mocks.one(T.fn, "analytics-transform-function").inputs.environment as { variables: Record<string, string> }).variables;
    expect(env[TRANSFORM_ENV.database]).toBe(mocks.one(T.database, "analytics-database").inputs.name);
  });

  test.each<[string, string, "Standard" | "Advanced"]>([
    ["exactly 4096 bytes", "x".repeat(4096), "Standard"],
    ["4097 bytes", "x".repeat(4097), "Advanced"],
    ["4096 characters but more bytes", "é".repeat(2048) + "x", "Advanced"],
  ])("tier for %s: %s", (_label, value, tier) => {
    expect(ssmTierFor(value)).toBe(tier);
  });
});

describe("transform role: exact statements", () => {
  const arns = (prefix: string) => {
    const analytics = stringField(mocks.one(T.bucket, `${prefix}-analytics`), "arn");
    const results = stringField(mocks.one(T.bucket, `${prefix}-query-results`), "arn");
    const database = mocks.one(T.database, `${prefix}-database`).inputs.name as string;
    return {
      analytics,
      results,
      database,
      workgroup: stringField(mocks.one(T.workgroup, `${prefix}-workgroup`), "arn"),
      parameter: stringField(mocks.one(T.parameter, `${prefix}-insert-template`), "arn"),
      logGroup: stringField(mocks.one(T.logGroup, `${prefix}-transform-logs`), "arn"),
      failures: stringField(mocks.one(T.queue, `${prefix}-transform-failures`), "arn"),
      glue: (kind: string) => `arn:aws:glue:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:${kind}`,
    };
  };

  test("Athena on its workgroup, Glue on its database and tables, S3 on its prefixes, the one parameter, own logs and queue", () => {
    const a = arns("analytics");
    const glue = a.glue;
    expect(policyOf(mocks.one(T.rolePolicy, "analytics-transform-role-policy")).Statement).toEqual([
      {
        Sid: "RunQueriesInWorkgroup",
        Effect: "Allow",
        Action: ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution"],
        Resource: [a.workgroup],
      },
      {
        Sid: "ReadAthenaDefaultDatabase",
        Effect: "Allow",
        Action: ["glue:GetDatabase"],
        Resource: [glue("catalog"), glue("database/default")],
      },
      {
        Sid: "ReadLakeTables",
        Effect: "Allow",
        Action: ["glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions"],
        Resource: [
          glue("catalog"),
          glue("database/crypto_data"),
          glue("table/crypto_data/processed_prices_raw"),
          glue("table/crypto_data/analytics_prices"),
        ],
      },
      {
        Sid: "AddAnalyticsPartitions",
        Effect: "Allow",
        Action: ["glue:BatchCreatePartition", "glue:UpdatePartition"],
        Resource: [glue("catalog"), glue("database/crypto_data"), glue("table/crypto_data/analytics_prices")],
      },
      {
        Sid: "ListProcessedSnapshots",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: [ARCHIVE_ARN],
        Condition: { StringLike: { "s3:prefix": "processed/*" } },
      },
      { Sid: "LocateArchiveBucket", Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: [ARCHIVE_ARN] },
      { Sid: "ReadProcessedSnapshots", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${ARCHIVE_ARN}/processed/*`] },
      {
        Sid: "UseAnalyticsBucket",
        Effect: "Allow",
        Action: ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
        Resource: [a.analytics],
      },
      {
        Sid: "WriteAnalyticsData",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        Resource: [`${a.analytics}/analytics/*`],
      },
      {
        Sid: "TrackTransformedHours",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject"],
        Resource: [`${a.analytics}/manifests/transform/*`],
      },
      {
        Sid: "UseQueryResultsBucket",
        Effect: "Allow",
        Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
        Resource: [a.results],
      },
      {
        Sid: "WriteQueryResults",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        Resource: [`${a.results}/query-results/*`],
      },
      { Sid: "ReadInsertTemplate", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [a.parameter] },
      { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${a.logGroup}:*`] },
      { Sid: "SendToFailureDestination", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [a.failures] },
      { Sid: "SendToSuccessDestination", Effect: "Allow", Action: ["events:PutEvents"], Resource: [DEFAULT_EVENT_BUS_ARN] },
    ]);
    // The mocked ARNs follow AWS's formats, so the statements above name the real resources.
    expect(a.workgroup).toBe(
      `arn:aws:athena:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:workgroup/${stringField(mocks.one(T.workgroup, "analytics-workgroup"), "name")}`,
    );
    expect(a.database).toBe("crypto_data");
  });

  test("the workgroup's result location lies inside the prefix the role may write", () => {
    const a = arns("analytics");
    const outputLocation = (mocks.one(T.workgroup, "analytics-workgroup").inputs.configuration as WorkgroupConfiguration)
      .resultConfiguration.outputLocation;
    const resultsBucket = stringField(mocks.one(T.bucket, "analytics-query-results"), "bucket");
    expect(`${a.results}/${outputLocation.slice(`s3://${resultsBucket}/`.length)}*`).toBe(`${a.results}/query-results/*`);
  });

  test("with a customer-managed key: decrypt the archive and use the key for analytics and results, only through S3", () => {
    const a = arns("kmsanalytics");
    const statements = policyOf(mocks.one(T.rolePolicy, "kmsanalytics-transform-role-policy")).Statement;
    expect(statements.filter((s) => (s.Action as string[]).some((action) => action.startsWith("kms:")))).toEqual([
      {
        Sid: "DecryptSnapshots",
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: [MOCK_KMS_KEY_ARN],
        Condition: {
          StringEquals: { "kms:ViaService": `s3.${MOCK_REGION}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": ARCHIVE_ARN },
        },
      },
      {
        Sid: "UseAnalyticsKey",
        Effect: "Allow",
        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
        Resource: [MOCK_KMS_KEY_ARN],
        Condition: {
          StringEquals: {
            "kms:ViaService": `s3.${MOCK_REGION}.amazonaws.com`,
            "kms:EncryptionContext:aws:s3:arn": [a.analytics, a.results],
          },
        },
      },
    ]);
    const defaultActions = policyOf(mocks.one(T.rolePolicy, "analytics-transform-role-policy")).Statement.flatMap(
      (s) => s.Action as string[],
    );
    expect(defaultActions.filter((action) => action.startsWith("kms:"))).toEqual([]);
    expect(statements.find((s) => s.Sid === "AddAnalyticsPartitions")?.Resource).toContain(a.glue("table/crypto_kms/analytics_prices"));
  });

  test("with Lake Formation: Lake Formation's credential request, the one statement on `*` (the action has no resource type)", () => {
    const statements = policyOf(mocks.one(T.rolePolicy, "kmsanalytics-transform-role-policy")).Statement;
    expect(statements.filter((s) => [s.Resource].flat().includes("*"))).toEqual([
      { Sid: "RequestLakeFormationCredentials", Effect: "Allow", Action: ["lakeformation:GetDataAccess"], Resource: ["*"] },
    ]);
    const withoutLakeFormation = policyOf(mocks.one(T.rolePolicy, "analytics-transform-role-policy")).Statement.flatMap(
      (s) => s.Action as string[],
    );
    expect(withoutLakeFormation.filter((action) => action.startsWith("lakeformation:"))).toEqual([]);
  });

  test("no Allow anywhere in the layer has a wildcard action, nor the * resource beyond actions without a resource type, and nothing may delete objects", () => {
    const documents = [
      ...mocks.ofType(T.rolePolicy).map((r) => policyOf(r)),
      ...mocks.ofType(T.role).map((r) => policyOf(r, "assumeRolePolicy")),
      ...mocks.ofType(T.bucketPolicy).map((r) => policyOf(r)),
      ...mocks.ofType(T.queuePolicy).map((r) => policyOf(r)),
    ];
    const statements = documents.flatMap((d) => d.Statement);
    const allows = statements.filter((s) => s.Effect === "Allow");
    expect(allows.length).toBeGreaterThan(30);
    for (const s of allows) {
      for (const action of [s.Action].flat() as string[]) expect(action).not.toContain("*");
      if ([s.Resource ?? []].flat().includes("*")) expect(WILDCARD_ONLY_ACTIONS).toEqual(expect.arrayContaining([s.Action].flat()));
    }
    const actions = statements.flatMap((s) => [s.Action].flat() as string[]);
    expect(actions.filter((action) => /^s3:Delete/.test(action))).toEqual([]);
  });
});

describe("transform function, schedule and queues", () => {
  test("nodejs22.x on arm64, 600 s, 256 MB, its own role and the serialized handler", () => {
    const fn = mocks.one(T.fn, "analytics-transform-function");
    expect(fn.inputs).toMatchObject({
      runtime: LAMBDA_RUNTIME,
      architectures: [LAMBDA_ARCHITECTURE],
      timeout: DEFAULT_TRANSFORM_TIMEOUT_SECONDS,
      memorySize: 256,
      handler: "__index.handler",
      role: stringField(mocks.one(T.role, "analytics-transform-role"), "arn"),
      tags: MOCK_TAGS,
    });
    expect(DEFAULT_TRANSFORM_TIMEOUT_SECONDS).toBe(600);
    expect(mocks.one(T.fn, "kmsanalytics-transform-function").inputs.timeout).toBe(300);
  });

  test("environment: bucket names, workgroup, database, parameter name, lookback, pipeline, namespace", () => {
    const env = (mocks.one(T.fn, "analytics-transform-function").inputs.environment as { variables: Record<string, string> }).variables;
    expect(env).toEqual({
      [TRANSFORM_ENV.archiveBucket]: ARCHIVE,
      [TRANSFORM_ENV.analyticsBucket]: stringField(mocks.one(T.bucket, "analytics-analytics"), "bucket"),
      [TRANSFORM_ENV.workGroup]: stringField(mocks.one(T.workgroup, "analytics-workgroup"), "name"),
      [TRANSFORM_ENV.database]: "crypto_data",
      [TRANSFORM_ENV.templateParameter]: stringField(mocks.one(T.parameter, "analytics-insert-template"), "name"),
      [TRANSFORM_ENV.lookbackHours]: "24",
      [TRANSFORM_ENV.pipeline]: "analytics-test",
      [TRANSFORM_ENV.namespace]: "CryptoAnalytics",
    });
    const kmsEnv = (mocks.one(T.fn, "kmsanalytics-transform-function").inputs.environment as { variables: Record<string, string> })
      .variables;
    expect(kmsEnv).toMatchObject({
      [TRANSFORM_ENV.lookbackHours]: "6",
      [TRANSFORM_ENV.pipeline]: "pipe-kms",
      [TRANSFORM_ENV.namespace]: "Crypto/Test",
      [TRANSFORM_ENV.database]: "crypto_kms",
    });
  });

  test("hourly at :05 UTC, no flexible window, retries, DLQ and the scheduled-time input", () => {
    expect(mocks.one(T.schedule, "analytics-transform-schedule").inputs).toMatchObject({
      groupName: stringField(mocks.one(T.scheduleGroup, "analytics-transform-schedule-group"), "name"),
      scheduleExpression: "cron(5 * * * ? *)",
      scheduleExpressionTimezone: "UTC",
      flexibleTimeWindow: { mode: "OFF" },
      target: {
        arn: stringField(mocks.one(T.fn, "analytics-transform-function"), "arn"),
        roleArn: stringField(mocks.one(T.role, "analytics-transform-scheduler-role"), "arn"),
        input: SCHEDULED_TIME_INPUT,
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
        deadLetterConfig: { arn: stringField(mocks.one(T.queue, "analytics-transform-dlq"), "arn") },
      },
    });
  });

  test("async invoke config: 2 retries, the failure queue as on-failure destination, the default event bus as on-success destination; both queues accept only their sender", () => {
    // The success records on the default bus are what Dashboards' SPICE refresh follows.
    expect(mocks.one(T.invokeConfig, "analytics-transform-invoke-config").inputs).toEqual({
      functionName: mocks.one(T.fn, "analytics-transform-function").inputs.name,
      maximumRetryAttempts: 2,
      maximumEventAgeInSeconds: 3600,
      destinationConfig: {
        onFailure: { destination: stringField(mocks.one(T.queue, "analytics-transform-failures"), "arn") },
        onSuccess: { destination: DEFAULT_EVENT_BUS_ARN },
      },
    });
    for (const [queue, sender] of [
      ["analytics-transform-dlq", "analytics-transform-scheduler-role"],
      ["analytics-transform-failures", "analytics-transform-role"],
    ]) {
      const statements = policyOf(mocks.one(T.queuePolicy, `${queue}-policy`)).Statement;
      expect(statements[0]).toEqual({
        Sid: "AllowSender",
        Effect: "Allow",
        Principal: { AWS: stringField(mocks.one(T.role, sender), "arn") },
        Action: ["sqs:SendMessage"],
        Resource: [stringField(mocks.one(T.queue, queue), "arn")],
      });
    }
  });

  test("the function is created after its role policy, which names the tables, workgroup and template", () => {
    expect(deps.dependsOn(T.fn, "analytics-transform-function")).toEqual(
      expect.arrayContaining([`${T.rolePolicy} analytics-transform-role-policy`, `${T.logGroup} analytics-transform-logs`]),
    );
  });
});

describe("Lake Formation grants (lakeFormationPermissions)", () => {
  const LF = "aws:lakeformation/permissions:Permissions";

  test("off by default: no grant", () => {
    expect(DEFAULT_LAKE_FORMATION_PERMISSIONS).toBe(false);
    expect(mocks.resourcesOf("analytics").filter((r) => r.type === LF)).toEqual([]);
  });

  test("on: the transform role may describe the database, read processed_prices_raw and read, insert into and alter analytics_prices; nothing else", () => {
    const role = stringField(mocks.one(T.role, "kmsanalytics-transform-role"), "arn");
    const grants = mocks.resourcesOf("kmsanalytics").filter((r) => r.type === LF);
    expect(Object.fromEntries(grants.map((g) => [g.name, g.inputs]))).toEqual({
      "kmsanalytics-transform-role-lf-database": { principal: role, permissions: ["DESCRIBE"], database: { name: "crypto_kms" } },
      "kmsanalytics-transform-role-lf-processed-prices-raw": {
        principal: role,
        permissions: ["SELECT", "DESCRIBE"],
        table: { databaseName: "crypto_kms", name: "processed_prices_raw" },
      },
      "kmsanalytics-transform-role-lf-analytics-prices": {
        principal: role,
        permissions: ["SELECT", "INSERT", "ALTER", "DESCRIBE"],
        table: { databaseName: "crypto_kms", name: "analytics_prices" },
      },
    });
  });
});

describe("views", () => {
  test("one VIRTUAL_VIEW per SQL file, in the layer's database, created in dependency order", async () => {
    const ordered = viewsInDependencyOrder().map((v) => v.name);
    const views = mocks.ofType(T.table).filter((t) => t.name.startsWith("analytics-v-"));
    expect(views.map((v) => v.inputs.name).sort()).toEqual([...ordered].sort());
    for (const view of views) expect(view.inputs).toMatchObject({ databaseName: "crypto_data", tableType: "VIRTUAL_VIEW" });
    expect(await promiseOf(layer.viewNames)).toEqual(ordered);
  });

  test("every view waits for the three lake tables", () => {
    for (const view of viewsInDependencyOrder()) {
      expect(deps.dependsOn(T.table, `analytics-${view.name.replace(/_/g, "-")}`)).toEqual(
        expect.arrayContaining([
          `${T.table} analytics-processed-prices-raw`,
          `${T.table} analytics-processed-prices`,
          `${T.table} analytics-analytics-prices`,
        ]),
      );
    }
  });
});

describe("outputs and tags", () => {
  test("outputs point at the resources they name", async () => {
    const fn = mocks.one(T.fn, "analytics-transform-function");
    expect(await promiseOf(layer.analyticsBucketName)).toBe(stringField(mocks.one(T.bucket, "analytics-analytics"), "bucket"));
    expect(await promiseOf(layer.analyticsBucketArn)).toBe(stringField(mocks.one(T.bucket, "analytics-analytics"), "arn"));
    expect(await promiseOf(layer.resultsBucketName)).toBe(stringField(mocks.one(T.bucket, "analytics-query-results"), "bucket"));
    expect(await promiseOf(layer.resultsBucketArn)).toBe(stringField(mocks.one(T.bucket, "analytics-query-results"), "arn"));
    expect(await promiseOf(layer.queryResultsLocation)).toBe(
      `s3://${stringField(mocks.one(T.bucket, "analytics-query-results"), "bucket")}/query-results/`,
    );
    expect(await promiseOf(layer.databaseName)).toBe("crypto_data");
    expect(await promiseOf(layer.workGroupName)).toBe(stringField(mocks.one(T.workgroup, "analytics-workgroup"), "name"));
    expect(await promiseOf(layer.workGroupArn)).toBe(stringField(mocks.one(T.workgroup, "analytics-workgroup"), "arn"));
    expect(await promiseOf(layer.processedRawTableName)).toBe("processed_prices_raw");
    expect(await promiseOf(layer.processedTableName)).toBe("processed_prices");
    expect(await promiseOf(layer.analyticsTableName)).toBe("analytics_prices");
    expect(await promiseOf(layer.templateParameterName)).toBe(stringField(mocks.one(T.parameter, "analytics-insert-template"), "name"));
    expect(await promiseOf(layer.transformFunctionName)).toBe(fn.inputs.name);
    expect(await promiseOf(layer.transformFunctionArn)).toBe(stringField(fn, "arn"));
    expect(await promiseOf(layer.transformLogGroupName)).toBe(`/aws/lambda/${fn.inputs.name}`);
    expect(await promiseOf(layer.dlqArn)).toBe(stringField(mocks.one(T.queue, "analytics-transform-dlq"), "arn"));
    expect(await promiseOf(layer.dlqName)).toBe(stringField(mocks.one(T.queue, "analytics-transform-dlq"), "name"));
    expect(await promiseOf(layer.failureQueueArn)).toBe(stringField(mocks.one(T.queue, "analytics-transform-failures"), "arn"));
    expect(await promiseOf(layer.failureQueueName)).toBe(stringField(mocks.one(T.queue, "analytics-transform-failures"), "name"));
    expect(await promiseOf(layer.pipelineName)).toBe("analytics-test");
    expect(await promiseOf(layer.metricsNamespace)).toBe("CryptoAnalytics");
  });

  test("every taggable resource carries the tags; untagged ones are types AWS cannot tag", () => {
    const custom = mocks.resourcesOf("analytics").filter((r) => r.type.startsWith("aws:"));
    const tagged = custom.filter((r) => r.inputs.tags !== undefined);
    for (const r of tagged) expect(r.inputs.tags).toEqual(MOCK_TAGS);
    expect(new Set(tagged.map((r) => r.type))).toEqual(
      new Set([T.bucket, T.database, T.workgroup, T.parameter, T.role, T.logGroup, T.fn, T.queue, T.scheduleGroup]),
    );
    expect(new Set(custom.filter((r) => r.inputs.tags === undefined).map((r) => r.type))).toEqual(
      new Set([
        T.publicAccess,
        T.ownership,
        T.encryption,
        T.versioning,
        T.lifecycle,
        T.bucketPolicy,
        T.table,
        T.rolePolicy,
        T.queuePolicy,
        T.invokeConfig,
        T.schedule,
      ]),
    );
  });
});

describe("argument checks: a clear error before any AWS resource exists", () => {
  const base: AnalyticsLayerArgs = { archiveBucketName: ARCHIVE, archiveBucketArn: ARCHIVE_ARN };
  let counter = 0;

  test.each<[string, Partial<AnalyticsLayerArgs>, RegExp]>([
    ["upper-case database", { databaseName: "Crypto_Data" }, /databaseName must be lower_snake/],
    ["database with a dash", { databaseName: "crypto-data" }, /databaseName must be lower_snake/],
    ["database starting with a digit", { databaseName: "1crypto" }, /databaseName must be lower_snake/],
    ["projection before 2009", { projectionYearFrom: 2008 }, /projectionYearFrom must be an integer from 2009 to 2100, got 2008/],
    ["projection after 2100", { projectionYearTo: 2101 }, /projectionYearTo must be an integer from 2009 to 2100, got 2101/],
    [
      "projection years reversed",
      { projectionYearFrom: 2030, projectionYearTo: 2025 },
      /projectionYearFrom \(2030\) must not be after projectionYearTo \(2025\)/,
    ],
    ["lookback 0", { lookbackHours: 0 }, /lookbackHours must be an integer from 1 to 168, got 0/],
    ["lookback above a week", { lookbackHours: 169 }, /lookbackHours must be an integer from 1 to 168/],
    ["fractional lookback", { lookbackHours: 1.5 }, /lookbackHours must be an integer/],
    [
      "cutoff below Athena's 10 MB",
      { bytesScannedCutoffPerQuery: 1_000_000 },
      /bytesScannedCutoffPerQuery must be an integer from 10485760/,
    ],
    ["results kept 0 days", { queryResultsExpirationDays: 0 }, /queryResultsExpirationDays must be an integer from 1 to 36500/],
    [
      "timeout inside the deadline margin",
      { timeoutSeconds: 30 },
      /timeoutSeconds \(the handler keeps 15 s back\) must be an integer from 60 to 900, got 30/,
    ],
    ["timeout above 15 minutes", { timeoutSeconds: 901 }, /timeoutSeconds .* must be an integer from 60 to 900/],
    [
      "schedule prose",
      { scheduleExpression: "hourly" },
      /scheduleExpression must be like "rate\(5 minutes\)" or "cron\(5 \* \* \* \? \*\)"/,
    ],
    ["memory below 128 MB", { memoryMb: 64 }, /memoryMb must be an integer from 128 to 10240/],
    ["retention CloudWatch refuses", { logRetentionDays: 10 }, /logRetentionDays must be one of 1, 3, 5/],
    ["3 async retries", { maxRetryAttempts: 3 }, /maxRetryAttempts must be an integer from 0 to 2/],
    ["AWS/ metrics namespace", { metricsNamespace: "AWS/Athena" }, /metricsNamespace must be a CloudWatch namespace/],
    ["pipeline name with spaces", { pipelineName: "my pipeline" }, /pipelineName must be 1-128 letters/],
  ])("%s", async (_label, bad, message) => {
    counter += 1;
    const name = `bad${counter}`;
    expect(() => new AnalyticsLayer(name, { ...base, ...bad })).toThrow(message);
    await mocks.settled();
    expect(mocks.resourcesOf(name).filter((r) => r.type.startsWith("aws:"))).toEqual([]);
  });

  test("errors name the component", () => {
    expect(() => new AnalyticsLayer("named", { ...base, lookbackHours: 0 })).toThrow(/^AnalyticsLayer "named": lookbackHours/);
  });
});
