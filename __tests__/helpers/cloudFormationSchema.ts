/**
 * Checks the inputs of an `@pulumi/aws-native` resource against the resource's CloudFormation registry
 * schema, as held by the schema database `@aws-cdk/aws-service-spec` ships (db.json.gz, built from
 * CloudFormation's registry schemas with the CDK team's patches). aws-native is generated from the registry:
 * its type token and its lowerCamelCase input names are derived from the CloudFormation type and
 * PascalCase property names (see {@link awsNativeName}), so each input maps back to exactly one property.
 *
 * What is checked, recursively through the nested type definitions: every key names a property of its
 * type (aws-native drops an input its schema does not know without a word, so a misspelt key would
 * otherwise deploy as if absent: `SdkToCfn` in pulumi-aws-native's provider/pkg/naming/convert.go copies
 * only the inputs its metadata lists), required properties are present, and values have the property's type
 * (string, number, integer, boolean, date-time, array, map, object, one of a union) and, where the schema
 * lists them, one of its allowed values. Patterns, lengths and ranges are not in the database.
 *
 * Values are what the Pulumi mocks recorded: Outputs resolved through the mocks' realistic values (an
 * Output still unknown is reported, never taken as valid), secrets still wrapped (checked through the
 * wrapper).
 *
 * Usage: `const errors = awsNativeSchemaViolations(recorded.type, recorded.inputs);` gives
 * `Definition.Sheets[0].SheetId: expected string, got number`-style lines, empty when the inputs conform.
 * The database loads once per module registry (one jest test file): about a second on an idle machine.
 */
import { loadAwsServiceSpecSync } from "@aws-cdk/aws-service-spec";
import type { PropertyType, ResourceProperties } from "@aws-cdk/service-spec-types";
import * as pulumi from "@pulumi/pulumi";
import { awsNativeOptionalArgs } from "./awsNativeDeclarations";
import { isSecretValue } from "./pulumiMocks";

/** The schema database `@aws-cdk/aws-service-spec` ships. */
export type SchemaDatabase = ReturnType<typeof loadAwsServiceSpecSync>;

let database: SchemaDatabase | undefined;
let tokens: Map<string, string> | undefined;

/** The schema database, loaded (gunzip + JSON parse of ~2.6 MB) on first use. */
export function schemaDatabase(): SchemaDatabase {
  database ??= loadAwsServiceSpecSync();
  return database;
}

/**
 * aws-native's name for a CloudFormation property, type definition or resource name: the trailing
 * letters of each run of capitals lowered, except the run's last capital when a word follows it, and
 * a plural `s` kept after an acronym (`KPIVisual` -> `kpiVisual`, `ExportToCSVOption` ->
 * `exportToCsvOption`, `SubnetIDs` -> `subnetIds`), then the first letter lowered. A port of
 * `ToSdkName`/`LowerAcronyms` in pulumi-aws-native's provider/pkg/naming/naming.go.
 */
export function awsNativeName(cloudFormationName: string): string {
  const lowered = lowerAcronyms(cloudFormationName);
  return lowered.charAt(0).toLowerCase() + lowered.slice(1);
}

/** The CloudFormation type of an aws-native type token (`aws-native:quicksight:Dashboard` -> `AWS::QuickSight::Dashboard`). */
export function cloudFormationType(pulumiType: string): string {
  tokens ??= awsNativeTokens(schemaDatabase());
  const found = tokens.get(pulumiType);
  if (found === undefined) {
    throw new Error(
      `no CloudFormation schema for ${pulumiType} in @aws-cdk/aws-service-spec; update the package, or teach awsNativeTokens (__tests__/helpers/cloudFormationSchema.ts) aws-native's name for the type`,
    );
  }
  return found;
}

/** Every way `inputs` (as the Pulumi mocks recorded them) break the registry schema of `pulumiType`; empty if none. */
export function awsNativeSchemaViolations(pulumiType: string, inputs: Record<string, unknown>): string[] {
  const resource = schemaDatabase().lookup("resource", "cloudFormationType", "equals", cloudFormationType(pulumiType)).only();
  // Required by the registry but optional in the SDK: the provider fills it (auto-naming) when absent.
  const providerFilled = awsNativeOptionalArgs(pulumiType);
  const violations: string[] = [];
  checkObject(resource.properties, inputs, "", violations, { topLevel: true, providerFilled });
  return violations;
}

/** What the top level of a resource does differently from its nested objects. */
interface Level {
  topLevel: boolean;
  /** aws-native names of required properties the provider fills itself when they are absent. */
  providerFilled: ReadonlySet<string>;
}
const NESTED: Level = { topLevel: false, providerFilled: new Set() };

// The legacy resource spec's built-in tag type: `{ Key, Value }`, both required strings.
const TAG_PROPERTIES: ResourceProperties = {
  Key: { type: { type: "string" }, required: true },
  Value: { type: { type: "string" }, required: true },
};

function checkObject(properties: ResourceProperties, value: unknown, path: string, out: string[], level: Level): void {
  if (!isPlainObject(value)) {
    out.push(`${path || "(inputs)"}: expected object, got ${kindOf(value)}`);
    return;
  }
  const names = inputNames(properties, level.topLevel);
  for (const [key, entry] of Object.entries(value)) {
    if (entry === undefined) continue;
    const name = names.get(key);
    if (name === undefined) {
      out.push(`${join(path, pascal(key))}: unknown property${spellingHint(key, names)}`);
      continue;
    }
    checkValue(properties[name].type, entry, join(path, name), out);
  }
  for (const [sdkName, name] of names) {
    if (properties[name].required && value[sdkName] === undefined && !level.providerFilled.has(sdkName)) {
      out.push(`${join(path, name)}: missing required property`);
    }
  }
}

function checkValue(type: PropertyType, raw: unknown, path: string, out: string[]): void {
  const value = isSecretValue(raw) ? raw.value : raw;
  // A preview records an unresolved Output as `unknown`; a deployment (what the mocks run by default)
  // drops it, so it shows as an absent property and fails if the property is required.
  if (pulumi.isUnknown(value)) {
    out.push(`${path}: unknown value (an Output the mocks did not resolve)`);
    return;
  }
  switch (type.type) {
    case "string":
      if (typeof value !== "string") return void out.push(mismatch(path, "string", value));
      return allowed(type.allowedValues, value, path, out);
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) return void out.push(mismatch(path, "integer", value));
      return allowed(type.allowedValues, value, path, out);
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) out.push(mismatch(path, "number", value));
      return;
    case "boolean":
      if (typeof value !== "boolean") out.push(mismatch(path, "boolean", value));
      return;
    case "date-time":
      if (typeof value !== "string" || Number.isNaN(Date.parse(value))) out.push(mismatch(path, "date-time string", value));
      return;
    case "null":
      if (value !== null) out.push(mismatch(path, "null", value));
      return;
    case "json":
      // Free-form JSON (policy documents and the like): aws-native passes it through untouched.
      return;
    case "tag":
      return checkObject(TAG_PROPERTIES, value, path, out, NESTED);
    case "ref":
      return checkObject(schemaDatabase().get("typeDefinition", type.reference).properties, value, path, out, NESTED);
    case "array":
      if (!Array.isArray(value)) return void out.push(mismatch(path, "array", value));
      value.forEach((element, i) => checkValue(type.element, element, `${path}[${i}]`, out));
      return;
    case "map":
      // Map keys are data, not property names: aws-native passes them through unconverted.
      if (!isPlainObject(value)) return void out.push(mismatch(path, "map", value));
      for (const [key, element] of Object.entries(value)) checkValue(type.element, element, `${path}[${JSON.stringify(key)}]`, out);
      return;
    case "union": {
      const attempts = type.types.map((member) => {
        const errors: string[] = [];
        checkValue(member, value, path, errors);
        return errors;
      });
      if (attempts.some((errors) => errors.length === 0)) return;
      // Report the member whose shape the value has (an object against the object member, ...), else them all.
      const shaped = attempts.filter((errors) => !errors.some((e) => e.startsWith(`${path}: expected`)));
      if (shaped.length === 1) out.push(...shaped[0]);
      else out.push(mismatch(path, type.types.map(typeLabel).join(" | "), value));
      return;
    }
  }
}

function allowed<T extends string | number>(values: readonly T[] | undefined, value: T, path: string, out: string[]): void {
  if (values !== undefined && values.length > 0 && !values.includes(value)) {
    out.push(`${path}: ${JSON.stringify(value)} is not one of ${values.join(", ")}`);
  }
}

const namesOf = new WeakMap<ResourceProperties, Map<string, string>>();

/** aws-native input name -> CloudFormation property name, for one object type. */
function inputNames(properties: ResourceProperties, topLevel: boolean): Map<string, string> {
  const cached = namesOf.get(properties);
  if (cached !== undefined) return cached;
  const names = new Map<string, string>();
  for (const name of Object.keys(properties)) {
    // A resource's own `Id` property is `awsId` in aws-native, as `id` is every Pulumi resource's id
    // (https://github.com/pulumi/pulumi-aws-native/pull/1387).
    const sdkName = topLevel && name === "Id" ? "awsId" : awsNativeName(name);
    const clash = names.get(sdkName);
    if (clash !== undefined) throw new Error(`CloudFormation properties ${clash} and ${name} both become aws-native input ${sdkName}`);
    names.set(sdkName, name);
  }
  namesOf.set(properties, names);
  return names;
}

/** `; aws-native spells it x` when `key` is a property's CloudFormation name or differs from its input name only in case. */
function spellingHint(key: string, names: ReadonlyMap<string, string>): string {
  const near = [...names].find(([sdkName, name]) => name === pascal(key) || sdkName.toLowerCase() === key.toLowerCase());
  return near === undefined ? "" : `; aws-native spells it ${near[0]}`;
}

/** Type token of every resource in the database, as aws-native generates it from the CloudFormation type. */
function awsNativeTokens(db: SchemaDatabase): Map<string, string> {
  const byToken = new Map<string, string>();
  for (const { cloudFormationType: type } of db.all("resource")) {
    const [, service, name] = type.split("::");
    // aws-native renames the Config service's module, which would clash with its provider configuration.
    const module = service === "Config" ? "configuration" : service.toLowerCase();
    const token = `aws-native:${module}:${pascal(awsNativeName(name))}`;
    const clash = byToken.get(token);
    if (clash !== undefined) throw new Error(`CloudFormation types ${clash} and ${type} both become ${token}`);
    byToken.set(token, type);
  }
  return byToken;
}

function lowerAcronyms(s: string): string {
  // A run of two or more capitals (digits count as capitals).
  const run = /[A-Z0-9]{2,}/.exec(s);
  if (run === null) return s;
  let end = run.index + run[0].length;
  // The run's last capital starts the next word, unless the run ends the name or a plural `s` follows.
  const pluralS = s[end] === "s" && (end + 1 === s.length || /[A-Z0-9]/.test(s[end + 1]));
  if (end !== s.length && !pluralS) end -= 1;
  const start = run.index + 1;
  return s.slice(0, start) + s.slice(start, end).toLowerCase() + lowerAcronyms(s.slice(end));
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function join(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function mismatch(path: string, expected: string, value: unknown): string {
  return `${path}: expected ${expected}, got ${kindOf(value)}${typeof value === "string" || typeof value === "number" ? ` ${JSON.stringify(value)}` : ""}`;
}

function typeLabel(type: PropertyType): string {
  if (type.type === "ref") return "object";
  if (type.type === "array") return `array of ${typeLabel(type.element)}`;
  return type.type;
}
