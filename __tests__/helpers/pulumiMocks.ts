/**
 * Shared Pulumi mocks for component tests: records every registered resource (type, name, inputs) and
 * answers with realistic ids, names and ARNs, so tests find resources by type and name and assert their
 * exact inputs.
 *
 * Usage (one recorder per test file; jest gives each file its own module registry):
 *
 *   import { installPulumiMocks, promiseOf } from "./helpers/pulumiMocks";
 *   import { IngestLake } from "../components";    // importing components creates nothing
 *   const mocks = installPulumiMocks();            // before any component is constructed
 *
 *   let lake: IngestLake;
 *   beforeAll(async () => {
 *     lake = new IngestLake("lake", { ... });
 *     await mocks.settled();                       // every registration (inputs resolved) recorded
 *   });
 *   afterAll(() => pulumi.runtime.disconnect());
 *   test("...", () => { const fn = mocks.one("aws:lambda/function:Function", "lake-ingest-function"); ... });
 *
 * Secrets: a recorded input that was a Pulumi secret stays wrapped as `{ [specialSigKey]: specialSecretSig,
 * value }` (see {@link isSecretValue}); {@link plainTextPaths} finds a string outside such wrappers.
 * Mocked `state` is `{ ...realistic outputs, ...inputs }`: inputs win, as a provider echoes them back.
 */
import * as pulumi from "@pulumi/pulumi";

/** Account id in every mocked ARN. */
export const MOCK_ACCOUNT_ID = "123456789012";
/** Region in every mocked ARN. */
export const MOCK_REGION = "us-east-1";
/** Suffix the mocks append to auto-named physical names, like Pulumi's random suffix. */
export const MOCK_NAME_SUFFIX = "1a2b3c4";

/** One registered resource as the mock saw it. */
export interface RecordedResource {
  /** Type token, e.g. `aws:s3/bucket:Bucket` or `crypto-analytics:pipeline:IngestLake`. */
  type: string;
  /** Logical (Pulumi) name. */
  name: string;
  /** Inputs as the provider would receive them: Outputs resolved, secrets still wrapped. */
  inputs: Record<string, unknown>;
  /** Id the mock returned. */
  id: string;
  /** State the mock returned. */
  state: Record<string, unknown>;
}

/** A KMS key ARN in the mock account and region, for components given a customer-managed key. */
export const MOCK_KMS_KEY_ARN = `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b`;

/** Tags the component tests pass, to check every taggable resource receives them. */
export const MOCK_TAGS = { project: "crypto-analytics", environment: "test" };

/** Pulumi type tokens of the resources the components create, by short name. */
export const RESOURCE_TYPES = {
  bucket: "aws:s3/bucket:Bucket",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  database: "aws:glue/catalogDatabase:CatalogDatabase",
  table: "aws:glue/catalogTable:CatalogTable",
  workgroup: "aws:athena/workgroup:Workgroup",
  parameter: "aws:ssm/parameter:Parameter",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  fn: "aws:lambda/function:Function",
  invokeConfig: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  scheduleGroup: "aws:scheduler/scheduleGroup:ScheduleGroup",
  schedule: "aws:scheduler/schedule:Schedule",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  dataSource: "aws:quicksight/dataSource:DataSource",
  dataSet: "aws-native:quicksight:DataSet",
  eventRule: "aws:cloudwatch/eventRule:EventRule",
  eventTarget: "aws:cloudwatch/eventTarget:EventTarget",
  permission: "aws:lambda/permission:Permission",
  quicksightDashboard: "aws-native:quicksight:Dashboard",
} as const;

/** A string field of a recorded resource's state; throws naming the resource if it is not a string. */
export function stringField(r: RecordedResource, field: string): string {
  const v = r.state[field];
  if (typeof v !== "string") throw new Error(`${r.name}.${field} is not a string`);
  return v;
}

/** The recorder returned by {@link installPulumiMocks}. */
export interface PulumiMockRecorder {
  /** Every resource registered so far, in registration order. */
  readonly resources: RecordedResource[];
  /** Resources of one type. */
  ofType(type: string): RecordedResource[];
  /** The one resource with this type and logical name; throws listing what exists if absent. */
  one(type: string, name: string): RecordedResource;
  /** Resources a component named `prefix` created (its children are all named `${prefix}-...`), itself included. */
  resourcesOf(prefix: string): RecordedResource[];
  /** Resolves once every registration started so far has reached the mock. */
  settled(): Promise<void>;
}

/** Installs the mocks (call before constructing any component) and returns the recorder. */
export function installPulumiMocks(): PulumiMockRecorder {
  const resources: RecordedResource[] = [];
  void pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        const inputs = (args.inputs ?? {}) as Record<string, unknown>;
        const { id, outputs } = realisticOutputs(args.type, args.name, inputs);
        const state = { ...outputs, ...inputs };
        resources.push({ type: args.type, name: args.name, inputs, id, state });
        return { id, state };
      },
      call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        switch (args.token) {
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return {
              accountId: MOCK_ACCOUNT_ID,
              arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/deployer`,
              userId: "AIDAMOCKUSER",
              id: MOCK_ACCOUNT_ID,
            };
          case "aws:index/getRegion:getRegion":
            return { region: MOCK_REGION, name: MOCK_REGION, id: MOCK_REGION, endpoint: `ec2.${MOCK_REGION}.amazonaws.com` };
          case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws", reverseDnsPrefix: "com.amazonaws" };
          default:
            throw new Error(`pulumiMocks: no mock for invoke ${args.token}; add one to __tests__/helpers/pulumiMocks.ts`);
        }
      },
    },
    "crypto-analytics",
    "test",
  );
  return {
    resources,
    ofType: (type) => resources.filter((r) => r.type === type),
    one(type, name) {
      const found = resources.filter((r) => r.type === type && r.name === name);
      if (found.length !== 1) {
        const known = resources.filter((r) => r.type === type).map((r) => r.name);
        throw new Error(`expected one ${type} named ${name}, found ${found.length}; ${type} names: ${known.join(", ") || "none"}`);
      }
      return found[0];
    },
    resourcesOf: (prefix) => resources.filter((r) => r.name === prefix || r.name.startsWith(`${prefix}-`)),
    settled: waitForRegistrations,
  };
}

/** The value of an Output (secret or not) as a promise. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Whether a recorded input value is a Pulumi secret. */
export function isSecretValue(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

/**
 * JSON-ish paths (e.g. `Function lake-ingest-function.environment.variables.X`) of every string in the
 * recorded inputs that contains `needle` outside a secret wrapper. String assets are searched too.
 */
export async function plainTextPaths(resources: RecordedResource[], needle: string): Promise<string[]> {
  const hits: string[] = [];
  const visit = async (value: unknown, path: string): Promise<void> => {
    if (isSecretValue(value)) return;
    if (typeof value === "string") {
      if (value.includes(needle)) hits.push(path);
      return;
    }
    // `isInstance` is shared by every asset (archive) class, so tell them apart with instanceof.
    if (value instanceof pulumi.asset.StringAsset) {
      if ((await value.text).includes(needle)) hits.push(path);
      return;
    }
    if (value instanceof pulumi.asset.AssetArchive) {
      for (const [key, entry] of Object.entries(await value.assets)) await visit(entry, `${path}[${key}]`);
      return;
    }
    // File assets and archives (node_modules folders) are files on disk, not inputs anyone typed.
    if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) return;
    if (Array.isArray(value)) {
      for (const [i, entry] of (value as unknown[]).entries()) await visit(entry, `${path}[${i}]`);
      return;
    }
    if (typeof value === "object" && value !== null) {
      for (const [key, entry] of Object.entries(value)) await visit(entry, `${path}.${key}`);
    }
  };
  for (const r of resources) await visit(r.inputs, `${r.type.split(":").pop()} ${r.name}`);
  return hits;
}

/** Records explicit `dependsOn` edges, which mocks do not see. */
export interface DependencyRecorder {
  /** Pass as `{ transformations: [deps.transformation] }` to the component under test; children inherit it. */
  transformation: pulumi.ResourceTransformation;
  /** `type name` of each resource the given resource explicitly depends on. */
  dependsOn(type: string, name: string): string[];
}

/** A {@link DependencyRecorder}; dependencies must be constructed in the same component tree. */
export function recordDependencies(): DependencyRecorder {
  const names = new Map<pulumi.Resource, string>();
  const edges = new Map<string, pulumi.Resource[]>();
  return {
    transformation: (args) => {
      const label = `${args.type} ${args.name}`;
      names.set(args.resource, label);
      const deps = args.opts.dependsOn;
      const list = deps === undefined ? [] : Array.isArray(deps) ? deps : [deps];
      edges.set(
        label,
        list.filter((d): d is pulumi.Resource => pulumi.Resource.isInstance(d)),
      );
      return undefined;
    },
    dependsOn: (type, name) => (edges.get(`${type} ${name}`) ?? []).map((d) => names.get(d) ?? "(outside the tree)"),
  };
}

/** Parses a JSON policy input (string) recorded on a resource. */
export function policyOf(resource: RecordedResource, field = "policy"): { Version: string; Statement: Record<string, unknown>[] } {
  const text = resource.inputs[field];
  if (typeof text !== "string") throw new Error(`${resource.type} ${resource.name}: ${field} is not a string`);
  return JSON.parse(text);
}

// Pulumi keeps one count of in-flight registrations (taken before inputs resolve); its `waitForRPCs`
// is what `disconnect` awaits. It is internal, so look it up defensively.
function waitForRegistrations(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs?: () => Promise<void> };
  if (typeof settings.waitForRPCs !== "function") {
    throw new Error("@pulumi/pulumi no longer exports runtime/settings.waitForRPCs; update pulumiMocks.settled()");
  }
  return settings.waitForRPCs();
}

const ACCOUNT_REGION = `${MOCK_REGION}:${MOCK_ACCOUNT_ID}`;

function autoName(name: string): string {
  return `${name}-${MOCK_NAME_SUFFIX}`;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Id and provider-computed outputs a real deployment would return for a resource. */
function realisticOutputs(
  type: string,
  logicalName: string,
  inputs: Record<string, unknown>,
): { id: string; outputs: Record<string, unknown> } {
  const name = str(inputs.name) ?? autoName(logicalName);
  switch (type) {
    case "aws:s3/bucket:Bucket": {
      const bucket = str(inputs.bucket) ?? autoName(logicalName).toLowerCase();
      return {
        id: bucket,
        outputs: {
          bucket,
          arn: `arn:aws:s3:::${bucket}`,
          bucketDomainName: `${bucket}.s3.amazonaws.com`,
          bucketRegionalDomainName: `${bucket}.s3.${MOCK_REGION}.amazonaws.com`,
          region: MOCK_REGION,
        },
      };
    }
    case "aws:iam/role:Role":
      return { id: name, outputs: { name, arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${name}`, uniqueId: "AROAMOCKROLE" } };
    case "aws:iam/rolePolicy:RolePolicy":
      return { id: `${str(inputs.role) ?? "role"}:${name}`, outputs: { name } };
    case "aws:lambda/function:Function": {
      const arn = `arn:aws:lambda:${ACCOUNT_REGION}:function:${name}`;
      return {
        id: name,
        outputs: {
          name,
          arn,
          qualifiedArn: `${arn}:$LATEST`,
          invokeArn: `arn:aws:apigateway:${MOCK_REGION}:lambda:path/2015-03-31/functions/${arn}/invocations`,
          version: "$LATEST",
        },
      };
    }
    case "aws:sqs/queue:Queue": {
      const url = `https://sqs.${MOCK_REGION}.amazonaws.com/${MOCK_ACCOUNT_ID}/${name}`;
      return { id: url, outputs: { name, arn: `arn:aws:sqs:${ACCOUNT_REGION}:${name}`, url } };
    }
    case "aws:ssm/parameter:Parameter":
      return { id: name, outputs: { name, arn: `arn:aws:ssm:${ACCOUNT_REGION}:parameter/${name.replace(/^\//, "")}`, version: 1 } };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { id: name, outputs: { name, arn: `arn:aws:logs:${ACCOUNT_REGION}:log-group:${name}` } };
    case "aws:scheduler/scheduleGroup:ScheduleGroup":
      return { id: name, outputs: { name, arn: `arn:aws:scheduler:${ACCOUNT_REGION}:schedule-group/${name}`, state: "ACTIVE" } };
    case "aws:scheduler/schedule:Schedule": {
      const group = str(inputs.groupName) ?? "default";
      return { id: `${group}/${name}`, outputs: { name, arn: `arn:aws:scheduler:${ACCOUNT_REGION}:schedule/${group}/${name}` } };
    }
    case "aws:sns/topic:Topic":
      return { id: `arn:aws:sns:${ACCOUNT_REGION}:${name}`, outputs: { name, arn: `arn:aws:sns:${ACCOUNT_REGION}:${name}` } };
    case "aws:glue/catalogDatabase:CatalogDatabase":
      return { id: `${MOCK_ACCOUNT_ID}:${name}`, outputs: { name, arn: `arn:aws:glue:${ACCOUNT_REGION}:database/${name}` } };
    case "aws:glue/catalogTable:CatalogTable": {
      const database = str(inputs.databaseName) ?? "database";
      return {
        id: `${MOCK_ACCOUNT_ID}:${database}:${name}`,
        outputs: { name, arn: `arn:aws:glue:${ACCOUNT_REGION}:table/${database}/${name}` },
      };
    }
    case "aws:athena/workgroup:Workgroup":
      return { id: name, outputs: { name, arn: `arn:aws:athena:${ACCOUNT_REGION}:workgroup/${name}` } };
    case "aws:cloudwatch/metricAlarm:MetricAlarm":
      return { id: name, outputs: { name, arn: `arn:aws:cloudwatch:${ACCOUNT_REGION}:alarm:${name}` } };
    case "aws:cloudwatch/dashboard:Dashboard": {
      const dashboardName = str(inputs.dashboardName) ?? autoName(logicalName);
      return {
        id: dashboardName,
        outputs: { dashboardName, dashboardArn: `arn:aws:cloudwatch::${MOCK_ACCOUNT_ID}:dashboard/${dashboardName}` },
      };
    }
    case "aws:quicksight/dataSource:DataSource": {
      const id = str(inputs.dataSourceId) ?? autoName(logicalName);
      return { id: `${MOCK_ACCOUNT_ID},${id}`, outputs: { name, arn: `arn:aws:quicksight:${ACCOUNT_REGION}:datasource/${id}` } };
    }
    case "aws:cloudwatch/eventRule:EventRule": {
      const ruleName = str(inputs.name) ?? autoName(logicalName);
      return { id: ruleName, outputs: { name: ruleName, arn: `arn:aws:events:${ACCOUNT_REGION}:rule/${ruleName}` } };
    }
    // QuickSight ARNs end in the resource's id (not its display name), as the verify command parses them.
    case "aws-native:quicksight:DataSet":
      return {
        id: `${MOCK_ACCOUNT_ID},${str(inputs.dataSetId)}`,
        outputs: { arn: `arn:aws:quicksight:${ACCOUNT_REGION}:dataset/${str(inputs.dataSetId)}` },
      };
    case "aws:kms/key:Key":
      return {
        id: "1234abcd-12ab-34cd-56ef-1234567890ab",
        outputs: {
          keyId: "1234abcd-12ab-34cd-56ef-1234567890ab",
          arn: `arn:aws:kms:${ACCOUNT_REGION}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
        },
      };
    default: {
      // Generic shape for anything else: `arn:aws:<service>:<region>:<account>:<kind>/<name>`.
      const [, module = "unknown", kind = "resource"] = type.split(/[:/]/);
      return {
        id: `${logicalName}-id`,
        outputs: { name, arn: `arn:aws:${module}:${ACCOUNT_REGION}:${kind.toLowerCase()}/${name}` },
      };
    }
  }
}
