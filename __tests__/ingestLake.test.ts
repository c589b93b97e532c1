/**
 * IngestLake under Pulumi mocks: the exact inputs of every resource it creates (bucket hardening, IAM,
 * function, schedule, queues), tags, the CoinGecko key's handling, and argument checks.
 */
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_INGEST_MAX_EVENT_AGE_SECONDS, DEFAULT_INGEST_TIMEOUT_SECONDS, IngestLake, IngestLakeArgs } from "../components/ingestLake";
import { LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, QUEUE_RETENTION_SECONDS, SCHEDULED_TIME_INPUT } from "../components/scheduledFunction";
import { INGEST_ENV } from "../functions/ingestHandler";
import {
  installPulumiMocks,
  isSecretValue,
  MOCK_ACCOUNT_ID,
  MOCK_KMS_KEY_ARN,
  MOCK_REGION,
  MOCK_TAGS,
  plainTextPaths,
  policyOf,
  promiseOf,
  recordDependencies,
  RecordedResource,
  RESOURCE_TYPES as T,
  stringField,
} from "./helpers/pulumiMocks";

const mocks = installPulumiMocks();
// A function serialization error makes a mocked deployment hang instead of failing.
jest.setTimeout(60_000);
afterAll(() => pulumi.runtime.disconnect());

const API_KEY = "CG-h2TestKey8f3a91c2d7e6";

const deps = recordDependencies();
let lake: IngestLake;

beforeAll(async () => {
  lake = new IngestLake(
    "lake",
    { coingeckoPlan: "demo", coingeckoApiKey: API_KEY, rawColdStorageAfterDays: 90, tags: MOCK_TAGS },
    { transformations: [deps.transformation] },
  );
  new IngestLake("freelake", { coingeckoPlan: "keyless", topN: 500, vsCurrency: "eur", timeoutSeconds: 120 });
  new IngestLake("kmslake", { coingeckoPlan: "pro", coingeckoApiKey: pulumi.secret(API_KEY), kmsKeyArn: MOCK_KMS_KEY_ARN });
  await mocks.settled();
});

describe("archive bucket hardening", () => {
  test("all four Block Public Access settings on the archive bucket", () => {
    const bucket = mocks.one(T.bucket, "lake-archive");
    expect(mocks.one(T.publicAccess, "lake-archive-public-access").inputs).toEqual({
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
  });

  test("ACLs disabled, SSE-S3 by default with SSE-C refused, versioning on, objects kept on destroy", () => {
    const bucket = mocks.one(T.bucket, "lake-archive");
    expect(bucket.inputs.forceDestroy).toBe(false);
    expect(mocks.one(T.ownership, "lake-archive-ownership").inputs).toEqual({
      bucket: bucket.id,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });
    expect(mocks.one(T.encryption, "lake-archive-encryption").inputs).toEqual({
      bucket: bucket.id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, blockedEncryptionTypes: ["SSE-C"] }],
    });
    expect(mocks.one(T.versioning, "lake-archive-versioning").inputs).toEqual({
      bucket: bucket.id,
      versioningConfiguration: { status: "Enabled" },
    });
  });

  test("lifecycle: noncurrent versions expire, multipart uploads abort, raw/ goes cold after the given days", () => {
    expect(mocks.one(T.lifecycle, "lake-archive-lifecycle").inputs.rules).toEqual([
      {
        id: "expire-noncurrent-versions",
        status: "Enabled",
        filter: {},
        noncurrentVersionExpiration: { noncurrentDays: 30 },
        expiration: { expiredObjectDeleteMarker: true },
      },
      {
        id: "abort-incomplete-multipart-uploads",
        status: "Enabled",
        filter: {},
        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
      },
      { id: "raw-cold-storage", status: "Enabled", filter: { prefix: "raw/" }, transitions: [{ days: 90, storageClass: "GLACIER_IR" }] },
    ]);
    // Without rawColdStorageAfterDays there is no transition at all.
    expect(mocks.one(T.lifecycle, "freelake-archive-lifecycle").inputs.rules).toHaveLength(2);
  });

  test("bucket policy denies plain HTTP and TLS < 1.2 for the bucket and its objects, and grants nothing", () => {
    const arn = stringField(mocks.one(T.bucket, "lake-archive"), "arn");
    const policy = policyOf(mocks.one(T.bucketPolicy, "lake-archive-policy"));
    expect(policy).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: ["s3:*"],
          Resource: [arn, `${arn}/*`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
        {
          Sid: "DenyOutdatedTls",
          Effect: "Deny",
          Principal: "*",
          Action: ["s3:*"],
          Resource: [arn, `${arn}/*`],
          Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
        },
      ],
    });
  });

  test("with kmsKeyArn the bucket uses SSE-KMS with a Bucket Key, and the key parameter uses the same key", () => {
    expect(mocks.one(T.encryption, "kmslake-archive-encryption").inputs.rules).toEqual([
      {
        applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: MOCK_KMS_KEY_ARN },
        bucketKeyEnabled: true,
        blockedEncryptionTypes: ["SSE-C"],
      },
    ]);
    expect(mocks.one(T.parameter, "kmslake-coingecko-key").inputs.keyId).toBe(MOCK_KMS_KEY_ARN);
  });
});

describe("IAM: exact statements", () => {
  test("ingest role: write raw/ and processed/, read raw/, read the one key parameter, own logs, failure queue", () => {
    const bucketArn = stringField(mocks.one(T.bucket, "lake-archive"), "arn");
    const parameterArn = stringField(mocks.one(T.parameter, "lake-coingecko-key"), "arn");
    const logGroupArn = stringField(mocks.one(T.logGroup, "lake-ingest-logs"), "arn");
    const failureArn = stringField(mocks.one(T.queue, "lake-ingest-failures"), "arn");
    const rolePolicy = mocks.one(T.rolePolicy, "lake-ingest-role-policy");

    expect(rolePolicy.inputs.role).toBe(mocks.one(T.role, "lake-ingest-role").id);
    expect(policyOf(rolePolicy).Statement).toEqual([
      { Sid: "WriteSnapshots", Effect: "Allow", Action: ["s3:PutObject"], Resource: [`${bucketArn}/raw/*`, `${bucketArn}/processed/*`] },
      { Sid: "ReadRawPages", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${bucketArn}/raw/*`] },
      { Sid: "ReadApiKey", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [parameterArn] },
      { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${logGroupArn}:*`] },
      { Sid: "SendToFailureDestination", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [failureArn] },
    ]);
    expect(logGroupArn).toBe(
      `arn:aws:logs:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:log-group:/aws/lambda/${mocks.one(T.fn, "lake-ingest-function").inputs.name}`,
    );
  });

  test("ingest role is assumable by Lambda only and has no managed policies", () => {
    expect(policyOf(mocks.one(T.role, "lake-ingest-role"), "assumeRolePolicy")).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    expect(mocks.ofType(T.attachment)).toEqual([]);
    expect(mocks.one(T.role, "lake-ingest-role").inputs.managedPolicyArns).toBeUndefined();
  });

  test("scheduler role: invoke exactly this function and send to exactly its DLQ; trusted only from its schedule group", () => {
    const fnArn = stringField(mocks.one(T.fn, "lake-ingest-function"), "arn");
    const dlqArn = stringField(mocks.one(T.queue, "lake-ingest-dlq"), "arn");
    const groupArn = stringField(mocks.one(T.scheduleGroup, "lake-ingest-schedule-group"), "arn");
    expect(policyOf(mocks.one(T.rolePolicy, "lake-ingest-scheduler-role-policy")).Statement).toEqual([
      { Sid: "InvokeTarget", Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: [fnArn] },
      { Sid: "SendToDeliveryDlq", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [dlqArn] },
    ]);
    expect(policyOf(mocks.one(T.role, "lake-ingest-scheduler-role"), "assumeRolePolicy").Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: "scheduler.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID, "aws:SourceArn": groupArn } },
      },
    ]);
  });

  test("keyless: no parameter and no SSM statement; kms: decrypt/generate only through S3 and SSM for this bucket and parameter", () => {
    expect(
      mocks
        .ofType(T.parameter)
        .map((p) => p.name)
        .sort(),
    ).toEqual(["kmslake-coingecko-key", "lake-coingecko-key"]);
    const freeSids = policyOf(mocks.one(T.rolePolicy, "freelake-ingest-role-policy")).Statement.map((s) => s.Sid);
    expect(freeSids).toEqual(["WriteSnapshots", "ReadRawPages", "WriteOwnLogs", "SendToFailureDestination"]);

    const bucketArn = stringField(mocks.one(T.bucket, "kmslake-archive"), "arn");
    const parameterArn = stringField(mocks.one(T.parameter, "kmslake-coingecko-key"), "arn");
    const kmsStatements = policyOf(mocks.one(T.rolePolicy, "kmslake-ingest-role-policy")).Statement.filter((s) =>
      String(s.Sid).includes("Key"),
    );
    expect(kmsStatements).toEqual([
      { Sid: "ReadApiKey", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [parameterArn] },
      {
        Sid: "UseArchiveKey",
        Effect: "Allow",
        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
        Resource: [MOCK_KMS_KEY_ARN],
        Condition: {
          StringEquals: { "kms:ViaService": `s3.${MOCK_REGION}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": bucketArn },
        },
      },
      {
        Sid: "DecryptApiKey",
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: [MOCK_KMS_KEY_ARN],
        Condition: {
          StringEquals: { "kms:ViaService": `ssm.${MOCK_REGION}.amazonaws.com`, "kms:EncryptionContext:PARAMETER_ARN": parameterArn },
        },
      },
    ]);
  });

  test("no Allow anywhere has a wildcard action or the * resource", () => {
    const documents = [
      ...mocks.ofType(T.rolePolicy).map((r) => policyOf(r)),
      ...mocks.ofType(T.role).map((r) => policyOf(r, "assumeRolePolicy")),
      ...mocks.ofType(T.bucketPolicy).map((r) => policyOf(r)),
      ...mocks.ofType(T.queuePolicy).map((r) => policyOf(r)),
    ];
    const allows = documents.flatMap((d) => d.Statement).filter((s) => s.Effect === "Allow");
    expect(allows.length).toBeGreaterThan(20);
    for (const s of allows) {
      for (const action of [s.Action].flat() as string[]) expect(action).not.toContain("*");
      for (const resource of [s.Resource ?? []].flat() as string[]) expect(resource).not.toBe("*");
    }
  });
});

describe("ingest function", () => {
  test("nodejs22.x on arm64 with the component's timeout and memory, its explicit role and the serialized handler", () => {
    const fn = mocks.one(T.fn, "lake-ingest-function");
    expect(fn.inputs).toMatchObject({
      runtime: LAMBDA_RUNTIME,
      architectures: [LAMBDA_ARCHITECTURE],
      timeout: DEFAULT_INGEST_TIMEOUT_SECONDS,
      memorySize: 256,
      handler: "__index.handler",
      role: stringField(mocks.one(T.role, "lake-ingest-role"), "arn"),
      tags: MOCK_TAGS,
    });
    expect([LAMBDA_RUNTIME, LAMBDA_ARCHITECTURE]).toEqual(["nodejs22.x", "arm64"]);
    expect(mocks.one(T.fn, "freelake-ingest-function").inputs.timeout).toBe(120);
  });

  test("environment carries names and settings only: the parameter's name, never the key", () => {
    const fn = mocks.one(T.fn, "lake-ingest-function");
    expect(fn.inputs.environment).toEqual({
      variables: {
        [INGEST_ENV.bucket]: stringField(mocks.one(T.bucket, "lake-archive"), "bucket"),
        [INGEST_ENV.plan]: "demo",
        [INGEST_ENV.baseUrl]: "https://api.coingecko.com/api/v3",
        [INGEST_ENV.keyParameter]: stringField(mocks.one(T.parameter, "lake-coingecko-key"), "name"),
        [INGEST_ENV.vsCurrency]: "usd",
        [INGEST_ENV.topN]: "250",
        [INGEST_ENV.pipeline]: "lake-test",
        [INGEST_ENV.namespace]: "CryptoAnalytics",
        [INGEST_ENV.maxEventAgeSeconds]: "900",
      },
    });
    const free = mocks.one(T.fn, "freelake-ingest-function").inputs.environment as { variables: Record<string, string> };
    expect(free.variables).not.toHaveProperty(INGEST_ENV.keyParameter);
    expect(free.variables).toMatchObject({ [INGEST_ENV.plan]: "keyless", [INGEST_ENV.topN]: "500", [INGEST_ENV.vsCurrency]: "eur" });
    const pro = mocks.one(T.fn, "kmslake-ingest-function").inputs.environment as { variables: Record<string, string> };
    expect(pro.variables[INGEST_ENV.baseUrl]).toBe("https://pro-api.coingecko.com/api/v3");
  });

  test("log group /aws/lambda/<function name> with retention exists before the function", () => {
    const fn = mocks.one(T.fn, "lake-ingest-function");
    expect(mocks.one(T.logGroup, "lake-ingest-logs").inputs).toEqual({
      name: `/aws/lambda/${fn.inputs.name}`,
      retentionInDays: 30,
      tags: MOCK_TAGS,
    });
    expect(deps.dependsOn(T.fn, "lake-ingest-function")).toEqual(
      expect.arrayContaining([`${T.logGroup} lake-ingest-logs`, `${T.rolePolicy} lake-ingest-role-policy`]),
    );
  });

  test("function names differ per component and fit Lambda's 64-character limit", () => {
    const names = mocks.ofType(T.fn).map((f) => f.inputs.name as string);
    expect(new Set(names).size).toBe(3);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });
});

describe("schedule, queues and failure destination", () => {
  test("every 5 minutes in UTC, no flexible window, retries, DLQ and the scheduled-time input", () => {
    const schedule = mocks.one(T.schedule, "lake-ingest-schedule");
    expect(schedule.inputs).toMatchObject({
      groupName: stringField(mocks.one(T.scheduleGroup, "lake-ingest-schedule-group"), "name"),
      scheduleExpression: "rate(5 minutes)",
      scheduleExpressionTimezone: "UTC",
      flexibleTimeWindow: { mode: "OFF" },
      target: {
        arn: stringField(mocks.one(T.fn, "lake-ingest-function"), "arn"),
        roleArn: stringField(mocks.one(T.role, "lake-ingest-scheduler-role"), "arn"),
        input: SCHEDULED_TIME_INPUT,
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: DEFAULT_INGEST_MAX_EVENT_AGE_SECONDS },
        deadLetterConfig: { arn: stringField(mocks.one(T.queue, "lake-ingest-dlq"), "arn") },
      },
    });
    expect(JSON.parse(SCHEDULED_TIME_INPUT)).toEqual({ scheduledTime: "<aws.scheduler.scheduled-time>" });
  });

  test.each(["lake-ingest-dlq", "lake-ingest-failures"])("%s: SQS-managed encryption, 14-day retention, tags", (name) => {
    expect(mocks.one(T.queue, name).inputs).toEqual({
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: QUEUE_RETENTION_SECONDS,
      tags: MOCK_TAGS,
    });
    expect(QUEUE_RETENTION_SECONDS).toBe(1_209_600);
  });

  test.each([
    ["lake-ingest-dlq", "lake-ingest-scheduler-role"],
    ["lake-ingest-failures", "lake-ingest-role"],
  ])("%s accepts messages only from %s", (queueName, roleName) => {
    const queue = mocks.one(T.queue, queueName);
    const sender = stringField(mocks.one(T.role, roleName), "arn");
    const policy = mocks.one(T.queuePolicy, `${queueName}-policy`);
    expect(policy.inputs.queueUrl).toBe(queue.state.url);
    expect(policyOf(policy).Statement).toEqual([
      { Sid: "AllowSender", Effect: "Allow", Principal: { AWS: sender }, Action: ["sqs:SendMessage"], Resource: [queue.state.arn] },
      {
        Sid: "DenyOtherSenders",
        Effect: "Deny",
        Principal: "*",
        Action: ["sqs:SendMessage"],
        Resource: [queue.state.arn],
        Condition: { ArnNotEquals: { "aws:PrincipalArn": sender } },
      },
    ]);
  });

  test("async invoke config: 2 retries, max event age, on-failure destination = the failure queue", () => {
    expect(mocks.one(T.invokeConfig, "lake-ingest-invoke-config").inputs).toEqual({
      functionName: mocks.one(T.fn, "lake-ingest-function").inputs.name,
      maximumRetryAttempts: 2,
      maximumEventAgeInSeconds: DEFAULT_INGEST_MAX_EVENT_AGE_SECONDS,
      destinationConfig: { onFailure: { destination: stringField(mocks.one(T.queue, "lake-ingest-failures"), "arn") } },
    });
  });

  test("outputs point at the resources they name", async () => {
    expect(await promiseOf(lake.bucketName)).toBe(stringField(mocks.one(T.bucket, "lake-archive"), "bucket"));
    expect(await promiseOf(lake.bucketArn)).toBe(stringField(mocks.one(T.bucket, "lake-archive"), "arn"));
    expect(await promiseOf(lake.functionArn)).toBe(stringField(mocks.one(T.fn, "lake-ingest-function"), "arn"));
    expect(await promiseOf(lake.functionName)).toBe(mocks.one(T.fn, "lake-ingest-function").inputs.name);
    expect(await promiseOf(lake.dlqArn)).toBe(stringField(mocks.one(T.queue, "lake-ingest-dlq"), "arn"));
    expect(await promiseOf(lake.dlqName)).toBe(stringField(mocks.one(T.queue, "lake-ingest-dlq"), "name"));
    expect(await promiseOf(lake.failureQueueArn)).toBe(stringField(mocks.one(T.queue, "lake-ingest-failures"), "arn"));
    expect(await promiseOf(lake.failureQueueUrl)).toBe(stringField(mocks.one(T.queue, "lake-ingest-failures"), "url"));
    expect(await promiseOf(lake.keyParameterName as pulumi.Output<string>)).toBe(
      stringField(mocks.one(T.parameter, "lake-coingecko-key"), "name"),
    );
    expect(await promiseOf(lake.pipelineName)).toBe("lake-test");
    expect(await promiseOf(lake.metricsNamespace)).toBe("CryptoAnalytics");
  });
});

describe("tags", () => {
  const UNTAGGABLE = [
    T.publicAccess,
    T.ownership,
    T.encryption,
    T.versioning,
    T.lifecycle,
    T.bucketPolicy,
    T.rolePolicy,
    T.queuePolicy,
    T.invokeConfig,
    T.schedule,
  ];

  test("every taggable resource carries the tags; the rest are types AWS cannot tag", () => {
    const custom = mocks.resourcesOf("lake").filter((r) => r.type.startsWith("aws:"));
    const tagged = custom.filter((r) => r.inputs.tags !== undefined);
    for (const r of tagged) expect(r.inputs.tags).toEqual(MOCK_TAGS);
    expect(tagged.map((r) => r.type).sort()).toEqual(
      [T.bucket, T.parameter, T.role, T.role, T.logGroup, T.fn, T.queue, T.queue, T.scheduleGroup].sort(),
    );
    expect(new Set(custom.filter((r) => r.inputs.tags === undefined).map((r) => r.type))).toEqual(new Set(UNTAGGABLE));
  });
});

describe("the CoinGecko key", () => {
  test("is stored as a SecureString whose value is a Pulumi secret, also when given as plain text", () => {
    for (const name of ["lake-coingecko-key", "kmslake-coingecko-key"]) {
      const parameter = mocks.one(T.parameter, name);
      expect(parameter.inputs.type).toBe("SecureString");
      expect(isSecretValue(parameter.inputs.value)).toBe(true);
      expect((parameter.inputs.value as { value: unknown }).value).toBe(API_KEY);
    }
  });

  test("appears in plain text in no resource input, the serialized function code included", async () => {
    expect(await plainTextPaths(mocks.resources, API_KEY)).toEqual([]);
    // The same search does find plain values, e.g. the bucket name in the bucket policy and the environment.
    const bucketName = stringField(mocks.one(T.bucket, "lake-archive"), "bucket");
    expect(await plainTextPaths(mocks.resources, bucketName)).toEqual(
      expect.arrayContaining(["Function lake-ingest-function.environment.variables.ARCHIVE_BUCKET"]),
    );
  });

  test("the plain-text search reports a key outside a secret and ignores it inside one", async () => {
    const leaky: RecordedResource = {
      type: T.fn,
      name: "leaky",
      id: "leaky",
      state: {},
      inputs: {
        environment: { variables: { KEY: `x${API_KEY}x` } },
        code: new pulumi.asset.AssetArchive({ "__index.js": new pulumi.asset.StringAsset(`const k = "${API_KEY}";`) }),
        value: { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: API_KEY },
      },
    };
    expect(await plainTextPaths([leaky], API_KEY)).toEqual(["Function leaky.environment.variables.KEY", "Function leaky.code[__index.js]"]);
  });
});

describe("argument checks: a clear error before any AWS resource exists", () => {
  const base: IngestLakeArgs = { coingeckoPlan: "demo", coingeckoApiKey: API_KEY };
  let counter = 0;

  test.each<[string, IngestLakeArgs, RegExp]>([
    ["pro plan without a key", { coingeckoPlan: "pro" }, /coingeckoPlan "pro" needs coingeckoApiKey.*--secret/],
    ["demo plan without a key", { coingeckoPlan: "demo" }, /coingeckoPlan "demo" needs coingeckoApiKey/],
    ["keyless plan with a key", { coingeckoPlan: "keyless", coingeckoApiKey: API_KEY }, /"keyless" sends no key.*Remove the key/],
    ["unknown plan", { ...base, coingeckoPlan: "enterprise" as never }, /coingeckoPlan must be one of demo, pro, keyless/],
    ["empty key", { coingeckoPlan: "demo", coingeckoApiKey: "" }, /coingeckoApiKey must be a non-empty string/],
    ["topN 0", { ...base, topN: 0 }, /topN must be an integer from 1 to 1000, got 0/],
    ["topN 1001", { ...base, topN: 1001 }, /topN must be an integer from 1 to 1000, got 1001/],
    ["topN 2.5", { ...base, topN: 2.5 }, /topN must be an integer/],
    ["topN 300 (not whole pages)", { ...base, topN: 300 }, /topN above 250 must be a multiple of 250/],
    ["upper-case currency", { ...base, vsCurrency: "USD" }, /vsCurrency must be a lower-case CoinGecko currency code/],
    ["plain-http base URL", { ...base, coingeckoBaseUrl: "http://api.coingecko.com/api/v3" }, /coingeckoBaseUrl must be an https:\/\/ URL/],
    [
      "ftp base URL",
      { ...base, coingeckoBaseUrl: "ftp://x" },
      /coingeckoBaseUrl must be an https:\/\/ URL \(the key travels in a header\), got "ftp:\/\/x"\./,
    ],
    [
      "loopback base URL (a function reaches no server on its own loopback)",
      { ...base, coingeckoBaseUrl: "http://127.0.0.1:8080/api/v3" },
      /coingeckoBaseUrl must be an https:\/\/ URL/,
    ],
    [
      "base URL that is not a URL",
      { ...base, coingeckoBaseUrl: "api.coingecko.com/api/v3" },
      /coingeckoBaseUrl is not a URL, got "api\.coingecko\.com\/api\/v3"\./,
    ],
    ["schedule prose", { ...base, scheduleExpression: "every 5 minutes" }, /scheduleExpression must be like "rate\(5 minutes\)"/],
    ["timeout above 15 minutes", { ...base, timeoutSeconds: 901 }, /timeoutSeconds must be an integer from 1 to 900/],
    ["memory below 128 MB", { ...base, memoryMb: 64 }, /memoryMb must be an integer from 128 to 10240/],
    ["retention CloudWatch refuses", { ...base, logRetentionDays: 10 }, /logRetentionDays must be one of 1, 3, 5, 7, 14, 30/],
    ["3 async retries", { ...base, maxRetryAttempts: 3 }, /maxRetryAttempts must be an integer from 0 to 2/],
    ["event age below a minute", { ...base, maxEventAgeSeconds: 30 }, /maxEventAgeSeconds must be an integer from 60 to 21600/],
    ["cold storage after 0 days", { ...base, rawColdStorageAfterDays: 0 }, /transition.days \(for GLACIER_IR\) must be an integer from 1/],
    [
      "Standard-IA before 30 days",
      { ...base, rawColdStorageAfterDays: 10, rawColdStorageClass: "STANDARD_IA" },
      /transition.days \(for STANDARD_IA\) must be an integer from 30/,
    ],
    ["AWS/ metrics namespace", { ...base, metricsNamespace: "AWS/Lambda" }, /metricsNamespace must be a CloudWatch namespace/],
    ["pipeline name with spaces", { ...base, pipelineName: "my pipeline" }, /pipelineName must be 1-128 letters/],
  ])("%s", async (_label, args, message) => {
    counter += 1;
    const name = `bad${counter}`;
    expect(() => new IngestLake(name, args)).toThrow(message);
    await mocks.settled();
    expect(mocks.resourcesOf(name).filter((r) => r.type.startsWith("aws:"))).toEqual([]);
  });

  test("a malformed key is refused without printing it", () => {
    const key = "CG-has a space";
    let message = "";
    try {
      new IngestLake("badkey", { coingeckoPlan: "demo", coingeckoApiKey: key });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/coingeckoApiKey must be a non-empty string without spaces \(value not shown\)/);
    expect(message).not.toContain(key);
  });
});
