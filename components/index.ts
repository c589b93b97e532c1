/**
 * Library entry of crypto-analytics-pipeline: every component, its args type and the building blocks
 * they share. Importing it creates no resource; `index.ts` (the Pulumi program) composes these from
 * stack config.
 */
export * from "./iam";
export * from "./hardenedBucket";
export * from "./scheduledFunction";
export * from "./eventFunction";
export * from "./ingestLake";
export * from "./glueTables";
export * from "./athenaViews";
export * from "./analyticsLayer";
export * from "./monitoring";
export * from "./quicksightDefinition";
export * from "./dashboards";
export * from "./pipeline";
