/**
 * IAM evaluation harness: every grant the components create, taken from the resources recorded under the
 * Pulumi mocks (see pulumiMocks.ts), evaluated by a real IAM policy evaluator (@cloud-copilot/iam-simulate).
 *
 *   const iam = iamHarness(mocks.resources);             // after mocks.settled()
 *   await iam.can("lake-ingest-role", "s3:PutObject", `${archiveArn}/raw/…`)   // "Allowed"
 *
 * What it extracts, as plain JSON:
 * - every `aws:iam/role:Role`: its trust policy, inline `inlinePolicies`, every `aws:iam/rolePolicy:RolePolicy`
 *   on it, and every customer-managed `aws:iam/policy:Policy` attached to it (`managedPolicyArns` or a
 *   `RolePolicyAttachment`). An AWS-managed policy cannot be evaluated offline, so a role with one is an error;
 * - every resource policy: `BucketPolicy` (and a bucket's inline `policy`), `QueuePolicy` (and a queue's
 *   inline `policy`), the key policy of every `aws:kms/key:Key`.
 * A recorded resource that grants access in a way the harness does not evaluate (a Lambda permission, a topic
 * policy, user or group policies…) is an error too: a new kind of grant must be taught here, never skipped.
 * Lake Formation grants (`aws:lakeformation/permissions:Permissions`) are not IAM and are left to the
 * component tests: they only add a second check where Lake Formation governs the catalog, never widen IAM.
 *
 * How a request is decided, as AWS does for a same-account request: the role's identity policies together
 * with the target's resource policy (the bucket's for an object or bucket ARN, the queue's, the key's). The
 * principal is a session of the role (`arn:aws:sts::<account>:assumed-role/<role>/<session>`) and the
 * context carries what AWS would set: `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:SecureTransport`
 * = true and, for S3, `s3:TlsVersion` = {@link DEFAULT_TLS_VERSION}. A customer-managed key the stack does
 * not create (an argument such as `kmsKeyArn`) is assumed to carry AWS's default key policy, which lets
 * the account's IAM policies decide ({@link defaultKeyPolicy}).
 *
 * A request the evaluator cannot check (unknown action, a resource ARN of no type the action accepts, an
 * invalid policy, a context key the action never sees) throws instead of answering "denied", so a typo in
 * a "must never" table cannot pass vacuously.
 */
import { EvaluationResult, isWildcardOnlyAction, runSimulation, runUnsafeSimulation, Simulation } from "@cloud-copilot/iam-simulate";
import { isSecretValue, RecordedResource } from "./pulumiMocks";

/** What the evaluator decided. */
export type Decision = EvaluationResult;

/** A policy document as JSON. */
export interface PolicyDocument {
  Version: string;
  Statement: PolicyJsonStatement[];
}

/** One statement as JSON (fields as AWS allows them: a string or a list). */
export interface PolicyJsonStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

/** A policy document and where it came from, e.g. `RolePolicy lake-ingest-role-policy`. */
export interface LocatedPolicy {
  /** Recorded resource type's last segment and logical name, e.g. `BucketPolicy lake-archive-policy`. */
  origin: string;
  /** `identity` (what a role may do), `trust` (who may assume it) or `resource` (bucket, queue, key). */
  kind: "identity" | "trust" | "resource";
  document: PolicyDocument;
}

/** One role with every policy that decides what it may do. */
export interface RoleGrants {
  /** Logical (Pulumi) name, e.g. `lake-ingest-role`. */
  logicalName: string;
  /** Physical role name. */
  roleName: string;
  arn: string;
  account: string;
  trustPolicy: PolicyDocument;
  /** Inline and attached customer-managed policies, each with its origin. */
  identityPolicies: LocatedPolicy[];
}

/** A resource policy and the resource ARN it protects. */
export interface ResourceGrants {
  /** ARN of the bucket, queue or key. */
  arn: string;
  policy: LocatedPolicy;
}

/** Context keys and values of a request, added to (and overriding) the defaults. */
export type RequestContext = Record<string, string | string[]>;

/** The harness returned by {@link iamHarness}. */
export interface IamHarness {
  /** Every role, by logical name. */
  readonly roles: ReadonlyMap<string, RoleGrants>;
  /** Every resource policy. */
  readonly resourcePolicies: readonly ResourceGrants[];
  /** One role by logical name; throws listing the known roles if absent. */
  role(logicalName: string): RoleGrants;
  /**
   * Decides whether `role` may perform `action` on `resource`. Several resources are one request that AWS
   * authorises on each of them (Glue: catalog, database and table): the answer is the strictest one.
   */
  can(role: string, action: string, resource: string | readonly string[], context?: RequestContext): Promise<Decision>;
  /**
   * Decides a request of a principal the recorded resources give no identity policy (a service such as
   * `cloudwatch.amazonaws.com`): the target's resource policy alone decides. For `sts:AssumeRole` on a
   * role ARN that is the role's trust policy.
   */
  principalCan(principal: string, action: string, resource: string, context?: RequestContext): Promise<Decision>;
  /** Every policy document: identity, trust and resource policies. */
  policies(): LocatedPolicy[];
}

/** Options of {@link iamHarness}. */
export interface IamHarnessOptions {
  /**
   * Key policy of a KMS key ARN the recorded resources do not create. Defaults to {@link defaultKeyPolicy}
   * of the key's account.
   */
  externalKeyPolicy?: (keyArn: string) => PolicyDocument;
}

/** TLS version the default context of an S3 request carries. */
export const DEFAULT_TLS_VERSION = "1.3";

/** Session name in the principal ARN of every request (any name: policies here never test it). */
export const SESSION_NAME = "iam-harness";

/**
 * Condition keys whose variable part contains colons (`kms:EncryptionContext:aws:s3:arn`). The evaluator's
 * request validation only recognises variable keys separated by `/` (`aws:ResourceTag/x`), so it drops
 * these; such requests are validated first and then evaluated with the full context (see `can`).
 */
const COLON_VARIABLE_CONTEXT_KEYS = [/^kms:EncryptionContext:.+/i];

/** A Lambda function's resource-policy statement (evaluated as the function's resource policy). */
const LAMBDA_PERMISSION = "aws:lambda/permission:Permission";

/** Recorded types that grant access in a way this harness does not evaluate yet. */
const UNEVALUATED_GRANT_TYPES = [
  "aws:sns/topicPolicy:TopicPolicy",
  "aws:iam/userPolicy:UserPolicy",
  "aws:iam/groupPolicy:GroupPolicy",
  "aws:iam/userPolicyAttachment:UserPolicyAttachment",
  "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
  "aws:iam/policyAttachment:PolicyAttachment",
  "aws:ssm/resourcePolicy:ResourcePolicy",
  "aws:glue/resourcePolicy:ResourcePolicy",
  "aws:kms/grant:Grant",
  "aws:s3/accessPoint:AccessPoint",
  "aws:secretsmanager/secretPolicy:SecretPolicy",
  "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
];

const T = {
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  policy: "aws:iam/policy:Policy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  bucket: "aws:s3/bucket:Bucket",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  key: "aws:kms/key:Key",
} as const;

/**
 * AWS's default key policy: the account root may use the key, which makes IAM policies of the account's
 * principals decisive. (Without it, or a statement naming the principal, KMS denies whatever IAM allows.)
 */
export function defaultKeyPolicy(account: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "EnableIamPolicies", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "kms:*", Resource: "*" },
    ],
  };
}

/** Builds the harness from recorded resources (usually `mocks.resources` after `mocks.settled()`). */
export function iamHarness(resources: readonly RecordedResource[], options: IamHarnessOptions = {}): IamHarness {
  const unevaluated = resources.filter((r) => UNEVALUATED_GRANT_TYPES.includes(r.type));
  if (unevaluated.length > 0) {
    throw new Error(
      `iamHarness does not evaluate ${unevaluated.map((r) => `${r.type} ${r.name}`).join(", ")}; teach it that kind of grant (__tests__/helpers/iamHarness.ts)`,
    );
  }
  const roles = extractRoles(resources);
  const resourcePolicies = extractResourcePolicies(resources);
  const externalKeyPolicy = options.externalKeyPolicy ?? ((arn: string) => defaultKeyPolicy(arnParts(arn).account));

  const role = (logicalName: string): RoleGrants => {
    const found = roles.get(logicalName);
    if (found === undefined) throw new Error(`no role named ${logicalName}; roles: ${[...roles.keys()].join(", ") || "none"}`);
    return found;
  };

  const resourcePolicyOf = (resourceArn: string): PolicyDocument | undefined => {
    const { service } = arnParts(resourceArn);
    if (service === "iam") return [...roles.values()].find((r) => r.arn === resourceArn)?.trustPolicy;
    if (service === "s3") {
      const bucketArn = `arn:aws:s3:::${resourceArn.split(":::")[1].split("/")[0]}`;
      return resourcePolicies.find((p) => p.arn === bucketArn)?.policy.document;
    }
    const own = resourcePolicies.find((p) => p.arn === resourceArn)?.policy.document;
    if (own !== undefined || service !== "kms") return own;
    return externalKeyPolicy(resourceArn);
  };

  const decideOne = async (grants: RoleGrants, action: string, resource: string, context: RequestContext): Promise<Decision> => {
    const defaults: RequestContext = {
      "aws:PrincipalArn": grants.arn,
      "aws:PrincipalAccount": grants.account,
      "aws:SecureTransport": "true",
      ...(action.startsWith("s3:") ? { "s3:TlsVersion": DEFAULT_TLS_VERSION } : {}),
    };
    const simulation: Simulation = {
      request: {
        principal: `arn:aws:sts::${grants.account}:assumed-role/${grants.roleName}/${SESSION_NAME}`,
        action,
        resource: { resource, accountId: arnParts(resource).account || grants.account },
        contextVariables: { ...defaults, ...context },
      },
      identityPolicies: grants.identityPolicies.map((p) => ({ name: p.origin, policy: p.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: resourcePolicyOf(resource),
    };
    return simulate(simulation, Object.keys(context), `${grants.logicalName} ${action} ${resource}`);
  };

  return {
    roles,
    resourcePolicies,
    role,
    async can(roleName, action, resource, context = {}) {
      const grants = role(roleName);
      const targets = typeof resource === "string" ? [resource] : [...resource];
      if (targets.length === 0) throw new Error("can(): name at least one resource");
      const decisions = await Promise.all(targets.map((r) => decideOne(grants, action, r, context)));
      return strictest(decisions);
    },
    async principalCan(principal, action, resource, context = {}) {
      const simulation: Simulation = {
        request: { principal, action, resource: { resource, accountId: arnParts(resource).account }, contextVariables: { ...context } },
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: resourcePolicyOf(resource),
      };
      return simulate(simulation, Object.keys(context), `${principal} ${action} ${resource}`);
    },
    policies: () => [
      ...[...roles.values()].flatMap((r) => [
        { origin: `Role ${r.logicalName}`, kind: "trust" as const, document: r.trustPolicy },
        ...r.identityPolicies,
      ]),
      ...resourcePolicies.map((p) => p.policy),
    ],
  };
}

/** One use of a wildcard, or of a negated element, in a statement. */
export interface WildcardUse {
  /** Where the statement is, e.g. `BucketPolicy lake-archive-policy`. */
  origin: string;
  kind: LocatedPolicy["kind"];
  /** The statement's Sid, or `#<index>` without one. */
  sid: string;
  effect: "Allow" | "Deny";
  /** `Action` (a `*` in an action), `Resource` (the bare `*`), `Principal` (everyone, on an Allow), or a `Not…` element (always reported). */
  element: "Action" | "Resource" | "Principal" | "NotAction" | "NotResource" | "NotPrincipal";
  value: string;
  /**
   * For `Resource: "*"` in an identity policy: whether every action of the statement is one that supports
   * no narrower resource (AWS's "wildcard-only" actions). Undefined elsewhere.
   */
  allActionsWildcardOnly?: boolean;
}

/**
 * Every wildcard in the given policies: actions containing `*`, `*` resources, Allow statements for
 * every principal, and every `NotAction`/`NotResource`/`NotPrincipal` (each grants everything it does not
 * name).
 */
export async function wildcardUses(policies: readonly LocatedPolicy[]): Promise<WildcardUse[]> {
  const uses: WildcardUse[] = [];
  for (const { origin, kind, document } of policies) {
    for (const [index, s] of document.Statement.entries()) {
      const base = { origin, kind, sid: s.Sid ?? `#${index}`, effect: s.Effect };
      const actions = list(s.Action);
      for (const action of actions) if (action.includes("*")) uses.push({ ...base, element: "Action", value: action });
      for (const resource of list(s.Resource)) {
        if (resource !== "*") continue;
        const allActionsWildcardOnly = kind === "identity" ? await everyActionWildcardOnly(actions) : undefined;
        uses.push({
          ...base,
          element: "Resource",
          value: resource,
          ...(allActionsWildcardOnly === undefined ? {} : { allActionsWildcardOnly }),
        });
      }
      if (s.Effect === "Allow" && everyone(s.Principal)) uses.push({ ...base, element: "Principal", value: JSON.stringify(s.Principal) });
      for (const element of ["NotAction", "NotResource", "NotPrincipal"] as const) {
        if (s[element] !== undefined) uses.push({ ...base, element, value: JSON.stringify(s[element]) });
      }
    }
  }
  return uses;
}

async function everyActionWildcardOnly(actions: readonly string[]): Promise<boolean> {
  for (const action of actions) {
    const [service, name] = action.split(":");
    if (name === undefined || name.includes("*") || !(await isWildcardOnlyAction(service, name))) return false;
  }
  return actions.length > 0;
}

function everyone(principal: unknown): boolean {
  if (principal === "*") return true;
  if (typeof principal === "object" && principal !== null) {
    return Object.values(principal).some((v) => v === "*" || (Array.isArray(v) && v.includes("*")));
  }
  return false;
}

/** Runs the evaluator: validated first; requests with colon-variable keys are then evaluated with them. */
async function simulate(simulation: Simulation, callerKeys: readonly string[], what: string): Promise<Decision> {
  const result = await runSimulation(simulation, {});
  if (result.resultType === "error") {
    throw new Error(`IAM evaluator refused the request ${what}: ${JSON.stringify(result.errors)}`);
  }
  if (result.resultType === "wildcard") {
    throw new Error(`request ${what}: name one concrete resource, not a pattern`);
  }
  const ignored = result.result.ignoredContextKeys ?? [];
  const colonKeys = ignored.filter((key) => COLON_VARIABLE_CONTEXT_KEYS.some((pattern) => pattern.test(key)));
  const unknown = ignored.filter((key) => callerKeys.includes(key) && !colonKeys.includes(key));
  if (unknown.length > 0) throw new Error(`request ${what}: the action never sees context key(s) ${unknown.join(", ")}`);
  if (colonKeys.length === 0) return result.overallResult;
  // The request and its policies passed validation above; evaluate them again with the keys the
  // validator dropped. The resource policy is handed over pre-validated: the unsafe entry point only
  // names policies that carry metadata.
  return runUnsafeSimulation(
    {
      ...simulation,
      resourcePolicy:
        simulation.resourcePolicy === undefined
          ? undefined
          : { __validated: true, policyDocument: simulation.resourcePolicy, metadata: { name: "ResourcePolicy" }, errors: [] },
    },
    {},
  );
}

/** ExplicitlyDenied beats ImplicitlyDenied beats Allowed. */
function strictest(decisions: readonly Decision[]): Decision {
  if (decisions.includes("ExplicitlyDenied")) return "ExplicitlyDenied";
  if (decisions.includes("ImplicitlyDenied")) return "ImplicitlyDenied";
  return "Allowed";
}

function extractRoles(resources: readonly RecordedResource[]): Map<string, RoleGrants> {
  const customerPolicies = new Map(
    resources.filter((r) => r.type === T.policy).map((r) => [stringState(r, "arn"), located(r, "identity", r.inputs.policy)]),
  );
  const attached = (role: RecordedResource, policyArn: string, via: string): LocatedPolicy => {
    const found = customerPolicies.get(policyArn);
    if (found === undefined) {
      throw new Error(
        `role ${role.name}: ${via} attaches ${policyArn}, which no recorded aws:iam/policy:Policy defines (AWS-managed policies cannot be evaluated offline)`,
      );
    }
    return found;
  };
  const roles = new Map<string, RoleGrants>();
  for (const r of resources.filter((x) => x.type === T.role)) {
    const roleName = stringState(r, "name");
    const arn = stringState(r, "arn");
    const refersToRole = (value: unknown): boolean => value === roleName || value === arn || value === r.id;
    const inline = (r.inputs.inlinePolicies as { name?: string; policy?: unknown }[] | undefined) ?? [];
    const identityPolicies: LocatedPolicy[] = [
      ...inline.map((p, i) => ({ ...located(r, "identity", p.policy), origin: `Role ${r.name} inline ${p.name ?? i}` })),
      ...resources
        .filter((x) => x.type === T.rolePolicy && refersToRole(x.inputs.role))
        .map((x) => located(x, "identity", x.inputs.policy)),
      ...((r.inputs.managedPolicyArns as string[] | undefined) ?? []).map((a) => attached(r, a, "managedPolicyArns")),
      ...resources
        .filter((x) => x.type === T.attachment && refersToRole(x.inputs.role))
        .map((x) => attached(r, String(x.inputs.policyArn), `RolePolicyAttachment ${x.name}`)),
    ];
    roles.set(r.name, {
      logicalName: r.name,
      roleName,
      arn,
      account: arnParts(arn).account,
      trustPolicy: located(r, "trust", r.inputs.assumeRolePolicy).document,
      identityPolicies,
    });
  }
  return roles;
}

function extractResourcePolicies(resources: readonly RecordedResource[]): ResourceGrants[] {
  const grants: ResourceGrants[] = [];
  const bucketArnByName = new Map(
    resources.filter((r) => r.type === T.bucket).map((r) => [stringState(r, "bucket"), stringState(r, "arn")]),
  );
  const queueArnByUrl = new Map(resources.filter((r) => r.type === T.queue).map((r) => [stringState(r, "url"), stringState(r, "arn")]));
  const functionArnByName = new Map(
    resources.filter((r) => r.type === "aws:lambda/function:Function").map((r) => [stringState(r, "name"), stringState(r, "arn")]),
  );
  for (const r of resources) {
    switch (r.type) {
      case T.bucketPolicy: {
        const arn = bucketArnByName.get(String(r.inputs.bucket));
        if (arn === undefined)
          throw new Error(`BucketPolicy ${r.name} names bucket ${String(r.inputs.bucket)}, which no recorded bucket has`);
        grants.push({ arn, policy: located(r, "resource", r.inputs.policy) });
        break;
      }
      case T.queuePolicy: {
        const arn = queueArnByUrl.get(String(r.inputs.queueUrl));
        if (arn === undefined)
          throw new Error(`QueuePolicy ${r.name} names queue ${String(r.inputs.queueUrl)}, which no recorded queue has`);
        grants.push({ arn, policy: located(r, "resource", r.inputs.policy) });
        break;
      }
      case LAMBDA_PERMISSION: {
        // A Lambda permission is one statement of the function's resource policy, as Lambda's AddPermission writes it.
        const arn = functionArnByName.get(String(r.inputs.function));
        if (arn === undefined)
          throw new Error(`Permission ${r.name} names function ${String(r.inputs.function)}, which no recorded function has`);
        const statement = {
          Sid: r.name,
          Effect: "Allow",
          Principal: { Service: String(r.inputs.principal) },
          Action: String(r.inputs.action),
          Resource: arn,
          ...(r.inputs.sourceArn !== undefined ? { Condition: { ArnLike: { "AWS:SourceArn": String(r.inputs.sourceArn) } } } : {}),
        };
        grants.push({ arn, policy: located(r, "resource", { Version: "2012-10-17", Statement: [statement] }) });
        break;
      }
      case T.bucket:
      case T.queue:
        if (r.inputs.policy !== undefined) grants.push({ arn: stringState(r, "arn"), policy: located(r, "resource", r.inputs.policy) });
        break;
      case T.key:
        grants.push({
          arn: stringState(r, "arn"),
          policy: located(r, "resource", r.inputs.policy ?? defaultKeyPolicy(arnParts(stringState(r, "arn")).account)),
        });
        break;
    }
  }
  for (const arn of new Set(grants.map((g) => g.arn))) {
    if (grants.filter((g) => g.arn === arn).length > 1) throw new Error(`${arn} has more than one resource policy; AWS keeps only one`);
  }
  return grants;
}

/** A policy input (JSON text, secret-wrapped text or an object) as a located document. */
function located(r: RecordedResource, kind: LocatedPolicy["kind"], input: unknown): LocatedPolicy {
  const value = isSecretValue(input) ? input.value : input;
  const document = (typeof value === "string" ? JSON.parse(value) : value) as PolicyDocument | undefined;
  if (typeof document !== "object" || document === null || !Array.isArray(document.Statement)) {
    throw new Error(`${r.type} ${r.name}: no policy document with a Statement list`);
  }
  return { origin: `${r.type.split(":").pop()} ${r.name}`, kind, document };
}

function stringState(r: RecordedResource, field: string): string {
  const value = r.state[field];
  if (typeof value !== "string") throw new Error(`${r.type} ${r.name}: ${field} is not a string`);
  return value;
}

function arnParts(arn: string): { service: string; account: string } {
  const [, , service = "", , account = ""] = arn.split(":");
  return { service, account };
}

function list(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : typeof value === "string" ? [value] : value;
}
