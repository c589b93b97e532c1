/**
 * What the `@pulumi/aws-native` SDK declares, read from its .d.ts files with the TypeScript compiler: the
 * properties (and which are optional) of a resource's `XxxArgs` and of the nested input interfaces in
 * `types/input.d.ts`. The SDK is generated from the CloudFormation registry, so these declarations are how
 * tests check that `awsNativeName` (cloudFormationSchema.ts) reproduces aws-native's naming.
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

/** One property of a declared interface. */
export interface DeclaredProperty {
  /** The name as declared (aws-native's lowerCamelCase input name). */
  name: string;
  /** Declared with `?`. */
  optional: boolean;
}

const SDK_ROOT = path.dirname(require.resolve("@pulumi/aws-native/package.json"));

let inputInterfaces: Map<string, DeclaredProperty[]> | undefined;
const argsByType = new Map<string, DeclaredProperty[]>();

/** Properties of the `XxxArgs` interface of an aws-native resource type token (`aws-native:quicksight:Dashboard`). */
export function awsNativeArgs(pulumiType: string): DeclaredProperty[] {
  const cached = argsByType.get(pulumiType);
  if (cached !== undefined) return cached;
  const [, module, resource] = pulumiType.split(":");
  const file = path.join(SDK_ROOT, module, `${resource.charAt(0).toLowerCase()}${resource.slice(1)}.d.ts`);
  const args = declaredInterfaces(file).get(`${resource}Args`);
  if (args === undefined) throw new Error(`${file} declares no interface ${resource}Args`);
  argsByType.set(pulumiType, args);
  return args;
}

/** aws-native names of the inputs a resource type declares optional. */
export function awsNativeOptionalArgs(pulumiType: string): Set<string> {
  return new Set(
    awsNativeArgs(pulumiType)
      .filter((p) => p.optional)
      .map((p) => p.name),
  );
}

/**
 * Properties of every nested input interface of the SDK, by `module.Interface`
 * (`quicksight.DashboardKpiVisualArgs`). Parses the 6.7 MB `types/input.d.ts` once, in about a second.
 */
export function awsNativeInputInterfaces(): Map<string, DeclaredProperty[]> {
  inputInterfaces ??= declaredInterfaces(path.join(SDK_ROOT, "types", "input.d.ts"));
  return inputInterfaces;
}

/** Properties of every interface in a declaration file, keyed `namespace.Interface` (or `Interface` outside namespaces). */
function declaredInterfaces(file: string): Map<string, DeclaredProperty[]> {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2020, false);
  const found = new Map<string, DeclaredProperty[]>();
  const visit = (node: ts.Node, namespace: string): void => {
    if (ts.isModuleDeclaration(node)) {
      if (node.body !== undefined) ts.forEachChild(node.body, (child) => visit(child, node.name.text));
      return;
    }
    if (ts.isInterfaceDeclaration(node)) {
      const properties = node.members
        .filter(ts.isPropertySignature)
        .map((m) => ({ name: m.name.getText(source), optional: m.questionToken !== undefined }));
      found.set(namespace === "" ? node.name.text : `${namespace}.${node.name.text}`, properties);
      return;
    }
    ts.forEachChild(node, (child) => visit(child, namespace));
  };
  visit(source, "");
  return found;
}
