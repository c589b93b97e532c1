/**
 * Least privilege, proven by evaluation: two whole pipelines (CryptoAnalyticsPipeline with its QuickSight
 * dashboard, as index.ts deploys it; one with SSE-S3, one with a customer-managed KMS key and Lake Formation
 * grants) are built under the Pulumi mocks, every role's policies and every bucket, queue and key policy
 * are extracted (helpers/iamHarness.ts), and concrete requests are decided by a real IAM evaluator, identity and resource
 * policies together, as AWS decides a same-account request.
 *
 * For every role: each request its code makes, and each request AWS makes with its credentials (Athena's
 * metadata API and the `default` database for QuickSight, partition registration and updates for the
 * transform's INSERT, multipart uploads, KMS through S3, Lake Formation's credential request), is Allowed,
 * and each request on its "never" list is denied (the other stack's resources stand in for "another
 * bucket/queue/workgroup/database/parameter/key").
 * Bucket policies refuse plain HTTP and TLS older than 1.2 even for allowed requests. Statically, every
 * wildcard anywhere is listed with its reason; identity policies name `*` only for the actions IAM's data
 * gives no resource type (WILDCARD_ONLY_ACTIONS). Finally the same checks are run against a deliberately
 * over-broad grant, to show they fail when they should.
 */
import * as pulumi from "@pulumi/pulumi";
import { QUERY_RESULTS_PREFIX } from "../components/analyticsLayer";
import { QUICKSIGHT_RESULTS_PREFIX } from "../components/dashboards";
import { WILDCARD_ONLY_ACTIONS } from "../components/iam";
import { CryptoAnalyticsPipeline } from "../components/pipeline";
import { dashboardViews } from "../dashboard/spec";
import { hourPrefix, partitionOf, processedKey, rawKey, rawRequestKey } from "../functions/partitions";
import { manifestKey } from "../functions/transform";
import { Decision, iamHarness, IamHarness, RequestContext, wildcardUses } from "./helpers/iamHarness";
import { installPulumiMocks, MOCK_ACCOUNT_ID, MOCK_REGION, RecordedResource } from "./helpers/pulumiMocks";

const mocks = installPulumiMocks();
// A function serialization error makes a mocked deployment hang instead of failing.
jest.setTimeout(60_000);
afterAll(() => pulumi.runtime.disconnect());

const API_KEY = "CG-h9LeastPrivilegeKey42";
const STACK_KEY_ARN = `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b`;
const OTHER_KEY_ARN = `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:key/99999999-8888-7777-6666-555555555555`;
/** The kms stack brings its own alarm-topic key (the mocks give every created key the same ARN, so only one stack creates one). */
const TOPIC_KEY_ARN = `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:key/77777777-6666-5555-4444-333333333333`;
const OTHER_ACCOUNT_ID = "210987654321";
const SLOT = Date.UTC(2024, 8, 3, 7, 5) / 1000;
const HOUR = partitionOf(SLOT);
const LOG_STREAM = "log-stream:2024/09/03/[$LATEST]0123456789abcdef";

const VIEWER = `arn:aws:quicksight:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:user/default/analyst`;

/** The two stacks: pipeline name (its sub-components share it), database, key and whether Lake Formation governs the catalog. */
const STACKS = {
  plain: { name: "plain", database: "crypto_plain", kmsKeyArn: undefined, alarmTopicKmsKeyArn: undefined, lakeFormation: false },
  kms: { name: "kms", database: "crypto_kms", kmsKeyArn: STACK_KEY_ARN, alarmTopicKmsKeyArn: TOPIC_KEY_ARN, lakeFormation: true },
} as const;
type StackName = keyof typeof STACKS;

/** ARNs of one stack's resources, read from the recorded resources. */
interface StackArns {
  archive: string;
  analytics: string;
  results: string;
  keyParameter: string;
  template: string;
  workGroup: string;
  catalog: string;
  database: string;
  processedRawTable: string;
  processedTable: string;
  analyticsTable: string;
  ingestFunction: string;
  transformFunction: string;
  ingestLogGroup: string;
  transformLogGroup: string;
  ingestFailures: string;
  ingestDlq: string;
  transformFailures: string;
  transformDlq: string;
  ingestScheduleGroup: string;
  transformScheduleGroup: string;
  dashboardWorkGroup: string;
  /** The dashboard's dataset over its first view, and the refresh function's log group and failure queue. */
  dashboardDataSet: string;
  refreshLogGroup: string;
  refreshFailures: string;
  /** The stack's customer-managed key; another key for the plain stack (which may use none). */
  kmsKey: string;
}

/** A role's own stack and the other one. */
interface Arns {
  own: StackArns;
  other: StackArns;
}

/** What a case asks for: resource(s), optionally with context keys. */
type Target = string | string[] | { resource: string | string[]; context: RequestContext };

/** `[what, action, target]`: one request. */
type Case = [what: string, action: string, target: (a: Arns) => Target];

/** One role: who assumes it, what its code needs, what it must never be able to do. */
interface RoleSpec {
  /** Logical name of the `aws:iam/role:Role`. */
  role: string;
  stack: StackName;
  /** The only service principal its trust policy admits. */
  assumedBy: string;
  /** Schedule group whose schedules alone may assume it (scheduler roles). */
  sourceArn?: (a: Arns) => string;
  needs: Case[];
  never: Case[];
}

const T = {
  bucket: "aws:s3/bucket:Bucket",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  parameter: "aws:ssm/parameter:Parameter",
  workgroup: "aws:athena/workgroup:Workgroup",
  database: "aws:glue/catalogDatabase:CatalogDatabase",
  table: "aws:glue/catalogTable:CatalogTable",
  fn: "aws:lambda/function:Function",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  queue: "aws:sqs/queue:Queue",
  scheduleGroup: "aws:scheduler/scheduleGroup:ScheduleGroup",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  key: "aws:kms/key:Key",
  dataSet: "aws-native:quicksight:DataSet",
} as const;

const object = (bucketArn: string, key: string): string => `${bucketArn}/${key}`;
const viaS3 = (bucketArn: string): RequestContext => ({
  "kms:ViaService": `s3.${MOCK_REGION}.amazonaws.com`,
  "kms:EncryptionContext:aws:s3:arn": bucketArn,
});
const glue = (s: StackArns, table?: string): string[] => [s.catalog, s.database, ...(table === undefined ? [] : [table])];
/** The Region's `default` database with its catalog, which Athena reads before any query. */
const defaultDatabase = (s: StackArns): string[] => [s.catalog, `${s.catalog.replace(/:catalog$/, "")}:database/default`];
/** Athena's name for the Glue Data Catalog (QuickSight's data source reads it through Athena's metadata API), and another catalog. */
const DATA_CATALOG = `arn:aws:athena:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:datacatalog/AwsDataCatalog`;
const OTHER_DATA_CATALOG = `arn:aws:athena:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:datacatalog/federated_catalog`;
/** The only resource of actions without a resource type (IAM's WILDCARD_ONLY_ACTIONS). */
const ANY = "*";
/** Lake Formation's credential request: needed where it governs the catalog, refused elsewhere. */
const lakeFormationCase: Case = ["request Lake Formation credentials for Athena", "lakeformation:GetDataAccess", () => ANY];
const ANALYTICS_FILE = `${hourPrefix("analytics", HOUR)}20240903_070512_00011_abcde_0f1e2d3c.parquet`;
const RESULT_FILE = `${QUERY_RESULTS_PREFIX}/1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b.csv`;

/** Requests every role makes through ScheduledFunction: its logs and its failure destination. */
const functionBasics = (logGroup: (s: StackArns) => string, failures: (s: StackArns) => string): Case[] => [
  ["create a stream in its log group", "logs:CreateLogStream", (a) => `${logGroup(a.own)}:${LOG_STREAM}`],
  ["write log events there", "logs:PutLogEvents", (a) => `${logGroup(a.own)}:${LOG_STREAM}`],
  ["send a failed event to its on-failure destination", "sqs:SendMessage", (a) => failures(a.own)],
];

/** Requests no role may ever make. */
const neverAnyone: Case[] = [
  ["pass a role", "iam:PassRole", (a) => `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${a.own.ingestFunction.split(":").pop()}`],
  ["create a role", "iam:CreateRole", () => `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/escalate`],
  ["attach a policy to a role", "iam:AttachRolePolicy", () => `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/escalate`],
  ["write a parameter", "ssm:PutParameter", (a) => a.own.keyParameter],
  ["delete the archive bucket", "s3:DeleteBucket", (a) => a.own.archive],
  ["replace the archive's bucket policy", "s3:PutBucketPolicy", (a) => a.own.archive],
  ["read the other stack's analytics data", "s3:GetObject", (a) => object(a.other.analytics, ANALYTICS_FILE)],
  ["use another key", "kms:Decrypt", (a) => ({ resource: OTHER_KEY_ARN, context: viaS3(a.own.archive) })],
  ["change a function's code", "lambda:UpdateFunctionCode", (a) => a.own.ingestFunction],
  ["send to the other stack's queues", "sqs:SendMessage", (a) => a.other.ingestFailures],
  ["read messages of its own queues", "sqs:ReceiveMessage", (a) => a.own.ingestFailures],
  [
    "write another function's logs",
    "logs:PutLogEvents",
    () => `arn:aws:logs:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:log-group:/aws/lambda/other:${LOG_STREAM}`,
  ],
];

function ingestRole(stack: StackName): RoleSpec {
  const kms = STACKS[stack].kmsKeyArn !== undefined;
  return {
    role: `${STACKS[stack].name}-ingest-role`,
    stack,
    assumedBy: "lambda.amazonaws.com",
    needs: [
      ["write a raw page", "s3:PutObject", (a) => object(a.own.archive, rawKey(SLOT))],
      ["write the request record", "s3:PutObject", (a) => object(a.own.archive, rawRequestKey(SLOT))],
      ["write a processed snapshot", "s3:PutObject", (a) => object(a.own.archive, processedKey(SLOT))],
      ["read back a raw page an earlier delivery wrote", "s3:GetObject", (a) => object(a.own.archive, rawKey(SLOT))],
      ["read its CoinGecko key", "ssm:GetParameter", (a) => a.own.keyParameter],
      ...functionBasics(
        (s) => s.ingestLogGroup,
        (s) => s.ingestFailures,
      ),
      ...(kms
        ? ([
            [
              "encrypt archive objects with its key, through S3",
              "kms:GenerateDataKey",
              (a) => ({ resource: a.own.kmsKey, context: viaS3(a.own.archive) }),
            ],
            ["decrypt archive objects, through S3", "kms:Decrypt", (a) => ({ resource: a.own.kmsKey, context: viaS3(a.own.archive) })],
            [
              "decrypt its key parameter, through SSM",
              "kms:Decrypt",
              (a) => ({
                resource: a.own.kmsKey,
                context: {
                  "kms:ViaService": `ssm.${MOCK_REGION}.amazonaws.com`,
                  "kms:EncryptionContext:PARAMETER_ARN": a.own.keyParameter,
                },
              }),
            ],
          ] satisfies Case[])
        : []),
    ],
    never: [
      ...neverAnyone,
      ["delete a raw page", "s3:DeleteObject", (a) => object(a.own.archive, rawKey(SLOT))],
      ["delete a version of a processed snapshot", "s3:DeleteObjectVersion", (a) => object(a.own.archive, processedKey(SLOT))],
      ["write under analytics/ of the archive", "s3:PutObject", (a) => object(a.own.archive, ANALYTICS_FILE)],
      ["write at the archive's root", "s3:PutObject", (a) => object(a.own.archive, "snapshot.json")],
      ["write under a prefix that only starts like raw", "s3:PutObject", (a) => object(a.own.archive, `raw.bak/${SLOT}.json`)],
      ["read processed snapshots (it only writes them)", "s3:GetObject", (a) => object(a.own.archive, processedKey(SLOT))],
      ["list the archive", "s3:ListBucket", (a) => a.own.archive],
      ["write into the analytics bucket", "s3:PutObject", (a) => object(a.own.analytics, ANALYTICS_FILE)],
      ["write into the other stack's archive", "s3:PutObject", (a) => object(a.other.archive, rawKey(SLOT))],
      ["read the other stack's key", "ssm:GetParameter", (a) => a.other.keyParameter],
      ["read the INSERT template", "ssm:GetParameter", (a) => a.own.template],
      ["overwrite its key", "ssm:PutParameter", (a) => a.own.keyParameter],
      ["query Athena", "athena:StartQueryExecution", (a) => a.own.workGroup],
      ["read the catalog", "glue:GetTable", (a) => glue(a.own, a.own.processedRawTable)],
      ["invoke the transform", "lambda:InvokeFunction", (a) => a.own.transformFunction],
      ["send to its schedule's DLQ", "sqs:SendMessage", (a) => a.own.ingestDlq],
      ["write the transform's logs", "logs:PutLogEvents", (a) => `${a.own.transformLogGroup}:${LOG_STREAM}`],
      ["use its key outside S3 and SSM", "kms:Decrypt", (a) => ({ resource: a.own.kmsKey, context: {} })],
      ["decrypt analytics data with its key", "kms:Decrypt", (a) => ({ resource: a.own.kmsKey, context: viaS3(a.own.analytics) })],
      // It never queries through Athena, so it needs neither Athena's default database nor Lake Formation.
      ["read Athena's default database", "glue:GetDatabase", (a) => defaultDatabase(a.own)],
      lakeFormationCase,
    ],
  };
}

function transformRole(stack: StackName): RoleSpec {
  const kms = STACKS[stack].kmsKeyArn !== undefined;
  const athena = (action: string): Case => [`${action.split(":")[1]} in its workgroup`, action, (a) => a.own.workGroup];
  return {
    role: `${STACKS[stack].name}-transform-role`,
    stack,
    assumedBy: "lambda.amazonaws.com",
    needs: [
      athena("athena:StartQueryExecution"),
      athena("athena:GetQueryExecution"),
      athena("athena:GetQueryResults"),
      athena("athena:StopQueryExecution"),
      ["read its database", "glue:GetDatabase", (a) => glue(a.own)],
      ["read the Region's default database, as Athena does before every query", "glue:GetDatabase", (a) => defaultDatabase(a.own)],
      ["read processed_prices_raw", "glue:GetTable", (a) => glue(a.own, a.own.processedRawTable)],
      ["read analytics_prices", "glue:GetTable", (a) => glue(a.own, a.own.analyticsTable)],
      ["read partitions of processed_prices_raw", "glue:GetPartitions", (a) => glue(a.own, a.own.processedRawTable)],
      ["read partitions of analytics_prices", "glue:GetPartitions", (a) => glue(a.own, a.own.analyticsTable)],
      ["look up the hour an INSERT writes", "glue:GetPartition", (a) => glue(a.own, a.own.analyticsTable)],
      ["register the new hour an INSERT writes", "glue:BatchCreatePartition", (a) => glue(a.own, a.own.analyticsTable)],
      ["update an hour a late INSERT adds files to", "glue:UpdatePartition", (a) => glue(a.own, a.own.analyticsTable)],
      [
        "list an hour of processed snapshots",
        "s3:ListBucket",
        (a) => ({ resource: a.own.archive, context: { "s3:prefix": hourPrefix("processed", HOUR) } }),
      ],
      ["locate the archive bucket", "s3:GetBucketLocation", (a) => a.own.archive],
      ["read a processed snapshot", "s3:GetObject", (a) => object(a.own.archive, processedKey(SLOT))],
      ["write analytics Parquet", "s3:PutObject", (a) => object(a.own.analytics, ANALYTICS_FILE)],
      ["read analytics Parquet", "s3:GetObject", (a) => object(a.own.analytics, ANALYTICS_FILE)],
      ["abort an analytics multipart upload", "s3:AbortMultipartUpload", (a) => object(a.own.analytics, ANALYTICS_FILE)],
      ["list the parts of an analytics multipart upload", "s3:ListMultipartUploadParts", (a) => object(a.own.analytics, ANALYTICS_FILE)],
      ["list the analytics bucket's multipart uploads", "s3:ListBucketMultipartUploads", (a) => a.own.analytics],
      ["locate the analytics bucket", "s3:GetBucketLocation", (a) => a.own.analytics],
      ["write an hour's manifest", "s3:PutObject", (a) => object(a.own.analytics, manifestKey(HOUR))],
      ["read an hour's manifest", "s3:GetObject", (a) => object(a.own.analytics, manifestKey(HOUR))],
      [
        "list manifests (a missing one is a 404, not a 403)",
        "s3:ListBucket",
        (a) => ({ resource: a.own.analytics, context: { "s3:prefix": manifestKey(HOUR) } }),
      ],
      ["write query results", "s3:PutObject", (a) => object(a.own.results, RESULT_FILE)],
      ["read query results", "s3:GetObject", (a) => object(a.own.results, RESULT_FILE)],
      ["abort a query-result multipart upload", "s3:AbortMultipartUpload", (a) => object(a.own.results, RESULT_FILE)],
      ["list the parts of a query-result multipart upload", "s3:ListMultipartUploadParts", (a) => object(a.own.results, RESULT_FILE)],
      ["list the results bucket's multipart uploads", "s3:ListBucketMultipartUploads", (a) => a.own.results],
      ["locate the results bucket", "s3:GetBucketLocation", (a) => a.own.results],
      ["read the INSERT template", "ssm:GetParameter", (a) => a.own.template],
      ...functionBasics(
        (s) => s.transformLogGroup,
        (s) => s.transformFailures,
      ),
      ...(kms
        ? ([
            ["decrypt processed snapshots, through S3", "kms:Decrypt", (a) => ({ resource: a.own.kmsKey, context: viaS3(a.own.archive) })],
            [
              "encrypt analytics files, through S3",
              "kms:GenerateDataKey",
              (a) => ({ resource: a.own.kmsKey, context: viaS3(a.own.analytics) }),
            ],
            [
              "decrypt analytics files (reads and multipart completion), through S3",
              "kms:Decrypt",
              (a) => ({ resource: a.own.kmsKey, context: viaS3(a.own.analytics) }),
            ],
            [
              "encrypt query results, through S3",
              "kms:GenerateDataKey",
              (a) => ({ resource: a.own.kmsKey, context: viaS3(a.own.results) }),
            ],
            ["decrypt query results, through S3", "kms:Decrypt", (a) => ({ resource: a.own.kmsKey, context: viaS3(a.own.results) })],
          ] satisfies Case[])
        : []),
      ...(STACKS[stack].lakeFormation ? [lakeFormationCase] : []),
    ],
    never: [
      ...neverAnyone,
      ["read the CoinGecko key", "ssm:GetParameter", (a) => a.own.keyParameter],
      ["overwrite the INSERT template", "ssm:PutParameter", (a) => a.own.template],
      ["write a raw page", "s3:PutObject", (a) => object(a.own.archive, rawKey(SLOT))],
      ["write a processed snapshot", "s3:PutObject", (a) => object(a.own.archive, processedKey(SLOT))],
      ["read raw pages", "s3:GetObject", (a) => object(a.own.archive, rawKey(SLOT))],
      ["list raw/", "s3:ListBucket", (a) => ({ resource: a.own.archive, context: { "s3:prefix": "raw/" } })],
      ["list the whole archive", "s3:ListBucket", (a) => a.own.archive],
      ["delete a processed snapshot", "s3:DeleteObject", (a) => object(a.own.archive, processedKey(SLOT))],
      ["delete analytics Parquet", "s3:DeleteObject", (a) => object(a.own.analytics, ANALYTICS_FILE)],
      ["delete a manifest", "s3:DeleteObject", (a) => object(a.own.analytics, manifestKey(HOUR))],
      ["write at the analytics bucket's root", "s3:PutObject", (a) => object(a.own.analytics, "x.parquet")],
      ["write outside query-results/ in the results bucket", "s3:PutObject", (a) => object(a.own.results, "elsewhere/x.csv")],
      ["write the other stack's analytics", "s3:PutObject", (a) => object(a.other.analytics, ANALYTICS_FILE)],
      ["read the other stack's processed snapshots", "s3:GetObject", (a) => object(a.other.archive, processedKey(SLOT))],
      ["query in the other stack's workgroup", "athena:StartQueryExecution", (a) => a.other.workGroup],
      [
        "query in the primary workgroup",
        "athena:StartQueryExecution",
        () => `arn:aws:athena:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:workgroup/primary`,
      ],
      ["reconfigure its workgroup", "athena:UpdateWorkGroup", (a) => a.own.workGroup],
      ["delete its workgroup", "athena:DeleteWorkGroup", (a) => a.own.workGroup],
      ["read the other stack's database", "glue:GetTable", (a) => glue(a.other, a.other.processedRawTable)],
      ["add partitions in the other stack's database", "glue:BatchCreatePartition", (a) => glue(a.other, a.other.analyticsTable)],
      ["add partitions to processed_prices_raw", "glue:BatchCreatePartition", (a) => glue(a.own, a.own.processedRawTable)],
      ["update partitions of processed_prices_raw", "glue:UpdatePartition", (a) => glue(a.own, a.own.processedRawTable)],
      ["update partitions in the other stack's database", "glue:UpdatePartition", (a) => glue(a.other, a.other.analyticsTable)],
      [
        "create a single partition (ALTER TABLE ADD PARTITION; INSERT uses the batch call)",
        "glue:CreatePartition",
        (a) => glue(a.own, a.own.analyticsTable),
      ],
      ["batch-update partitions (no INSERT calls it)", "glue:BatchUpdatePartition", (a) => glue(a.own, a.own.analyticsTable)],
      [
        "create a database (Athena's page also lists CreateDatabase on default; nothing here creates one)",
        "glue:CreateDatabase",
        (a) => defaultDatabase(a.own),
      ],
      [
        "read tables of the default database",
        "glue:GetTable",
        (a) => [...defaultDatabase(a.own), `${a.own.catalog.replace(/:catalog$/, "")}:table/default/anything`],
      ],
      ["list multipart uploads of the archive", "s3:ListBucketMultipartUploads", (a) => a.own.archive],
      ["list the data catalogs (only QuickSight's data source does)", "athena:ListDataCatalogs", () => ANY],
      ["delete analytics_prices", "glue:DeleteTable", (a) => glue(a.own, a.own.analyticsTable)],
      ["alter analytics_prices", "glue:UpdateTable", (a) => glue(a.own, a.own.analyticsTable)],
      ["delete partitions", "glue:BatchDeletePartition", (a) => glue(a.own, a.own.analyticsTable)],
      ["create a table", "glue:CreateTable", (a) => glue(a.own)],
      ["delete its database", "glue:DeleteDatabase", (a) => glue(a.own)],
      ["invoke the ingest", "lambda:InvokeFunction", (a) => a.own.ingestFunction],
      ["send to the ingest's failure queue", "sqs:SendMessage", (a) => a.own.ingestFailures],
      ["use its key outside S3", "kms:Decrypt", (a) => ({ resource: a.own.kmsKey, context: {} })],
      [
        "decrypt the other stack's archive with its key",
        "kms:Decrypt",
        (a) => ({ resource: a.own.kmsKey, context: viaS3(a.other.archive) }),
      ],
      ...(STACKS[stack].lakeFormation ? [] : [lakeFormationCase]),
    ],
  };
}

function schedulerRole(stack: StackName, fn: "ingest" | "transform"): RoleSpec {
  const mine = (s: StackArns) =>
    fn === "ingest" ? { fn: s.ingestFunction, dlq: s.ingestDlq } : { fn: s.transformFunction, dlq: s.transformDlq };
  const theirs = (s: StackArns) =>
    fn === "ingest"
      ? { fn: s.transformFunction, dlq: s.transformDlq, failures: s.ingestFailures }
      : { fn: s.ingestFunction, dlq: s.ingestDlq, failures: s.transformFailures };
  return {
    role: `${STACKS[stack].name}-${fn}-scheduler-role`,
    stack,
    assumedBy: "scheduler.amazonaws.com",
    sourceArn: (a) => (fn === "ingest" ? a.own.ingestScheduleGroup : a.own.transformScheduleGroup),
    needs: [
      [`invoke the ${fn} function`, "lambda:InvokeFunction", (a) => mine(a.own).fn],
      ["send an undeliverable event to its DLQ", "sqs:SendMessage", (a) => mine(a.own).dlq],
    ],
    never: [
      ...neverAnyone,
      ["invoke the stack's other function", "lambda:InvokeFunction", (a) => theirs(a.own).fn],
      [`invoke the other stack's ${fn} function`, "lambda:InvokeFunction", (a) => mine(a.other).fn],
      ["send to the other function's DLQ", "sqs:SendMessage", (a) => theirs(a.own).dlq],
      [
        "send to its function's failure queue",
        "sqs:SendMessage",
        (a) => (fn === "ingest" ? a.own.ingestFailures : a.own.transformFailures),
      ],
      ["read the CoinGecko key", "ssm:GetParameter", (a) => a.own.keyParameter],
      ["read anything in the archive", "s3:GetObject", (a) => object(a.own.archive, rawKey(SLOT))],
      ["reconfigure its function", "lambda:UpdateFunctionConfiguration", (a) => mine(a.own).fn],
    ],
  };
}

/** A catalog table or view of a stack's database. */
const tableArn = (s: StackArns, table: string): string => `${s.database.replace(":database/", ":table/")}/${table}`;
const DASHBOARD_VIEW = dashboardViews()[0];
const DASHBOARD_RESULT_FILE = `${QUICKSIGHT_RESULTS_PREFIX}/0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9.csv`;

function quicksightRole(stack: StackName): RoleSpec {
  const kms = STACKS[stack].kmsKeyArn !== undefined;
  const athena = (action: string): Case => [`${action.split(":")[1]} in the dashboard workgroup`, action, (a) => a.own.dashboardWorkGroup];
  return {
    role: `${STACKS[stack].name}-quicksight-role`,
    stack,
    assumedBy: "quicksight.amazonaws.com",
    needs: [
      athena("athena:GetWorkGroup"),
      athena("athena:StartQueryExecution"),
      athena("athena:GetQueryExecution"),
      athena("athena:GetQueryResults"),
      athena("athena:GetQueryResultsStream"),
      athena("athena:StopQueryExecution"),
      ...["athena:GetDataCatalog", "athena:GetDatabase", "athena:GetTableMetadata", "athena:ListTableMetadata", "athena:ListDatabases"].map(
        (action): Case => [`${action.split(":")[1]} on the Glue Data Catalog`, action, () => DATA_CATALOG],
      ),
      ["list the data catalogs (no resource type: *)", "athena:ListDataCatalogs", () => ANY],
      ["list the workgroups (no resource type: *)", "athena:ListWorkGroups", () => ANY],
      ["read its database", "glue:GetDatabase", (a) => glue(a.own)],
      ["read the Region's default database, as Athena does before every query", "glue:GetDatabase", (a) => defaultDatabase(a.own)],
      [`read the definition of ${DASHBOARD_VIEW}`, "glue:GetTable", (a) => glue(a.own, tableArn(a.own, DASHBOARD_VIEW))],
      ["read analytics_prices", "glue:GetTable", (a) => glue(a.own, a.own.analyticsTable)],
      [
        "list an hour of analytics data",
        "s3:ListBucket",
        (a) => ({ resource: a.own.analytics, context: { "s3:prefix": hourPrefix("analytics", HOUR) } }),
      ],
      ["locate the analytics bucket", "s3:GetBucketLocation", (a) => a.own.analytics],
      ["read analytics Parquet", "s3:GetObject", (a) => object(a.own.analytics, ANALYTICS_FILE)],
      ["locate the results bucket", "s3:GetBucketLocation", (a) => a.own.results],
      [
        "list its results",
        "s3:ListBucket",
        (a) => ({ resource: a.own.results, context: { "s3:prefix": `${QUICKSIGHT_RESULTS_PREFIX}/` } }),
      ],
      ["write its query results", "s3:PutObject", (a) => object(a.own.results, DASHBOARD_RESULT_FILE)],
      ["read its query results", "s3:GetObject", (a) => object(a.own.results, DASHBOARD_RESULT_FILE)],
      ["abort a multipart upload of its results", "s3:AbortMultipartUpload", (a) => object(a.own.results, DASHBOARD_RESULT_FILE)],
      [
        "list the parts of a multipart upload of its results",
        "s3:ListMultipartUploadParts",
        (a) => object(a.own.results, DASHBOARD_RESULT_FILE),
      ],
      ["list the results bucket's multipart uploads", "s3:ListBucketMultipartUploads", (a) => a.own.results],
      ...(kms
        ? ([
            ["decrypt analytics data, through S3", "kms:Decrypt", (a) => ({ resource: a.own.kmsKey, context: viaS3(a.own.analytics) })],
            [
              "encrypt its query results, through S3",
              "kms:GenerateDataKey",
              (a) => ({ resource: a.own.kmsKey, context: viaS3(a.own.results) }),
            ],
            [
              "decrypt its query results (SPICE reads them back), through S3",
              "kms:Decrypt",
              (a) => ({ resource: a.own.kmsKey, context: viaS3(a.own.results) }),
            ],
          ] satisfies Case[])
        : []),
      ...(STACKS[stack].lakeFormation ? [lakeFormationCase] : []),
    ],
    never: [
      ...neverAnyone,
      ["write analytics data", "s3:PutObject", (a) => object(a.own.analytics, ANALYTICS_FILE)],
      ["delete analytics data", "s3:DeleteObject", (a) => object(a.own.analytics, ANALYTICS_FILE)],
      ["read transform manifests", "s3:GetObject", (a) => object(a.own.analytics, manifestKey(HOUR))],
      ["list the whole analytics bucket", "s3:ListBucket", (a) => a.own.analytics],
      ["read raw pages", "s3:GetObject", (a) => object(a.own.archive, rawKey(SLOT))],
      ["read processed snapshots", "s3:GetObject", (a) => object(a.own.archive, processedKey(SLOT))],
      ["read the pipeline workgroup's results", "s3:GetObject", (a) => object(a.own.results, RESULT_FILE)],
      ["write outside its result prefix", "s3:PutObject", (a) => object(a.own.results, RESULT_FILE)],
      ["query in the pipeline workgroup", "athena:StartQueryExecution", (a) => a.own.workGroup],
      ["query in the other stack's dashboard workgroup", "athena:StartQueryExecution", (a) => a.other.dashboardWorkGroup],
      ["reconfigure its workgroup", "athena:UpdateWorkGroup", (a) => a.own.dashboardWorkGroup],
      ["read processed_prices_raw (no view reads it)", "glue:GetTable", (a) => glue(a.own, a.own.processedRawTable)],
      ["read processed_prices (no view reads it)", "glue:GetTable", (a) => glue(a.own, a.own.processedTable)],
      ["read the other stack's views", "glue:GetTable", (a) => glue(a.other, tableArn(a.other, DASHBOARD_VIEW))],
      ["add partitions", "glue:BatchCreatePartition", (a) => glue(a.own, a.own.analyticsTable)],
      ["update partitions", "glue:UpdatePartition", (a) => glue(a.own, a.own.analyticsTable)],
      ["read another data catalog's metadata", "athena:GetTableMetadata", () => OTHER_DATA_CATALOG],
      ["list another data catalog's databases", "athena:ListDatabases", () => OTHER_DATA_CATALOG],
      [
        "create a database (Athena's page also lists CreateDatabase on default; nothing here creates one)",
        "glue:CreateDatabase",
        (a) => defaultDatabase(a.own),
      ],
      ["list multipart uploads of the analytics bucket", "s3:ListBucketMultipartUploads", (a) => a.own.analytics],
      ["abort an analytics multipart upload", "s3:AbortMultipartUpload", (a) => object(a.own.analytics, ANALYTICS_FILE)],
      ["list the named queries of its workgroup", "athena:ListNamedQueries", (a) => a.own.dashboardWorkGroup],
      ["alter a view", "glue:UpdateTable", (a) => glue(a.own, tableArn(a.own, DASHBOARD_VIEW))],
      ["delete a view", "glue:DeleteTable", (a) => glue(a.own, tableArn(a.own, DASHBOARD_VIEW))],
      ["read the CoinGecko key", "ssm:GetParameter", (a) => a.own.keyParameter],
      ["read the INSERT template", "ssm:GetParameter", (a) => a.own.template],
      ["invoke a function", "lambda:InvokeFunction", (a) => a.own.transformFunction],
      ["use its key outside S3", "kms:Decrypt", (a) => ({ resource: a.own.kmsKey, context: {} })],
      ["decrypt the archive with its key", "kms:Decrypt", (a) => ({ resource: a.own.kmsKey, context: viaS3(a.own.archive) })],
      ...(STACKS[stack].lakeFormation ? [] : [lakeFormationCase]),
    ],
  };
}

/**
 * Every role the components create. A role missing here fails "every role has an entry"; adding one
 * is one entry: its name, who assumes it, needs and nevers.
 */
/** The SPICE refresh function: starts ingestions of its own datasets (the ingestion id is per event), nothing else. */
function spiceRefreshRole(stack: StackName): RoleSpec {
  const ingestion = (dataSet: string): string => `${dataSet}/ingestion/transform-5b6d2f0e-8c1a-4e7b-9d3f-0a1b2c3d4e5f`;
  return {
    role: `${STACKS[stack].name}-spice-refresh-role`,
    stack,
    assumedBy: "lambda.amazonaws.com",
    needs: [
      ["start a refresh of its dataset", "quicksight:CreateIngestion", (a) => ingestion(a.own.dashboardDataSet)],
      ...functionBasics(
        (s) => s.refreshLogGroup,
        (s) => s.refreshFailures,
      ),
    ],
    never: [
      ...neverAnyone,
      ["refresh the other stack's dataset", "quicksight:CreateIngestion", (a) => ingestion(a.other.dashboardDataSet)],
      ["cancel an ingestion", "quicksight:CancelIngestion", (a) => ingestion(a.own.dashboardDataSet)],
      ["change its dataset", "quicksight:UpdateDataSet", (a) => a.own.dashboardDataSet],
      ["delete its dataset", "quicksight:DeleteDataSet", (a) => a.own.dashboardDataSet],
      ["query Athena", "athena:StartQueryExecution", (a) => a.own.dashboardWorkGroup],
    ],
  };
}

const ROLES: RoleSpec[] = (Object.keys(STACKS) as StackName[]).flatMap((stack) => [
  ingestRole(stack),
  schedulerRole(stack, "ingest"),
  transformRole(stack),
  schedulerRole(stack, "transform"),
  quicksightRole(stack),
  spiceRefreshRole(stack),
]);

/**
 * Every wildcard the recorded policies may hold, as `<policy type> <Sid> <Effect> <element> <value>`, with
 * why it is there. An exact list: a new wildcard anywhere fails until it is listed with its reason.
 * Identity policies (what roles may do) hold none at all.
 */
const JUSTIFIED_WILDCARDS: [use: string, why: string][] = [
  ["BucketPolicy DenyInsecureTransport Deny Action s3:*", "a guard must refuse plain HTTP for every S3 action, also ones added later"],
  ["BucketPolicy DenyOutdatedTls Deny Action s3:*", "a guard must refuse TLS < 1.2 for every S3 action, also ones added later"],
  [
    "Key AccountAdministersKey Allow Action kms:*",
    "AWS's default key statement: the account (its IAM policies) administers the key; without it the key is unmanageable",
  ],
  ["Key AccountAdministersKey Allow Resource *", "in a key policy, * is the key itself"],
  // Narrowing candidate (reported): SNS only calls GenerateDataKey and Decrypt for the publisher.
  [
    "Key CloudWatchAlarmsPublish Allow Action kms:GenerateDataKey*",
    "the statement AWS documents for CloudWatch alarms publishing to an encrypted topic",
  ],
  ["Key CloudWatchAlarmsPublish Allow Resource *", "in a key policy, * is the key itself"],
];

let iam: IamHarness;
const arns = {} as Record<StackName, StackArns>;
const arnsFor = (stack: StackName): Arns => ({ own: arns[stack], other: arns[stack === "plain" ? "kms" : "plain"] });

function arnOf(type: string, name: string): string {
  const arn = mocks.one(type, name).state.arn;
  if (typeof arn !== "string") throw new Error(`${type} ${name} has no ARN`);
  return arn;
}

function stackArns(stack: StackName): StackArns {
  const { name, kmsKeyArn } = STACKS[stack];
  return {
    archive: arnOf(T.bucket, `${name}-archive`),
    analytics: arnOf(T.bucket, `${name}-analytics`),
    results: arnOf(T.bucket, `${name}-query-results`),
    keyParameter: arnOf(T.parameter, `${name}-coingecko-key`),
    template: arnOf(T.parameter, `${name}-insert-template`),
    workGroup: arnOf(T.workgroup, `${name}-workgroup`),
    catalog: `arn:aws:glue:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:catalog`,
    database: arnOf(T.database, `${name}-database`),
    processedRawTable: arnOf(T.table, `${name}-processed-prices-raw`),
    processedTable: arnOf(T.table, `${name}-processed-prices`),
    analyticsTable: arnOf(T.table, `${name}-analytics-prices`),
    ingestFunction: arnOf(T.fn, `${name}-ingest-function`),
    transformFunction: arnOf(T.fn, `${name}-transform-function`),
    ingestLogGroup: arnOf(T.logGroup, `${name}-ingest-logs`),
    transformLogGroup: arnOf(T.logGroup, `${name}-transform-logs`),
    ingestFailures: arnOf(T.queue, `${name}-ingest-failures`),
    ingestDlq: arnOf(T.queue, `${name}-ingest-dlq`),
    transformFailures: arnOf(T.queue, `${name}-transform-failures`),
    transformDlq: arnOf(T.queue, `${name}-transform-dlq`),
    ingestScheduleGroup: arnOf(T.scheduleGroup, `${name}-ingest-schedule-group`),
    transformScheduleGroup: arnOf(T.scheduleGroup, `${name}-transform-schedule-group`),
    dashboardWorkGroup: arnOf(T.workgroup, `${name}-quicksight-workgroup`),
    dashboardDataSet: arnOf(T.dataSet, `${name}-quicksight-${DASHBOARD_VIEW.replace(/_/g, "-")}`),
    refreshLogGroup: arnOf(T.logGroup, `${name}-spice-refresh-logs`),
    refreshFailures: arnOf(T.queue, `${name}-spice-refresh-failures`),
    kmsKey: kmsKeyArn ?? STACK_KEY_ARN,
  };
}

/** Evaluates one case with extra context (e.g. the transport) merged into its own. */
async function decide(h: IamHarness, spec: RoleSpec, [, action, target]: Case, extra: RequestContext = {}): Promise<Decision> {
  const t = target(arnsFor(spec.stack));
  const { resource, context } = typeof t === "object" && !Array.isArray(t) ? t : { resource: t, context: {} };
  return h.can(spec.role, action, resource, { ...context, ...extra });
}

beforeAll(async () => {
  for (const stack of Object.keys(STACKS) as StackName[]) {
    const { name, database, kmsKeyArn, alarmTopicKmsKeyArn, lakeFormation } = STACKS[stack];
    new CryptoAnalyticsPipeline(name, {
      alarmTopicKmsKeyArn,
      lakeFormationPermissions: lakeFormation,
      coingeckoPlan: "demo",
      coingeckoApiKey: pulumi.secret(API_KEY),
      databaseName: database,
      kmsKeyArn,
      quicksightPrincipalArns: [VIEWER],
    });
  }
  await mocks.settled();
  iam = iamHarness(mocks.resources);
  for (const stack of Object.keys(STACKS) as StackName[]) arns[stack] = stackArns(stack);
});

test("every role the components create has an entry in the table, and no entry names a missing role", () => {
  expect([...iam.roles.keys()].sort()).toEqual(ROLES.map((r) => r.role).sort());
});

describe.each(ROLES)("$role", (spec) => {
  test.each(spec.needs)("may %s (%s)", async (...c) => {
    expect(await decide(iam, spec, c)).toBe("Allowed");
  });

  test.each(spec.never)("may never %s (%s)", async (...c) => {
    expect(await decide(iam, spec, c)).not.toBe("Allowed");
  });

  test(`is assumable by ${spec.assumedBy} only${spec.sourceArn ? ", for its own schedule group" : ""}`, async () => {
    const a = arnsFor(spec.stack);
    const own: RequestContext =
      spec.sourceArn === undefined ? {} : { "aws:SourceAccount": MOCK_ACCOUNT_ID, "aws:SourceArn": spec.sourceArn(a) };
    const roleArn = iam.role(spec.role).arn;
    expect(await iam.principalCan(spec.assumedBy, "sts:AssumeRole", roleArn, own)).toBe("Allowed");
    const others = ["lambda.amazonaws.com", "scheduler.amazonaws.com", "events.amazonaws.com", "glue.amazonaws.com"].filter(
      (s) => s !== spec.assumedBy,
    );
    for (const service of others) expect(await iam.principalCan(service, "sts:AssumeRole", roleArn, own)).not.toBe("Allowed");
    expect(await iam.principalCan(`arn:aws:iam::${MOCK_ACCOUNT_ID}:user/someone`, "sts:AssumeRole", roleArn)).not.toBe("Allowed");
    if (spec.sourceArn !== undefined) {
      const otherGroup = { "aws:SourceAccount": MOCK_ACCOUNT_ID, "aws:SourceArn": spec.sourceArn({ own: a.other, other: a.own }) };
      expect(await iam.principalCan(spec.assumedBy, "sts:AssumeRole", roleArn, otherGroup)).not.toBe("Allowed");
      expect(await iam.principalCan(spec.assumedBy, "sts:AssumeRole", roleArn, {})).not.toBe("Allowed");
    }
  });
});

describe("the CoinGecko key", () => {
  test.each(Object.keys(STACKS) as StackName[])("of stack %s is readable by that stack's ingest role and no other role", async (stack) => {
    const readers: string[] = [];
    for (const role of iam.roles.keys()) {
      if ((await iam.can(role, "ssm:GetParameter", arns[stack].keyParameter)) === "Allowed") readers.push(role);
    }
    expect(readers).toEqual([`${STACKS[stack].name}-ingest-role`]);
  });
});

/** Every S3 request a role needs, once per transport that must be refused and once over TLS 1.2. */
const S3_NEEDS = ROLES.flatMap((spec) =>
  spec.needs.filter(([, action]) => action.startsWith("s3:")).map((c) => ({ spec, c, label: `${spec.role} ${c[0]}` })),
);

describe("bucket policies refuse insecure transport, even for requests the role may make", () => {
  test.each(S3_NEEDS)("$label: plain HTTP is explicitly denied", async ({ spec, c }) => {
    expect(await decide(iam, spec, c, { "aws:SecureTransport": "false" })).toBe("ExplicitlyDenied");
  });

  test.each(S3_NEEDS)("$label: TLS 1.0 and 1.1 are explicitly denied, TLS 1.2 is allowed", async ({ spec, c }) => {
    expect(await decide(iam, spec, c, { "s3:TlsVersion": "1.0" })).toBe("ExplicitlyDenied");
    expect(await decide(iam, spec, c, { "s3:TlsVersion": "1.1" })).toBe("ExplicitlyDenied");
    expect(await decide(iam, spec, c, { "s3:TlsVersion": "1.2" })).toBe("Allowed");
  });

  test("every bucket has a policy with both guards", () => {
    const buckets = mocks.ofType(T.bucket).map((b) => b.state.arn);
    expect(
      iam.resourcePolicies
        .filter((p) => p.arn.startsWith("arn:aws:s3:::"))
        .map((p) => p.arn)
        .sort(),
    ).toEqual([...buckets].sort());
    for (const p of iam.resourcePolicies.filter((x) => x.arn.startsWith("arn:aws:s3:::"))) {
      expect(p.policy.document.Statement.map((s) => s.Sid)).toEqual(expect.arrayContaining(["DenyInsecureTransport", "DenyOutdatedTls"]));
    }
  });
});

describe("queues accept only their sender", () => {
  test.each(Object.keys(STACKS) as StackName[])("stack %s: no other role's grant, however broad, reaches a queue", async (stack) => {
    // A role with sqs:SendMessage on every queue (as a careless policy elsewhere in the account would have) is still refused.
    const broad = withExtraRolePolicy(mocks.resources, `${STACKS[stack].name}-transform-role`, {
      Effect: "Allow",
      Action: "sqs:SendMessage",
      Resource: `arn:aws:sqs:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:*`,
    });
    const role = `${STACKS[stack].name}-transform-role`;
    expect(await broad.can(role, "sqs:SendMessage", arns[stack].ingestFailures)).toBe("ExplicitlyDenied");
    expect(await broad.can(role, "sqs:SendMessage", arns[stack].ingestDlq)).toBe("ExplicitlyDenied");
    expect(await broad.can(role, "sqs:SendMessage", arns[stack].transformFailures)).toBe("Allowed");
  });
});

describe("the alarm topic's key", () => {
  const alarmArn = (account: string) => `arn:aws:cloudwatch:${MOCK_REGION}:${account}:alarm:plain-ingest-errors`;
  test("CloudWatch may use it for this account's alarms only", async () => {
    const key = arnOf(T.key, "plain-topic-key");
    const own = { "aws:SourceAccount": MOCK_ACCOUNT_ID, "aws:SourceArn": alarmArn(MOCK_ACCOUNT_ID) };
    expect(await iam.principalCan("cloudwatch.amazonaws.com", "kms:GenerateDataKey", key, own)).toBe("Allowed");
    expect(await iam.principalCan("cloudwatch.amazonaws.com", "kms:Decrypt", key, own)).toBe("Allowed");
    const foreign = { "aws:SourceAccount": OTHER_ACCOUNT_ID, "aws:SourceArn": alarmArn(OTHER_ACCOUNT_ID) };
    expect(await iam.principalCan("cloudwatch.amazonaws.com", "kms:GenerateDataKey", key, foreign)).not.toBe("Allowed");
    expect(await iam.principalCan("cloudwatch.amazonaws.com", "kms:ScheduleKeyDeletion", key, own)).not.toBe("Allowed");
    expect(await iam.principalCan("sns.amazonaws.com", "kms:Decrypt", key, own)).not.toBe("Allowed");
  });

  test("no pipeline role may use it", async () => {
    const key = arnOf(T.key, "plain-topic-key");
    for (const role of iam.roles.keys()) expect(await iam.can(role, "kms:Decrypt", key)).not.toBe("Allowed");
  });
});

describe("wildcards", () => {
  const keyOf = (u: { origin: string; sid: string; effect: string; element: string; value: string }): string =>
    `${u.origin.split(" ")[0]} ${u.sid} ${u.effect} ${u.element} ${u.value}`;

  /** The identity statements on `*`, as `<policy> <Sid>`: QuickSight's two Athena List* calls, and Lake Formation's credential request where it governs the catalog. */
  const UNSCOPED_STATEMENTS = (Object.keys(STACKS) as StackName[]).flatMap((stack) => {
    const { name, lakeFormation } = STACKS[stack];
    return [
      `RolePolicy ${name}-quicksight-role-policy ListCatalogsAndWorkgroups`,
      ...(lakeFormation
        ? [
            `RolePolicy ${name}-transform-role-policy RequestLakeFormationCredentials`,
            `RolePolicy ${name}-quicksight-role-policy RequestLakeFormationCredentials`,
          ]
        : []),
    ];
  });

  test("identity policies hold no `*` or `service:*` action and no Not… element; `*` resources only in the named statements, whose every action has no resource type in IAM's data", async () => {
    const identity = iam.policies().filter((p) => p.kind !== "resource");
    const uses = await wildcardUses(identity);
    expect(uses.filter((u) => u.element !== "Resource")).toEqual([]);
    expect(uses.map((u) => `${u.origin} ${u.sid}`).sort()).toEqual([...UNSCOPED_STATEMENTS].sort());
    // allActionsWildcardOnly is decided by the evaluator from IAM's service authorization data.
    for (const u of uses) expect([u.origin, u.sid, u.allActionsWildcardOnly]).toEqual([u.origin, u.sid, true]);
    const unscopedActions = identity.flatMap((p) =>
      p.document.Statement.filter((st) => [st.Resource].flat().includes("*")).flatMap((st) => [st.Action].flat()),
    );
    expect([...new Set(unscopedActions)].sort()).toEqual([...WILDCARD_ONLY_ACTIONS].sort());
  });

  test("resource and trust policies hold exactly the justified ones", async () => {
    const uses = await wildcardUses(iam.policies().filter((p) => p.kind !== "identity"));
    expect([...new Set(uses.map(keyOf))].sort()).toEqual(JUSTIFIED_WILDCARDS.map(([use]) => use).sort());
    for (const [, why] of JUSTIFIED_WILDCARDS) expect(why.length).toBeGreaterThan(20);
  });

  test("no Allow in any resource policy is for everyone", async () => {
    const uses = await wildcardUses(iam.policies());
    expect(uses.filter((u) => u.element === "Principal")).toEqual([]);
  });
});

describe("the checks can fail", () => {
  const ingest = ROLES.find((r) => r.role === "plain-ingest-role") as RoleSpec;
  const everything = { Sid: "Everything", Effect: "Allow" as const, Action: "s3:*", Resource: "*" };

  test("an over-broad statement (s3:* on *) is reported as wildcards, and as not wildcard-only", async () => {
    const broad = withExtraRolePolicy(mocks.resources, "plain-ingest-role", everything);
    const uses = await wildcardUses(broad.policies().filter((p) => p.origin === "RolePolicy rogue"));
    expect(uses).toEqual([
      expect.objectContaining({ origin: "RolePolicy rogue", sid: "Everything", element: "Action", value: "s3:*" }),
      expect.objectContaining({
        origin: "RolePolicy rogue",
        sid: "Everything",
        element: "Resource",
        value: "*",
        allActionsWildcardOnly: false,
      }),
    ]);
  });

  test("an Allow on `*` of an action that has a resource type (Athena's table metadata) is reported as not wildcard-only", async () => {
    const broad = withExtraRolePolicy(mocks.resources, "plain-quicksight-role", {
      Sid: "AnyCatalog",
      Effect: "Allow",
      Action: "athena:GetTableMetadata",
      Resource: "*",
    });
    const uses = await wildcardUses(broad.policies().filter((p) => p.origin === "RolePolicy rogue"));
    expect(uses).toEqual([expect.objectContaining({ sid: "AnyCatalog", element: "Resource", value: "*", allActionsWildcardOnly: false })]);
    expect(await broad.can("plain-quicksight-role", "athena:GetTableMetadata", OTHER_DATA_CATALOG)).toBe("Allowed");
  });

  test("with it, every S3 request on the ingest role's never list is allowed, so the table would fail", async () => {
    const broad = withExtraRolePolicy(mocks.resources, "plain-ingest-role", everything);
    const s3Nevers = ingest.never.filter(([, action]) => action.startsWith("s3:"));
    expect(s3Nevers.length).toBeGreaterThan(8);
    for (const c of s3Nevers) expect([c[0], await decide(broad, ingest, c)]).toEqual([c[0], "Allowed"]);
    // The bucket's TLS guard still wins over any Allow.
    expect(await decide(broad, ingest, s3Nevers[0], { "aws:SecureTransport": "false" })).toBe("ExplicitlyDenied");
  });

  test("a grant in a bucket policy alone counts, as in AWS for a same-account role", async () => {
    const transform = "plain-transform-role";
    const rawPage = object(arns.plain.archive, rawKey(SLOT));
    expect(await iam.can(transform, "s3:GetObject", rawPage)).toBe("ImplicitlyDenied");
    const resources = mocks.resources.map((r) =>
      r.type === T.bucketPolicy && r.name === "plain-archive-policy"
        ? withStatement(r, {
            Sid: "Leak",
            Effect: "Allow",
            Principal: { AWS: iam.role(transform).arn },
            Action: "s3:GetObject",
            Resource: `${arns.plain.archive}/raw/*`,
          })
        : r,
    );
    expect(await iamHarness(resources).can(transform, "s3:GetObject", rawPage)).toBe("Allowed");
  });

  test("a request the evaluator cannot check throws instead of counting as denied", async () => {
    const role = "plain-ingest-role";
    await expect(iam.can(role, "s3:PutObjekt", object(arns.plain.archive, rawKey(SLOT)))).rejects.toThrow(/refused the request/);
    await expect(iam.can(role, "s3:PutObject", arns.plain.workGroup)).rejects.toThrow(/refused the request/);
    await expect(iam.can(role, "ssm:GetParameter", arns.plain.keyParameter, { "s3:prefix": "raw/" })).rejects.toThrow(
      /never sees context key\(s\) s3:prefix/,
    );
    await expect(iam.can(role, "s3:GetObject", `${arns.plain.archive}/raw/*`)).rejects.toThrow(/one concrete resource/);
    await expect(iam.can("no-such-role", "s3:GetObject", arns.plain.archive)).rejects.toThrow(/no role named no-such-role/);
  });

  test("grants it cannot evaluate are errors, not silently skipped", () => {
    const role = mocks.one("aws:iam/role:Role", "plain-ingest-role");
    const managed = fakeResource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "full-access", {
      role: role.state.name,
      policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess",
    });
    expect(() => iamHarness([...mocks.resources, managed])).toThrow(/AWS-managed policies cannot be evaluated offline/);
    const topicPolicy = fakeResource("aws:sns/topicPolicy:TopicPolicy", "publish-from-anywhere", {
      arn: "arn:aws:sns:us-east-1:123456789012:t",
      policy: "{}",
    });
    expect(() => iamHarness([...mocks.resources, topicPolicy])).toThrow(
      /does not evaluate aws:sns\/topicPolicy:TopicPolicy publish-from-anywhere/,
    );
    // A Lambda permission is evaluated as the function's resource policy, so it must name a recorded function.
    const permission = fakeResource("aws:lambda/permission:Permission", "invoke-from-anywhere", {
      action: "lambda:InvokeFunction",
      principal: "*",
      function: "no-such-function",
    });
    expect(() => iamHarness([...mocks.resources, permission])).toThrow(
      /Permission invoke-from-anywhere names function no-such-function, which no recorded function has/,
    );
  });
});

/** A recorded resource made up by a test. */
function fakeResource(type: string, name: string, inputs: Record<string, unknown>): RecordedResource {
  return { type, name, inputs, id: `${name}-id`, state: { ...inputs } };
}

/** A harness over the recorded resources plus one extra inline policy on `role`. */
function withExtraRolePolicy(resources: readonly RecordedResource[], role: string, statement: Record<string, unknown>): IamHarness {
  const roleName = mocks.one("aws:iam/role:Role", role).state.name;
  const rogue = fakeResource(T.rolePolicy, "rogue", {
    role: roleName,
    policy: JSON.stringify({ Version: "2012-10-17", Statement: [statement] }),
  });
  return iamHarness([...resources, rogue]);
}

/** A copy of a recorded policy resource with one more statement. */
function withStatement(r: RecordedResource, statement: Record<string, unknown>): RecordedResource {
  const document = JSON.parse(String(r.inputs.policy)) as { Statement: unknown[] };
  return { ...r, inputs: { ...r.inputs, policy: JSON.stringify({ ...document, Statement: [...document.Statement, statement] }) } };
}
