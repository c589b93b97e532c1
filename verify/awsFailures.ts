/**
 * Turns an AWS error into the two halves of a failed check's line: what happened and what to do about it.
 * The error's own message is kept; the fix names the IAM action, the resource and the principal whenever
 * AWS's message or the call verify was making says which.
 */
import { isAthenaQueryError } from "../functions/athenaQueryEngine";

/** What a failed check reports. */
export interface Failure {
  /** What happened, one line. */
  detail: string;
  /** What to do about it, one line. */
  fix: string;
}

/** The call that failed, for fixes the error message does not spell out. */
export interface FailedCall {
  /** IAM action of the call, e.g. `s3:ListBucket`. */
  action: string;
  /** ARN of the resource the call was on. */
  resource: string;
  /** Region the call went to, for "does not exist" fixes. */
  region: string;
}

/** Error names that mean the caller lacks a permission (Lambda, Athena, QuickSight; S3; SNS). */
const ACCESS_DENIED = new Set(["AccessDeniedException", "AccessDenied", "AuthorizationErrorException", "UnauthorizedOperation"]);
/** Error names that mean the resource is not there. */
const NOT_FOUND = new Set(["ResourceNotFoundException", "NotFoundException", "NoSuchBucket", "NotFound"]);
/** Error names that mean the caller's credentials are missing or expired. */
const NO_CREDENTIALS = new Set([
  "CredentialsProviderError",
  "ExpiredToken",
  "ExpiredTokenException",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
]);
/** Error names of throttling. */
const THROTTLED = new Set(["TooManyRequestsException", "ThrottlingException", "Throttling", "TooManyRequests"]);

/**
 * AWS's wording of an authorization failure (IAM, STS and every service that reports the evaluated request):
 * "User: <principal ARN> is not authorized to perform: <action> on resource: <ARN> because ...". See
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
 */
const NOT_AUTHORIZED = /User: (\S+) is not authorized to perform: ([\w-]+:\w+)(?: on resource: (\S+?))?(?:\s|$|\.(?:\s|$))/;

/** The parts of an AWS "not authorized" message. */
export interface AccessDenial {
  /** The principal's ARN as AWS reports it. */
  principal: string;
  /** The IAM action refused. */
  action: string;
  /** The resource ARN, when AWS names it. */
  resource?: string;
}

/** The principal, action and resource of an AWS "not authorized" message; undefined for any other text. */
export function parseAccessDenial(message: string): AccessDenial | undefined {
  const m = NOT_AUTHORIZED.exec(message);
  return m === null ? undefined : { principal: m[1], action: m[2], ...(m[3] !== undefined ? { resource: m[3] } : {}) };
}

/**
 * A principal ARN as a reader names it: `role <name>` for an assumed role or a role, `user <name>` for an
 * IAM user, else the ARN itself.
 */
export function principalName(arn: string): string {
  const role = /:assumed-role\/([^/]+)\//.exec(arn) ?? /:role\/(?:.*\/)?([^/]+)$/.exec(arn);
  if (role !== null) return `role ${role[1]}`;
  const user = /:user\/(?:.*\/)?([^/]+)$/.exec(arn);
  return user !== null ? `user ${user[1]}` : arn;
}

/**
 * The fix for an authorization failure described by `message`: `grant <action> on <resource> to <role>`,
 * from the message when AWS spelled it out, else from `call` and "the credentials verify runs with".
 * Undefined when the message is no authorization failure.
 */
export function accessDeniedFix(message: string, call?: Omit<FailedCall, "region">): string | undefined {
  const denial = parseAccessDenial(message);
  if (denial !== undefined)
    return `grant ${denial.action} on ${denial.resource ?? call?.resource ?? "the resource"} to ${principalName(denial.principal)}`;
  if (call === undefined) return undefined;
  return `grant ${call.action} on ${call.resource} to the credentials verify runs with (see \`aws sts get-caller-identity\`)`;
}

/** Name of an SDK error (its `name`, else its `Code`). */
function errorName(err: unknown): string {
  const e = err as { name?: unknown; Code?: unknown } | null;
  return typeof e?.name === "string" ? e.name : typeof e?.Code === "string" ? e.Code : "Error";
}

/** HTTP status of an SDK error, when it got a response. */
function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** The failure an error thrown by `call` means. */
export function describeAwsError(err: unknown, call: FailedCall): Failure {
  if (isAthenaQueryError(err)) return describeAthenaFailure(err.message, err.kind, err.stateChangeReason);
  const name = errorName(err);
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ").trim();
  const detail = `${call.action} failed: ${name}: ${message}`;
  if (ACCESS_DENIED.has(name) || httpStatus(err) === 403 || parseAccessDenial(message) !== undefined) {
    return { detail, fix: accessDeniedFix(message, call) as string };
  }
  if (NOT_FOUND.has(name) || httpStatus(err) === 404) {
    return {
      detail,
      fix: `${call.resource} does not exist in ${call.region}: deploy the stack (\`pulumi up\`), or \`pulumi refresh\` if it was deleted outside Pulumi`,
    };
  }
  if (NO_CREDENTIALS.has(name)) {
    return { detail, fix: "configure AWS credentials for the stack's account (AWS_PROFILE, `aws configure` or `aws sso login`)" };
  }
  if (THROTTLED.has(name)) return { detail, fix: "AWS throttled the request: run verify again in a minute" };
  return { detail, fix: `see the error above; ${call.action} on ${call.resource} must succeed for this check` };
}

/**
 * An Athena statement that FAILED, was CANCELLED or timed out. Athena's StateChangeReason is the cause
 * (https://docs.aws.amazon.com/athena/latest/APIReference/API_QueryExecutionStatus.html); catalog errors
 * (a missing or stale view) are fixed by deploying, everything else by the query's own message.
 */
function describeAthenaFailure(message: string, kind: string, reason: string | undefined): Failure {
  if (kind === "TIMEOUT")
    return {
      detail: message,
      fix: "the query ran past its limit and was stopped: raise --view-timeout, or look for a query stuck QUEUED in the workgroup",
    };
  const cause = reason ?? message;
  if (/VIEW_IS_STALE|TABLE_NOT_FOUND|SCHEMA_NOT_FOUND|does not exist/i.test(cause)) {
    return { detail: message, fix: `the catalog does not match this version's views (${cause}): run \`pulumi up\`` };
  }
  const denied = accessDeniedFix(cause);
  if (denied !== undefined) return { detail: message, fix: denied };
  return { detail: message, fix: `Athena says: ${cause}` };
}
