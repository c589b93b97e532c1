/**
 * A Lambda function run by an EventBridge rule on the default bus: the same function backbone as
 * ScheduledFunction (serialized handler, least-privilege role, log group, on-failure destination for
 * Lambda's async retries; see `asyncFunction`), triggered by matching events instead of a schedule, with a
 * delivery DLQ and retry policy on the rule's target.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allowPrincipal, denyEveryone, policyDocument } from "./iam";
import {
  asyncFunction,
  AsyncFunctionArgs,
  asyncFunctionSettings,
  AsyncFunctionSettingsArgs,
  deliveryRetryAttempts,
  QUEUE_RETENTION_SECONDS,
} from "./scheduledFunction";

/** Arguments of {@link EventFunction}: the function's, its sizing, and the events that run it. */
export interface EventFunctionArgs<E, R> extends AsyncFunctionArgs<E, R>, AsyncFunctionSettingsArgs {
  /** EventBridge event pattern (a JSON-serialisable object) of the events on the default bus that run the function. Required. */
  eventPattern: pulumi.Input<Record<string, unknown>>;
  /** Delivery retries of the rule's target before an event goes to the DLQ (0–185). Defaults to `DEFAULT_SCHEDULE_RETRY_ATTEMPTS` (3). */
  deliveryRetryAttempts?: pulumi.Input<number>;
}

/**
 * An event-driven function. Children (for name `n`): those of `asyncFunction` (`n-role`, `n-logs`,
 * `n-failures` (+ `-policy`), `n-function`, `n-invoke-config`), `n-rule`, `n-dlq` (+ `-policy`),
 * `n-target` and `n-permission`.
 */
export class EventFunction<E = unknown, R = unknown> extends pulumi.ComponentResource {
  /** Function name. */
  public readonly functionName: pulumi.Output<string>;
  /** Function ARN. */
  public readonly functionArn: pulumi.Output<string>;
  /** Execution role ARN. */
  public readonly roleArn: pulumi.Output<string>;
  /** Delivery DLQ name (events the rule could not deliver). */
  public readonly dlqName: pulumi.Output<string>;
  /** On-failure destination name (events whose invocations kept failing). */
  public readonly failureQueueName: pulumi.Output<string>;
  /** Rule ARN. */
  public readonly ruleArn: pulumi.Output<string>;

  constructor(name: string, args: EventFunctionArgs<E, R>, opts?: pulumi.ComponentResourceOptions) {
    super("crypto-analytics:pipeline:EventFunction", name, {}, opts);
    const what = `EventFunction "${name}"`;
    const settings = asyncFunctionSettings(what, args);
    const retryAttempts = deliveryRetryAttempts(`${what}: deliveryRetryAttempts`, args.deliveryRetryAttempts);
    const tags = args.tags;
    const child = { parent: this };

    const { fn, role, failureQueue } = asyncFunction(name, args, settings, this);
    const rule = new aws.cloudwatch.EventRule(
      `${name}-rule`,
      { description: args.description, eventPattern: pulumi.jsonStringify(args.eventPattern), tags },
      child,
    );
    const dlq = new aws.sqs.Queue(
      `${name}-dlq`,
      { sqsManagedSseEnabled: true, messageRetentionSeconds: QUEUE_RETENTION_SECONDS, tags },
      child,
    );
    // EventBridge sends undeliverable events to a rule target's DLQ as the events service, which the queue
    // policy must allow for this rule only (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
    new aws.sqs.QueuePolicy(
      `${name}-dlq-policy`,
      {
        queueUrl: dlq.url,
        policy: policyDocument([
          allowPrincipal("AllowRuleDeliveryFailures", { Service: "events.amazonaws.com" }, ["sqs:SendMessage"], [dlq.arn], {
            ArnEquals: { "aws:SourceArn": rule.arn },
          }),
          denyEveryone("DenyOtherSenders", ["sqs:SendMessage"], [dlq.arn], { ArnNotEquals: { "aws:SourceArn": rule.arn } }),
        ]),
      },
      child,
    );
    const permission = new aws.lambda.Permission(
      `${name}-permission`,
      { action: "lambda:InvokeFunction", function: fn.name, principal: "events.amazonaws.com", sourceArn: rule.arn },
      child,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-target`,
      {
        rule: rule.name,
        arn: fn.arn,
        deadLetterConfig: { arn: dlq.arn },
        retryPolicy: { maximumRetryAttempts: retryAttempts, maximumEventAgeInSeconds: settings.maxEventAgeSeconds },
      },
      { parent: this, dependsOn: [permission] },
    );

    this.functionName = fn.name;
    this.functionArn = fn.arn;
    this.roleArn = role.arn;
    this.dlqName = dlq.name;
    this.failureQueueName = failureQueue.name;
    this.ruleArn = rule.arn;
    this.registerOutputs({
      functionName: this.functionName,
      functionArn: this.functionArn,
      roleArn: this.roleArn,
      dlqName: this.dlqName,
      failureQueueName: this.failureQueueName,
      ruleArn: this.ruleArn,
    });
  }
}
