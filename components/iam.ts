/**
 * Typed helpers for IAM policy documents and least-privilege roles.
 *
 * Every document is built with `pulumi.jsonStringify`, so resource ARNs stay Outputs until deployment.
 * The helpers refuse what least privilege forbids: an Allow may not use a wildcard action (`*`,
 * `s3:*`, `s3:Get*`) nor the `*` resource, except for the few actions IAM gives no resource type at all
 * ({@link WILDCARD_ONLY_ACTIONS}). Denies may use `service:*` (the S3 TLS guard must cover every S3
 * action), never a bare `*`.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Policy language version of every document built here. */
export const IAM_POLICY_VERSION = "2012-10-17";

/** Statement effect. */
export type IamEffect = "Allow" | "Deny";

/** A statement's principal (resource policies only): everyone, or named AWS principals / services. */
export type IamPrincipal = "*" | { AWS: pulumi.Input<string> | pulumi.Input<string>[] } | { Service: string | string[] };

/** Condition block: operator → condition key → value(s), e.g. `{ Bool: { "aws:SecureTransport": "false" } }`. */
export type IamCondition = Record<string, Record<string, pulumi.Input<string> | pulumi.Input<string>[]>>;

/** One policy statement. Actions and resources are always lists so tests can compare them exactly. */
export interface PolicyStatement {
  /** Statement id saying what the statement is for, e.g. `WriteArchive`. */
  Sid: string;
  /** Allow or Deny. */
  Effect: IamEffect;
  /** Only in resource policies (bucket, queue, trust); identity policies have none. */
  Principal?: IamPrincipal;
  /** Exact action names, e.g. `s3:PutObject`. */
  Action: string[];
  /** Resource ARNs (Outputs allowed). */
  Resource: pulumi.Input<string>[];
  /** Optional condition block. */
  Condition?: IamCondition;
}

/**
 * The only actions an Allow may grant on resource `*`: IAM's service authorization reference lists no
 * resource type for them, so `*` is the only resource a statement can name (proven against IAM's data in
 * __tests__/backbone.test.ts). Each is here because AWS calls it with one of our roles' credentials:
 * - `athena:ListDataCatalogs`, `athena:ListWorkGroups`: QuickSight's Athena data source lists catalogs and
 *   workgroups with the data-source role (managed policy `AWSQuicksightAthenaAccess`;
 *   https://docs.aws.amazon.com/athena/latest/ug/datacatalogs-example-policies.html grants both on `*`).
 * - `lakeformation:GetDataAccess`: Athena asks Lake Formation for credentials to read registered
 *   locations (https://docs.aws.amazon.com/athena/latest/ug/lf-athena-user-permissions.html).
 */
export const WILDCARD_ONLY_ACTIONS = Object.freeze([
  "athena:ListDataCatalogs",
  "athena:ListWorkGroups",
  "lakeformation:GetDataAccess",
] as const);
/** One of {@link WILDCARD_ONLY_ACTIONS}. */
export type WildcardOnlyAction = (typeof WILDCARD_ONLY_ACTIONS)[number];

const EXACT_ACTION = /^[a-z0-9-]+:[A-Za-z0-9]+$/;
const SERVICE_WILDCARD_ACTION = /^[a-z0-9-]+:\*$/;

function checkActions(sid: string, effect: IamEffect, actions: string[]): void {
  if (actions.length === 0) throw new Error(`IAM statement ${sid}: needs at least one action.`);
  for (const action of actions) {
    const ok = EXACT_ACTION.test(action) || (effect === "Deny" && SERVICE_WILDCARD_ACTION.test(action));
    if (!ok) {
      throw new Error(
        `IAM statement ${sid}: action "${action}" is not an exact action name; ` +
          `list the actions the code calls (wildcards are only allowed as "service:*" in a Deny).`,
      );
    }
  }
}

function checkResource(sid: string, effect: IamEffect, actions: readonly string[], resource: unknown): void {
  if (effect !== "Allow" || resource !== "*") return;
  const scopable = actions.filter((a) => !(WILDCARD_ONLY_ACTIONS as readonly string[]).includes(a));
  if (scopable.length > 0) {
    throw new Error(
      `IAM statement ${sid}: Allow on resource "*" is not least privilege; name the ARNs ` +
        `(${scopable.join(", ")} accept(s) one; only ${WILDCARD_ONLY_ACTIONS.join(", ")} have no resource type).`,
    );
  }
}

function statement(
  sid: string,
  effect: IamEffect,
  actions: string[],
  resources: pulumi.Input<string>[],
  extra: { principal?: IamPrincipal; condition?: IamCondition },
): PolicyStatement {
  checkActions(sid, effect, actions);
  if (resources.length === 0) throw new Error(`IAM statement ${sid}: needs at least one resource.`);
  // Plain strings are checked now; Output resources are checked again when the document resolves.
  resources.forEach((r) => checkResource(sid, effect, actions, r));
  return {
    Sid: sid,
    Effect: effect,
    ...(extra.principal === undefined ? {} : { Principal: extra.principal }),
    Action: [...actions],
    Resource: [...resources],
    ...(extra.condition === undefined ? {} : { Condition: extra.condition }),
  };
}

/** An identity-policy Allow of exact `actions` on exact `resources`. */
export function allow(sid: string, actions: string[], resources: pulumi.Input<string>[], condition?: IamCondition): PolicyStatement {
  return statement(sid, "Allow", actions, resources, { condition });
}

/**
 * An identity-policy Allow of actions that have no resource type ({@link WILDCARD_ONLY_ACTIONS}), on `*`,
 * the only resource IAM accepts for them. Keep such statements apart from scoped ones.
 */
export function allowWithoutResourceType(sid: string, actions: WildcardOnlyAction[]): PolicyStatement {
  return statement(sid, "Allow", actions, ["*"], {});
}

/** A resource-policy Allow for `principal`. */
export function allowPrincipal(
  sid: string,
  principal: IamPrincipal,
  actions: string[],
  resources: pulumi.Input<string>[],
  condition?: IamCondition,
): PolicyStatement {
  return statement(sid, "Allow", actions, resources, { principal, condition });
}

/** A resource-policy Deny for everyone (`Principal: "*"`) matching `condition`. */
export function denyEveryone(sid: string, actions: string[], resources: pulumi.Input<string>[], condition: IamCondition): PolicyStatement {
  return statement(sid, "Deny", actions, resources, { principal: "*", condition });
}

/**
 * Serializes statements into a policy document. Outputs inside statements are resolved; a resolved
 * Allow on `*` throws (an ARN output can only be `*` through a wiring bug).
 */
export function policyDocument(statements: pulumi.Input<PolicyStatement>[]): pulumi.Output<string> {
  if (statements.length === 0) throw new Error("A policy document needs at least one statement.");
  const checked = pulumi.output(statements).apply((resolved) => {
    for (const s of resolved) s.Resource.forEach((r) => checkResource(s.Sid, s.Effect, s.Action, r));
    return resolved;
  });
  return pulumi.jsonStringify({ Version: IAM_POLICY_VERSION, Statement: checked });
}

/** Trust policy letting one AWS service assume a role, optionally only on behalf of the given condition. */
export function serviceTrustPolicy(service: string, condition?: IamCondition): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: IAM_POLICY_VERSION,
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: service },
        Action: "sts:AssumeRole",
        ...(condition === undefined ? {} : { Condition: condition }),
      },
    ],
  });
}

/** Arguments of {@link LeastPrivilegeRole}. */
export interface LeastPrivilegeRoleArgs {
  /** Service principal allowed to assume the role, e.g. `lambda.amazonaws.com`. */
  service: string;
  /** Condition on the trust statement (confused-deputy protection), e.g. `aws:SourceAccount`. None by default. */
  trustCondition?: IamCondition;
  /** Everything the role may do, as one inline policy. */
  statements: pulumi.Input<PolicyStatement>[];
  /** Role description. */
  description?: pulumi.Input<string>;
  /** Tags for the role. None by default. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * A role with one inline policy and no managed policies: what it may do is exactly `statements`.
 * Children are `${name}` (the role) and `${name}-policy`.
 */
export class LeastPrivilegeRole extends pulumi.ComponentResource {
  /** The role. */
  public readonly role: aws.iam.Role;
  /** Its inline policy; depend on it before anything uses the role's permissions. */
  public readonly policy: aws.iam.RolePolicy;
  /** The role ARN. */
  public readonly arn: pulumi.Output<string>;
  /** The role name. */
  public readonly name: pulumi.Output<string>;

  constructor(name: string, args: LeastPrivilegeRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("crypto-analytics:pipeline:LeastPrivilegeRole", name, {}, opts);
    this.role = new aws.iam.Role(
      name,
      {
        assumeRolePolicy: serviceTrustPolicy(args.service, args.trustCondition),
        description: args.description,
        tags: args.tags,
      },
      { parent: this },
    );
    this.policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      { role: this.role.id, policy: policyDocument(args.statements) },
      { parent: this },
    );
    this.arn = this.role.arn;
    this.name = this.role.name;
    this.registerOutputs({ arn: this.arn, name: this.name });
  }
}
