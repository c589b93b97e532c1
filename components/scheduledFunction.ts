/**
 * The pipeline's function backbone: a Lambda function whose handler factory Pulumi serializes (see
 * functionCode.ts), run on an EventBridge Scheduler schedule, with an explicit least-privilege role, its
 * own log group, a delivery DLQ for the schedule and an on-failure destination for Lambda's asynchronous
 * retries. IngestLake and AnalyticsLayer both build their functions with it; they differ only in
 * handler, permissions, environment and schedule. The function half without the schedule
 * ({@link asyncFunction}) also backs EventFunction (eventFunction.ts).
 */
import { createHash } from "crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { checked, integerIn, matching, oneOf } from "./args";
import { FUNCTION_CODE_HANDLER, functionCode } from "./functionCode";
import { allow, allowPrincipal, denyEveryone, LeastPrivilegeRole, PolicyStatement, policyDocument } from "./iam";

/** Lambda runtime of every pipeline function; it ships AWS SDK v3, so the zip never carries it, and the bundle targets its Node version. */
export const LAMBDA_RUNTIME = "nodejs22.x";

/** Architecture of every pipeline function (Graviton: cheaper per GB-second). */
export const LAMBDA_ARCHITECTURE = "arm64";

/**
 * Target input of every schedule: EventBridge Scheduler substitutes the slot's scheduled time, so a
 * retried or re-delivered invocation names the same slot as the first one.
 */
export const SCHEDULED_TIME_INPUT = JSON.stringify({ scheduledTime: "<aws.scheduler.scheduled-time>" });

/** Function timeout in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 60;
/** Function memory in MB. */
export const DEFAULT_MEMORY_MB = 256;
/** Log retention in days. */
export const DEFAULT_LOG_RETENTION_DAYS = 30;
/** Time zone of cron schedule expressions. */
export const DEFAULT_SCHEDULE_TIMEZONE = "UTC";
/** Scheduler delivery retries before an event goes to the DLQ. */
export const DEFAULT_SCHEDULE_RETRY_ATTEMPTS = 3;
/** Lambda asynchronous retries after a function error or throttle before the on-failure destination. */
export const DEFAULT_MAX_RETRY_ATTEMPTS = 2;
/** Age in seconds after which the scheduler and Lambda stop retrying an event. */
export const DEFAULT_MAX_EVENT_AGE_SECONDS = 3600;
/** Both queues keep messages 14 days, SQS's maximum, so a failure can be investigated and replayed. */
export const QUEUE_RETENTION_SECONDS = 14 * 24 * 3600;

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS_ALLOWED = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const LAMBDA_NAME_MAX = 64;
const SCHEDULE_EXPRESSION = /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$/;

/**
 * The settings of a scheduled job (its function, schedule and retries), written once for every component
 * that runs one: `IngestLakeArgs` and `AnalyticsLayerArgs` extend it. Where a default is not given here,
 * the component's `*_JOB_DEFAULTS` constant holds it (`INGEST_JOB_DEFAULTS`, `TRANSFORM_JOB_DEFAULTS`).
 */
export interface ScheduledJobSettings {
  /** `rate(...)` or `cron(...)` expression of the schedule. */
  scheduleExpression?: pulumi.Input<string>;
  /** Time zone of cron expressions. Defaults to {@link DEFAULT_SCHEDULE_TIMEZONE} (UTC), the partitions' calendar. */
  scheduleTimezone?: pulumi.Input<string>;
  /** Function timeout in seconds, 1–900. */
  timeoutSeconds?: pulumi.Input<number>;
  /** Function memory in MB, 128–10240. */
  memoryMb?: pulumi.Input<number>;
  /** Log retention in days, one of {@link LOG_RETENTION_DAYS_ALLOWED}. Defaults to {@link DEFAULT_LOG_RETENTION_DAYS}. */
  logRetentionDays?: pulumi.Input<number>;
  /** Maximum event age in seconds for scheduler delivery and Lambda async retries, 60–21600. */
  maxEventAgeSeconds?: pulumi.Input<number>;
  /** Lambda async retries, 0–2. Defaults to {@link DEFAULT_MAX_RETRY_ATTEMPTS}. */
  maxRetryAttempts?: pulumi.Input<number>;
  /** Scheduler delivery retries, 0–185. Defaults to {@link DEFAULT_SCHEDULE_RETRY_ATTEMPTS}. */
  scheduleRetryAttempts?: pulumi.Input<number>;
}

/** The keys of {@link ScheduledJobSettings}, which {@link jobSettings} picks from a component's args. */
const JOB_SETTING_KEYS = [
  "scheduleExpression",
  "scheduleTimezone",
  "timeoutSeconds",
  "memoryMb",
  "logRetentionDays",
  "maxEventAgeSeconds",
  "maxRetryAttempts",
  "scheduleRetryAttempts",
] as const satisfies readonly (keyof ScheduledJobSettings)[];

/** A component's defaults for its job: at least the schedule. */
export type JobDefaults = ScheduledJobSettings & { scheduleExpression: pulumi.Input<string> };

/** The job settings of a component's `args`, each left unset taken from `defaults` (`??`: a given 0 stays 0). */
export function jobSettings(args: ScheduledJobSettings, defaults: JobDefaults): ScheduleSettings {
  const picked: ScheduledJobSettings = {};
  for (const key of JOB_SETTING_KEYS) {
    const value = args[key] ?? defaults[key];
    if (value !== undefined) (picked as Record<string, unknown>)[key] = value;
  }
  return { ...picked, scheduleExpression: picked.scheduleExpression ?? defaults.scheduleExpression };
}

/** Arguments of {@link ScheduledFunction}; the job settings' defaults are the DEFAULT_* constants of this module. */
export interface ScheduledFunctionArgs<E, R> extends Omit<ScheduledJobSettings, "scheduleExpression"> {
  /**
   * Factory called once per container that returns the handler (load clients and SSM values there).
   * It is serialized with its closure: it must not capture mutable module state, and a captured Pulumi
   * secret fails the deployment (it would sit in plain text in the zip). What it requires is bundled into
   * the zip from the deploying project's node_modules, except the AWS SDK, which the runtime provides.
   */
  callbackFactory: aws.lambda.CallbackFactory<E, R>;
  /** Describes the function. */
  description?: pulumi.Input<string>;
  /**
   * What the function may do at run time besides writing its own logs and its failure queue (those
   * two are added here). Exact actions and resources only.
   */
  statements: pulumi.Input<PolicyStatement>[];
  /** Environment variables: names and settings only, never secrets. None by default. */
  environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** `rate(...)` or `cron(...)` expression. Required: each component has its own default. */
  scheduleExpression: pulumi.Input<string>;
  /** Reserved concurrency (1 prevents overlapping runs but fails deploys on low-quota accounts). Unreserved by default. */
  reservedConcurrency?: pulumi.Input<number>;
  /**
   * EventBridge bus that receives the record of every successful asynchronous invocation (Lambda's
   * on-success destination, sent with the function's role), so other components can act once a run has
   * finished without this one knowing them. None by default.
   */
  successEventBusArn?: pulumi.Input<string>;
  /** Tags for every taggable child. None by default. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** What {@link asyncFunction} builds from: the function part of {@link ScheduledFunctionArgs}. */
export type AsyncFunctionArgs<E, R> = Pick<
  ScheduledFunctionArgs<E, R>,
  "callbackFactory" | "description" | "statements" | "environment" | "successEventBusArn" | "tags"
>;

/** The resources {@link asyncFunction} creates. */
export interface AsyncFunctionParts {
  fn: aws.lambda.Function;
  role: LeastPrivilegeRole;
  logGroup: aws.cloudwatch.LogGroup;
  failureQueue: aws.sqs.Queue;
}

/**
 * A scheduled function and everything around it. Children (for name `n`): `n-role`, `n-logs`,
 * `n-failures` (+ `-policy`), `n-function`, `n-invoke-config`, `n-schedule-group`, `n-scheduler-role`,
 * `n-dlq` (+ `-policy`), `n-schedule`.
 */
export class ScheduledFunction<E = unknown, R = unknown> extends pulumi.ComponentResource {
  /** Function name (also the log group's suffix). */
  public readonly functionName: pulumi.Output<string>;
  /** Function ARN. */
  public readonly functionArn: pulumi.Output<string>;
  /** Execution role ARN. */
  public readonly roleArn: pulumi.Output<string>;
  /** Execution role name. */
  public readonly roleName: pulumi.Output<string>;
  /** `/aws/lambda/<function name>`. */
  public readonly logGroupName: pulumi.Output<string>;
  /** Delivery DLQ ARN (events the scheduler could not deliver). */
  public readonly dlqArn: pulumi.Output<string>;
  /** Delivery DLQ name (CloudWatch `QueueName` dimension). */
  public readonly dlqName: pulumi.Output<string>;
  /** Delivery DLQ URL. */
  public readonly dlqUrl: pulumi.Output<string>;
  /** On-failure destination ARN (events whose invocations kept failing). */
  public readonly failureQueueArn: pulumi.Output<string>;
  /** On-failure destination name (CloudWatch `QueueName` dimension). */
  public readonly failureQueueName: pulumi.Output<string>;
  /** On-failure destination URL. */
  public readonly failureQueueUrl: pulumi.Output<string>;
  /** Schedule name. */
  public readonly scheduleName: pulumi.Output<string>;
  /** Scheduler execution role ARN. */
  public readonly schedulerRoleArn: pulumi.Output<string>;

  constructor(name: string, args: ScheduledFunctionArgs<E, R>, opts?: pulumi.ComponentResourceOptions) {
    super("crypto-analytics:pipeline:ScheduledFunction", name, {}, opts);
    const settings = scheduledFunctionSettings(name, args);
    const tags = args.tags;
    const child = { parent: this };

    const { fn, role, logGroup, failureQueue } = asyncFunction(name, args, settings, this);

    const group = new aws.scheduler.ScheduleGroup(`${name}-schedule-group`, { tags }, child);
    const dlq = new aws.sqs.Queue(
      `${name}-dlq`,
      { sqsManagedSseEnabled: true, messageRetentionSeconds: QUEUE_RETENTION_SECONDS, tags },
      child,
    );
    const account = aws.getCallerIdentityOutput({}, child).accountId;
    const schedulerRole = new LeastPrivilegeRole(
      `${name}-scheduler-role`,
      {
        service: "scheduler.amazonaws.com",
        // Only schedules in this component's own group may use the role (confused-deputy protection).
        trustCondition: { StringEquals: { "aws:SourceAccount": account, "aws:SourceArn": group.arn } },
        description: pulumi.interpolate`Lets the schedule of ${fn.name} invoke it`,
        statements: [
          allow("InvokeTarget", ["lambda:InvokeFunction"], [fn.arn]),
          allow("SendToDeliveryDlq", ["sqs:SendMessage"], [dlq.arn]),
        ],
        tags,
      },
      child,
    );
    senderOnlyQueuePolicy(`${name}-dlq-policy`, dlq, schedulerRole.arn, this);
    const schedule = new aws.scheduler.Schedule(
      `${name}-schedule`,
      {
        groupName: group.name,
        description: args.description,
        scheduleExpression: settings.scheduleExpression,
        scheduleExpressionTimezone: settings.scheduleTimezone,
        flexibleTimeWindow: { mode: "OFF" },
        target: {
          arn: fn.arn,
          roleArn: schedulerRole.arn,
          input: SCHEDULED_TIME_INPUT,
          retryPolicy: {
            maximumRetryAttempts: settings.scheduleRetryAttempts,
            maximumEventAgeInSeconds: settings.maxEventAgeSeconds,
          },
          deadLetterConfig: { arn: dlq.arn },
        },
      },
      { parent: this, dependsOn: [schedulerRole.policy] },
    );

    this.functionName = fn.name;
    this.functionArn = fn.arn;
    this.roleArn = role.arn;
    this.roleName = role.name;
    this.logGroupName = logGroup.name;
    this.dlqArn = dlq.arn;
    this.dlqName = dlq.name;
    this.dlqUrl = dlq.url;
    this.failureQueueArn = failureQueue.arn;
    this.failureQueueName = failureQueue.name;
    this.failureQueueUrl = failureQueue.url;
    this.scheduleName = schedule.name;
    this.schedulerRoleArn = schedulerRole.arn;
    this.registerOutputs({
      functionName: this.functionName,
      functionArn: this.functionArn,
      roleArn: this.roleArn,
      logGroupName: this.logGroupName,
      dlqArn: this.dlqArn,
      failureQueueArn: this.failureQueueArn,
      scheduleName: this.scheduleName,
    });
  }
}

/**
 * The function half shared by {@link ScheduledFunction} and EventFunction, created as children of
 * `parent` named `${name}-logs`, `-failures` (+ `-policy`), `-role`, `-function` and `-invoke-config`: the
 * log group, the on-failure destination queue, the least-privilege role (the caller's statements plus its
 * own logs and destinations), the function from the serialized handler factory and its async invoke
 * config (retries, event age, destinations).
 */
export function asyncFunction<E, R>(
  name: string,
  args: AsyncFunctionArgs<E, R>,
  settings: AsyncFunctionSettings,
  parent: pulumi.Resource,
): AsyncFunctionParts {
  const tags = args.tags;
  const child = { parent };
  // The log group must exist, with its retention, before the function's first line is written, and
  // Lambda writes to `/aws/lambda/<name>`: so the name is fixed up front (unique per
  // project/stack/component) instead of auto-named after the function.
  const functionName = lambdaPhysicalName(name);
  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-logs`,
    { name: `/aws/lambda/${functionName}`, retentionInDays: settings.logRetentionDays, tags },
    child,
  );
  const failureQueue = new aws.sqs.Queue(
    `${name}-failures`,
    { sqsManagedSseEnabled: true, messageRetentionSeconds: QUEUE_RETENTION_SECONDS, tags },
    child,
  );
  const role = new LeastPrivilegeRole(
    `${name}-role`,
    {
      service: "lambda.amazonaws.com",
      description: pulumi.interpolate`Run-time permissions of Lambda function ${functionName}`,
      statements: [
        ...args.statements,
        allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [pulumi.interpolate`${logGroup.arn}:*`]),
        allow("SendToFailureDestination", ["sqs:SendMessage"], [failureQueue.arn]),
        // Lambda sends destination records with the execution role
        // (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
        ...(args.successEventBusArn !== undefined
          ? [allow("SendToSuccessDestination", ["events:PutEvents"], [args.successEventBusArn])]
          : []),
      ],
      tags,
    },
    child,
  );
  senderOnlyQueuePolicy(`${name}-failures-policy`, failureQueue, role.arn, parent);

  // A plain Function (CallbackFunction's own resource type, so stacks made with CallbackFunction see
  // the same resource) whose archive is the serialized handler bundled with what it requires.
  const fn = new aws.lambda.Function(
    `${name}-function`,
    {
      name: functionName,
      description: args.description,
      code: functionCode(`${parent.constructor.name} "${name}"`, args.callbackFactory, LAMBDA_RUNTIME, parent),
      handler: FUNCTION_CODE_HANDLER,
      role: role.arn,
      runtime: LAMBDA_RUNTIME,
      architectures: [LAMBDA_ARCHITECTURE],
      timeout: settings.timeoutSeconds,
      memorySize: settings.memoryMb,
      reservedConcurrentExecutions: settings.reservedConcurrency,
      environment: args.environment === undefined ? undefined : { variables: args.environment },
      tags,
    },
    { parent, dependsOn: [logGroup, role.policy] },
  );
  new aws.lambda.FunctionEventInvokeConfig(
    `${name}-invoke-config`,
    {
      functionName: fn.name,
      maximumRetryAttempts: settings.maxRetryAttempts,
      maximumEventAgeInSeconds: settings.maxEventAgeSeconds,
      destinationConfig: {
        onFailure: { destination: failureQueue.arn },
        ...(args.successEventBusArn !== undefined ? { onSuccess: { destination: args.successEventBusArn } } : {}),
      },
    },
    // Lambda checks that the execution role may send to the destinations when the config is saved.
    { parent, dependsOn: [role.policy] },
  );
  return { fn, role, logGroup, failureQueue };
}

/** The schedule and sizing arguments of a {@link ScheduledFunction}. */
export type ScheduleSettings = Omit<ScheduledJobSettings, "scheduleExpression"> &
  Pick<ScheduledFunctionArgs<unknown, unknown>, "scheduleExpression" | "reservedConcurrency">;

/**
 * Defaults applied and every value checked (plain values now, Outputs when they resolve). The
 * component calls it first; a composing component can call it before creating anything else, so a
 * bad argument fails before any resource exists. `name` is the ScheduledFunction's name.
 */
export function scheduledFunctionSettings(
  name: string,
  args: ScheduleSettings,
): Required<Omit<ScheduleSettings, "reservedConcurrency">> & Pick<ScheduleSettings, "reservedConcurrency"> {
  const what = `ScheduledFunction "${name}"`;
  return {
    scheduleExpression: checked(
      args.scheduleExpression,
      matching(`${what}: scheduleExpression`, SCHEDULE_EXPRESSION, 'like "rate(5 minutes)" or "cron(5 * * * ? *)"'),
    ),
    scheduleTimezone: args.scheduleTimezone ?? DEFAULT_SCHEDULE_TIMEZONE,
    scheduleRetryAttempts: deliveryRetryAttempts(`${what}: scheduleRetryAttempts`, args.scheduleRetryAttempts),
    ...asyncFunctionSettings(what, args),
  };
}

/** The sizing and retry arguments every asynchronously invoked function takes. */
export type AsyncFunctionSettingsArgs = Omit<ScheduleSettings, "scheduleExpression" | "scheduleTimezone" | "scheduleRetryAttempts">;

/** The sizing settings {@link asyncFunction} applies. */
export type AsyncFunctionSettings = Required<Omit<AsyncFunctionSettingsArgs, "reservedConcurrency">> &
  Pick<AsyncFunctionSettingsArgs, "reservedConcurrency">;

/** Defaults applied and every value of `args` checked; `what` names the component in errors. */
export function asyncFunctionSettings(what: string, args: AsyncFunctionSettingsArgs): AsyncFunctionSettings {
  return {
    timeoutSeconds: checked(args.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS, integerIn(`${what}: timeoutSeconds`, 1, 900)),
    memoryMb: checked(args.memoryMb ?? DEFAULT_MEMORY_MB, integerIn(`${what}: memoryMb`, 128, 10240)),
    logRetentionDays: checked(
      args.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS,
      oneOf(`${what}: logRetentionDays`, LOG_RETENTION_DAYS_ALLOWED as readonly number[]),
    ),
    maxRetryAttempts: checked(args.maxRetryAttempts ?? DEFAULT_MAX_RETRY_ATTEMPTS, integerIn(`${what}: maxRetryAttempts`, 0, 2)),
    maxEventAgeSeconds: checked(
      args.maxEventAgeSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS,
      integerIn(`${what}: maxEventAgeSeconds`, 60, 21600),
    ),
    reservedConcurrency:
      args.reservedConcurrency === undefined
        ? undefined
        : checked(args.reservedConcurrency, integerIn(`${what}: reservedConcurrency`, 1, 1000)),
  };
}

/**
 * Delivery retries of a schedule or rule target (both accept 0–185), checked under `label`. Defaults to
 * {@link DEFAULT_SCHEDULE_RETRY_ATTEMPTS}.
 */
export function deliveryRetryAttempts(label: string, attempts: pulumi.Input<number> | undefined): pulumi.Input<number> {
  return checked(attempts ?? DEFAULT_SCHEDULE_RETRY_ATTEMPTS, integerIn(label, 0, 185));
}

/**
 * Queue policy: `sender` may send; every other principal is denied sending, so only the schedule
 * (DLQ) or the function (failure destination) can put messages there.
 */
export function senderOnlyQueuePolicy(
  name: string,
  queue: aws.sqs.Queue,
  sender: pulumi.Output<string>,
  parent: pulumi.Resource,
): aws.sqs.QueuePolicy {
  return new aws.sqs.QueuePolicy(
    name,
    {
      queueUrl: queue.url,
      policy: policyDocument([
        allowPrincipal("AllowSender", { AWS: sender }, ["sqs:SendMessage"], [queue.arn]),
        denyEveryone("DenyOtherSenders", ["sqs:SendMessage"], [queue.arn], {
          ArnNotEquals: { "aws:PrincipalArn": sender },
        }),
      ]),
    },
    { parent },
  );
}

/**
 * `<name>-<hash>`: a Lambda name unique per project, stack and component name, at most 64 characters
 * of `[A-Za-z0-9-_]`, stable across deployments.
 */
function lambdaPhysicalName(name: string): string {
  const hash = createHash("sha256").update(`${pulumi.getProject()}/${pulumi.getStack()}/${name}`).digest("hex").slice(0, 8);
  const prefix = name.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, LAMBDA_NAME_MAX - hash.length - 1);
  return `${prefix}-${hash}`;
}
