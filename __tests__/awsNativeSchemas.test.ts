/**
 * Every `@pulumi/aws-native` resource the pipeline creates, checked against its CloudFormation registry
 * schema (the database `@aws-cdk/aws-service-spec` ships): whatever aws-native types the mocks record, each
 * must map to a schema and conform to it (property names, required properties, types and allowed values,
 * through every nested definition). Injected faults show the check fails with the exact property path, and
 * the SDK's own declarations confirm the validator names properties as aws-native does.
 */
import * as pulumi from "@pulumi/pulumi";
import { Dashboards } from "../components/dashboards";
import { CryptoAnalyticsPipeline } from "../components/pipeline";
import { viewNames } from "../functions/sqlFiles";
import { awsNativeArgs, awsNativeInputInterfaces } from "./helpers/awsNativeDeclarations";
import { awsNativeName, awsNativeSchemaViolations, cloudFormationType, schemaDatabase } from "./helpers/cloudFormationSchema";
import {
  installPulumiMocks,
  MOCK_ACCOUNT_ID,
  MOCK_KMS_KEY_ARN,
  MOCK_REGION,
  RecordedResource,
  RESOURCE_TYPES as T,
} from "./helpers/pulumiMocks";

const mocks = installPulumiMocks();
// The pipeline serializes both functions; a serialization error makes a mocked deployment hang instead of failing.
jest.setTimeout(90_000);
afterAll(() => pulumi.runtime.disconnect());

const VIEWER = `arn:aws:quicksight:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:user/default/alice`;

type Json = Record<string, unknown>;

/** Every aws-native resource the mocks recorded. */
function awsNativeResources(): RecordedResource[] {
  return mocks.resources.filter((r) => r.type.startsWith("aws-native:"));
}

/** A deep copy of recorded inputs (plain JSON: Outputs are resolved, and no secret reaches these resources). */
function copyOf(inputs: Json): Json {
  return JSON.parse(JSON.stringify(inputs)) as Json;
}

let dashboardInputs: Json;
/** Index of the first KPI visual on the dashboard's first sheet. */
let kpi: number;

beforeAll(async () => {
  // The full pipeline with Dashboards (SPICE, tagged) and a standalone direct-query Dashboards with a KMS key.
  new CryptoAnalyticsPipeline("p", { quicksightPrincipalArns: [VIEWER], kmsKeyArn: MOCK_KMS_KEY_ARN, tags: { environment: "test" } });
  new Dashboards("dq", {
    principalArns: [VIEWER],
    dashboardMode: "DIRECT_QUERY",
    databaseName: "crypto_data",
    viewNames: [...viewNames()],
    analyticsBucketArn: "arn:aws:s3:::crypto-analytics-1a2b3c4",
    resultsBucketName: "crypto-query-results-1a2b3c4",
    resultsBucketArn: "arn:aws:s3:::crypto-query-results-1a2b3c4",
    kmsKeyArn: MOCK_KMS_KEY_ARN,
  });
  await mocks.settled();
  dashboardInputs = mocks.one(T.quicksightDashboard, "p-quicksight-dashboard").inputs;
  const visuals = ((dashboardInputs.definition as Json).sheets as Json[])[0].visuals as Json[];
  kpi = visuals.findIndex((v) => v.kpiVisual !== undefined);
});

describe("the resources the pipeline creates", () => {
  test("include aws-native resources, the QuickSight dashboard among them, each mapped to a CloudFormation type", () => {
    const recorded = awsNativeResources();
    expect(recorded.map((r) => r.type)).toContain(T.quicksightDashboard);
    expect(cloudFormationType(T.quicksightDashboard)).toBe("AWS::QuickSight::Dashboard");
    // Throws for a type with no schema, naming it.
    for (const r of recorded) expect(cloudFormationType(r.type)).toMatch(/^AWS::\w+::\w+$/);
  });

  test("every recorded aws-native resource's inputs conform to its registry schema", () => {
    const violations = awsNativeResources().flatMap((r) =>
      awsNativeSchemaViolations(r.type, r.inputs).map((v) => `${r.type} ${r.name}: ${v}`),
    );
    expect(violations).toEqual([]);
  });
});

describe("an aws-native type the schema database does not know", () => {
  test("is an error naming the type, not a pass", () => {
    expect(() => awsNativeSchemaViolations("aws-native:quicksight:NoSuchThing", {})).toThrow(
      "no CloudFormation schema for aws-native:quicksight:NoSuchThing in @aws-cdk/aws-service-spec",
    );
  });
});

/** Sets (or, with `undefined`, deletes) the value at `path` of a copy of the dashboard's inputs. */
function injected(path: (string | number)[], value: unknown): Json {
  const inputs = copyOf(dashboardInputs);
  let holder = inputs as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) holder = holder[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (value === undefined) delete holder[last];
  else holder[last] = value;
  return inputs;
}

describe("a fault injected into the dashboard's inputs fails the check with its exact path", () => {
  const visual = (): (string | number)[] => ["definition", "sheets", 0, "visuals", kpi, "kpiVisual"];
  const kpiPath = (): string => `Definition.Sheets[0].Visuals[${kpi}].KPIVisual`;
  describe.each<[string, () => (string | number)[], unknown, () => string]>([
    ["an unknown property", () => [...visual(), "foo"], 1, () => `${kpiPath()}.Foo: unknown property`],
    [
      "a property spelt with CloudFormation's acronym",
      () => ["dashboardPublishOptions", "exportToCSVOption"],
      { availabilityStatus: "ENABLED" },
      () => "DashboardPublishOptions.ExportToCSVOption: unknown property; aws-native spells it exportToCsvOption",
    ],
    [
      "a number for a string",
      () => ["definition", "sheets", 0, "sheetId"],
      42,
      () => "Definition.Sheets[0].SheetId: expected string, got number 42",
    ],
    ["a string for an array", () => ["permissions"], VIEWER, () => `Permissions: expected array, got string "${VIEWER}"`],
    ["an object for a string", () => [...visual(), "visualId"], { id: "x" }, () => `${kpiPath()}.VisualId: expected string, got object`],
    [
      "a value outside the allowed values",
      () => ["dashboardPublishOptions", "adHocFilteringOption", "availabilityStatus"],
      "OFF",
      () => 'DashboardPublishOptions.AdHocFilteringOption.AvailabilityStatus: "OFF" is not one of ENABLED, DISABLED',
    ],
    ["a missing required top-level property", () => ["dashboardId"], undefined, () => "DashboardId: missing required property"],
    [
      "a missing required nested property",
      () => [...visual(), "visualId"],
      undefined,
      () => `${kpiPath()}.VisualId: missing required property`,
    ],
    [
      "an Output the mocks left unknown",
      () => ["definition", "dataSetIdentifierDeclarations", 0, "dataSetArn"],
      pulumi.unknown,
      () => "Definition.DataSetIdentifierDeclarations[0].DataSetArn: unknown value (an Output the mocks did not resolve)",
    ],
  ])("%s", (_label, path, value, message) => {
    test("is reported, and is the only violation", () => {
      expect(awsNativeSchemaViolations(T.quicksightDashboard, injected(path(), value))).toEqual([message()]);
    });
  });

  test("a secret is checked through its wrapper", () => {
    const secret = (v: unknown): Json => ({ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: v });
    expect(awsNativeSchemaViolations(T.quicksightDashboard, injected(["dashboardId"], secret("board")))).toEqual([]);
    expect(awsNativeSchemaViolations(T.quicksightDashboard, injected(["dashboardId"], secret(7)))).toEqual([
      "DashboardId: expected string, got number 7",
    ]);
  });

  test("a required name the provider auto-names may be left out, as the SDK declares it optional", () => {
    expect(awsNativeArgs(T.quicksightDashboard)).toContainEqual({ name: "name", optional: true });
    expect(awsNativeSchemaViolations(T.quicksightDashboard, injected(["name"], undefined))).toEqual([]);
  });
});

// The validator is generic: other resource types exercise the schema kinds the dashboard does not have.
describe("other aws-native types", () => {
  const role = `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/states`;
  test.each<[string, string, Json, string[]]>([
    [
      "a map's values",
      "aws-native:ssm:Parameter",
      { type: "String", value: "v", tags: { team: "data", cost: 1 } },
      ['Tags["cost"]: expected string, got number 1'],
    ],
    ["a map's keys are data, not property names", "aws-native:ssm:Parameter", { type: "String", value: "v", tags: { anyKey: "x" } }, []],
    [
      "a union matched by none of its members",
      "aws-native:stepfunctions:StateMachine",
      { roleArn: role, definitionSubstitutions: { Bucket: "b", Count: 3, On: true, Bad: { x: 1 } } },
      ['DefinitionSubstitutions["Bad"]: expected string | integer | boolean, got object'],
    ],
    [
      "an integer property given a fraction",
      "aws-native:sqs:Queue",
      { delaySeconds: 1.5 },
      ["DelaySeconds: expected integer, got number 1.5"],
    ],
    ["a resource's own Id property is aws-native's awsId", "aws-native:mediapackage:Channel", { awsId: "live" }, []],
    [
      "a resource's own Id property given as id",
      "aws-native:mediapackage:Channel",
      { id: "live" },
      ["Id: unknown property; aws-native spells it awsId", "Id: missing required property"],
    ],
  ])("%s (%s)", (_label, type, inputs, expected) => {
    expect(awsNativeSchemaViolations(type, inputs)).toEqual(expected);
  });
});

describe("aws-native's naming", () => {
  test.each([
    ["KPIVisual", "kpiVisual"],
    ["ExportToCSVOption", "exportToCsvOption"],
    ["AwsAccountId", "awsAccountId"],
    ["DataSetArn", "dataSetArn"],
    ["SubnetIDs", "subnetIds"],
    ["VPC", "vpc"],
    ["S3Uri", "s3Uri"],
    ["GraphQLApi", "graphQlApi"],
  ])("CloudFormation %s is aws-native %s", (cfn, sdk) => {
    expect(awsNativeName(cfn)).toBe(sdk);
  });

  // The database is newer than the SDK, so a definition may have properties the SDK lacks; never the reverse.
  test("every input the SDK declares for a recorded type, at the top and in every nested definition, names a registry property", () => {
    const interfaces = awsNativeInputInterfaces();
    const db = schemaDatabase();
    const unmatched: string[] = [];
    let checked = 0;
    const compare = (where: string, declared: { name: string }[], cfnNames: string[], topLevel: boolean): void => {
      const known = new Set(cfnNames.map((n) => (topLevel && n === "Id" ? "awsId" : awsNativeName(n))));
      unmatched.push(...declared.filter((p) => !known.has(p.name)).map((p) => `${where}.${p.name}`));
      checked += 1;
    };
    for (const type of new Set(awsNativeResources().map((r) => r.type))) {
      const [, module, resource] = type.split(":");
      const spec = db.lookup("resource", "cloudFormationType", "equals", cloudFormationType(type)).only();
      compare(type, awsNativeArgs(type), Object.keys(spec.properties), true);
      for (const { entity: definition } of db.follow("usesType", spec)) {
        const name = awsNativeName(definition.name);
        const pascalName = name.charAt(0).toUpperCase() + name.slice(1);
        // The SDK prefixes a definition with its resource's name unless it already starts with it.
        const declared = interfaces.get(`${module}.${resource}${pascalName}Args`) ?? interfaces.get(`${module}.${pascalName}Args`);
        if (declared !== undefined) compare(`${module}.${definition.name}`, declared, Object.keys(definition.properties), false);
      }
    }
    expect(unmatched).toEqual([]);
    // The dashboard alone has hundreds of nested definitions; all but output-only and newer ones are in the SDK.
    expect(checked).toBeGreaterThan(500);
  });
});
