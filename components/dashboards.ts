/**
 * Dashboards: the business dashboard in QuickSight, showing what the local page shows (both derive from
 * dashboard/spec.ts). Owns a dedicated Athena workgroup for dashboard queries (engine v3, enforced
 * settings, its own result prefix, the same bytes-scanned cutoff as the pipeline's workgroup), a
 * least-privilege role QuickSight uses for this data source only, the Athena data source, one dataset per
 * view the visuals read (SPICE, refreshed after each transform run that materialised an hour, or direct
 * query), and the dashboard itself.
 *
 * What stays outside: the QuickSight account subscription (Enterprise edition, created once per account,
 * by hand or in another stack) and the users or groups named in `principalArns`. The deploying identity
 * needs `iam:PassRole` on the role created here. The dashboard is an aws-native resource (`@pulumi/aws`'s
 * QuickSight dashboard has no `definition`), so the stack must configure `aws-native:region` as well.
 */
import { createHash } from "crypto";
import * as aws from "@pulumi/aws";
import * as awsNative from "@pulumi/aws-native";
import * as pulumi from "@pulumi/pulumi";
import { DASHBOARD_SPEC, dashboardViews } from "../dashboard/spec";
import { LAKE_PREFIXES } from "../functions/partitions";
import { ColumnType, LAKE_TABLES } from "../functions/schema";
import { stripLineComments, viewDependencies, viewSql } from "../functions/sqlFiles";
import type { ViewColumn, ViewSchema } from "../local/duckdbEngine";
import { DEFAULT_BYTES_SCANNED_CUTOFF, MIN_BYTES_SCANNED_CUTOFF, QUERY_RESULTS_PREFIX } from "./analyticsLayer";
import { checked, integerIn, matching, oneOf } from "./args";
import {
  athenaDefaultDatabaseStatement,
  DEFAULT_LAKE_FORMATION_PERMISSIONS,
  GlueCatalogLocation,
  glueCatalogArn,
  glueDatabaseArn,
  glueTableArn,
  grantLakeFormationAccess,
  lakeFormationDataAccessStatement,
} from "./athenaAccess";
import { enforcedWorkgroup } from "./athenaWorkgroup";
import { allow, allowWithoutResourceType, LeastPrivilegeRole, PolicyStatement } from "./iam";
import { createSpiceRefreshHandler, SPICE_REFRESH_ENV } from "../functions/spiceRefreshHandler";
import { EventFunction } from "./eventFunction";
import { quicksightDefinition } from "./quicksightDefinition";

type DataSetInputColumnDataType = awsNative.types.enums.quicksight.DataSetInputColumnDataType;
type DataSetColumnDataSubType = awsNative.types.enums.quicksight.DataSetColumnDataSubType;

/** How datasets hold their data. */
export const DASHBOARD_MODES = ["SPICE", "DIRECT_QUERY"] as const;
/** One of {@link DASHBOARD_MODES}. */
export type DashboardMode = (typeof DASHBOARD_MODES)[number];
/**
 * SPICE: viewers read QuickSight's in-memory copy, refreshed as soon as the transform has finished a run
 * that materialised an hour, so opening the dashboard runs no Athena query and scans nothing, and a
 * refresh never reads an hour the transform is still writing. DIRECT_QUERY runs the views on every visual
 * load.
 */
export const DEFAULT_DASHBOARD_MODE: DashboardMode = "SPICE";
/**
 * Lambda's on-success invocation record as EventBridge carries it: source `lambda`, the record as
 * `detail` (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
 */
export const INVOCATION_RECORD_SOURCE = "lambda";
/** Prefix (in the query-results bucket) of the dashboard workgroup's results; inside the expiring `query-results/`. */
export const QUICKSIGHT_RESULTS_PREFIX = `${QUERY_RESULTS_PREFIX}/quicksight`;
/** The Glue Data Catalog as QuickSight and Athena name it. */
export const ATHENA_DATA_CATALOG = "AwsDataCatalog";

/** QuickSight column type of each Glue column type a view returns. */
export const QUICKSIGHT_COLUMN_TYPES: Readonly<Record<ColumnType, "STRING" | "DECIMAL" | "INTEGER">> = Object.freeze({
  string: "STRING",
  double: "DECIMAL",
  bigint: "INTEGER",
  int: "INTEGER",
});

/**
 * Read-only QuickSight actions granted to every principal in `principalArns`: viewers may open the
 * dashboard and see (not change, share or delete) the data source and datasets behind it. Owner rights
 * (update, delete, permissions) stay with QuickSight administrators and this stack.
 */
export const VIEWER_ACTIONS = Object.freeze({
  dataSource: Object.freeze(["quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions", "quicksight:PassDataSource"]),
  dataSet: Object.freeze([
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:PassDataSet",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
  ]),
  dashboard: Object.freeze(["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"]),
});

const PRINCIPAL = /^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:\d{12}:(user|group)\/[\w+=,.@-]+\/[\w+=,.@-]+$/;

/** Arguments of {@link Dashboards}. */
export interface DashboardsArgs {
  /**
   * QuickSight users or groups (`arn:aws:quicksight:<region>:<account>:user/<namespace>/<name>` or
   * `group/...`) granted {@link VIEWER_ACTIONS}. Required and non-empty: a dashboard nobody may open is
   * not created. Plain strings, so a bad ARN fails before anything is created.
   */
  principalArns: string[];
  /** Glue database of the views (AnalyticsLayer's `databaseName`). Required. */
  databaseName: pulumi.Input<string>;
  /**
   * Views present in the catalog (AnalyticsLayer's `viewNames`). Required: each dataset reads its view
   * only after it exists, and a view the dashboard needs but the catalog lacks fails the deployment.
   */
  viewNames: pulumi.Input<string[]>;
  /** ARN of the bucket holding `analytics/` (AnalyticsLayer's `analyticsBucketArn`). Required. */
  analyticsBucketArn: pulumi.Input<string>;
  /** Name of the query-results bucket (AnalyticsLayer's `resultsBucketName`). Required. */
  resultsBucketName: pulumi.Input<string>;
  /** ARN of the query-results bucket (AnalyticsLayer's `resultsBucketArn`). Required. */
  resultsBucketArn: pulumi.Input<string>;
  /** SPICE (refreshed after each transform run) or DIRECT_QUERY. Defaults to {@link DEFAULT_DASHBOARD_MODE}. */
  dashboardMode?: DashboardMode;
  /**
   * ARN of the transform function (AnalyticsLayer's `transformFunctionArn`), whose on-success records on
   * the default event bus trigger the SPICE refresh. Required in SPICE mode; unused in DIRECT_QUERY mode.
   */
  transformFunctionArn?: pulumi.Input<string>;
  /** The refresh function's log field. Defaults to `<component name>-<stack>`; pass IngestLake's `pipelineName`. */
  pipelineName?: pulumi.Input<string>;
  /** Bytes one dashboard query may scan. Defaults to `DEFAULT_BYTES_SCANNED_CUTOFF` (1 GiB), the pipeline workgroup's. */
  bytesScannedCutoffPerQuery?: pulumi.Input<number>;
  /** KMS key of the analytics and results buckets (the pipeline's `kmsKeyArn`). Defaults to none (SSE-S3). */
  kmsKeyArn?: pulumi.Input<string>;
  /** Let `pulumi destroy` delete the workgroup with its query history. Defaults to false. */
  forceDestroy?: pulumi.Input<boolean>;
  /**
   * Grant the data-source role Lake Formation access (`DESCRIBE` on the database, `SELECT` and `DESCRIBE`
   * on every view the dashboard reads and the tables below them) and `lakeformation:GetDataAccess`. Turn
   * it on in accounts where Lake Formation governs the Data Catalog (the `IAMAllowedPrincipals` default
   * grants removed); the deploying identity must then be a data lake administrator. A plain boolean: it
   * decides which resources exist. Defaults to `DEFAULT_LAKE_FORMATION_PERMISSIONS` (false).
   */
  lakeFormationPermissions?: boolean;
  /** Log retention of the refresh function, in days. Defaults to `DEFAULT_LOG_RETENTION_DAYS` (30). */
  logRetentionDays?: pulumi.Input<number>;
  /** Tags for every taggable resource. None by default. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The QuickSight dashboard of one pipeline. Children (for name `n`): `n-quicksight-workgroup`,
 * `n-quicksight-role` (LeastPrivilegeRole), `n-quicksight-source`, per view `n-quicksight-<view>` (dataset),
 * `n-quicksight-dashboard`, in SPICE mode `n-spice-refresh` (EventFunction: a rule on the transform's
 * success records and a function that starts a full refresh of every dataset), and with
 * `lakeFormationPermissions` the role's Lake Formation grants `n-quicksight-role-lf-*`. QuickSight ids are
 * `<name>-<hash of project/stack/name>-...`, unique per stack.
 */
export class Dashboards extends pulumi.ComponentResource {
  /** Console URL of the dashboard. */
  public readonly dashboardUrl: pulumi.Output<string>;
  /** QuickSight id of the dashboard. */
  public readonly dashboardId: pulumi.Output<string>;
  /** ARN of the dashboard. */
  public readonly dashboardArn: pulumi.Output<string>;
  /** ARN of the Athena data source. */
  public readonly dataSourceArn: pulumi.Output<string>;
  /** Dataset ARNs by view name. */
  public readonly dataSetArns: pulumi.Output<Record<string, string>>;
  /** The dashboard workgroup. */
  public readonly workGroupName: pulumi.Output<string>;
  /** The role QuickSight assumes for this data source. */
  public readonly roleArn: pulumi.Output<string>;
  /** How the data sets hold their data: `dashboardMode`, resolved (defaults to {@link DEFAULT_DASHBOARD_MODE}). */
  public readonly importMode: pulumi.Output<DashboardMode>;
  /** The SPICE refresh function (for alarms on it and its queues); undefined in DIRECT_QUERY mode. */
  public readonly spiceRefresh: EventFunction | undefined;

  constructor(name: string, args: DashboardsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("crypto-analytics:pipeline:Dashboards", name, {}, opts);
    const what = `Dashboards "${name}"`;
    if (args.principalArns.length === 0) {
      throw new Error(`${what}: principalArns is empty; name at least one QuickSight user or group, or leave Dashboards out.`);
    }
    args.principalArns.forEach(
      matching(
        `${what}: principalArns entry`,
        PRINCIPAL,
        "a QuickSight user or group ARN such as arn:aws:quicksight:us-east-1:123456789012:user/default/alice",
      ),
    );
    const mode = args.dashboardMode ?? DEFAULT_DASHBOARD_MODE;
    oneOf(`${what}: dashboardMode`, DASHBOARD_MODES)(mode);
    const transformFunctionArn = args.transformFunctionArn;
    if (mode === "SPICE" && transformFunctionArn === undefined) {
      throw new Error(
        `${what}: SPICE datasets are refreshed after each transform run; pass transformFunctionArn (AnalyticsLayer's), or use dashboardMode DIRECT_QUERY.`,
      );
    }
    const bytesScannedCutoff = checked(
      args.bytesScannedCutoffPerQuery ?? DEFAULT_BYTES_SCANNED_CUTOFF,
      integerIn(`${what}: bytesScannedCutoffPerQuery`, MIN_BYTES_SCANNED_CUTOFF, Number.MAX_SAFE_INTEGER),
    );
    const views = dashboardViews(DASHBOARD_SPEC);
    const idPrefix = quicksightIdPrefix(name);
    const child = { parent: this };
    const account = aws.getCallerIdentityOutput({}, child).accountId;
    const region = aws.getRegionOutput({}, child).region;
    const partition = aws.getPartitionOutput({}, child).partition;
    const resultsLocation = pulumi.interpolate`s3://${args.resultsBucketName}/${QUICKSIGHT_RESULTS_PREFIX}/`;

    const workgroup = enforcedWorkgroup(
      `${name}-quicksight-workgroup`,
      {
        description: pulumi.interpolate`QuickSight dashboard queries on ${args.databaseName}`,
        forceDestroy: args.forceDestroy ?? false,
        bytesScannedCutoffPerQuery: bytesScannedCutoff,
        outputLocation: resultsLocation,
        expectedBucketOwner: account,
        kmsKeyArn: args.kmsKeyArn,
        tags: args.tags,
      },
      child,
    );

    const catalog: GlueCatalogLocation = { partition, region, account };
    const lakeFormation = args.lakeFormationPermissions ?? DEFAULT_LAKE_FORMATION_PERMISSIONS;
    const objectsRead = catalogObjectsRead(views);
    const role = new LeastPrivilegeRole(
      `${name}-quicksight-role`,
      {
        // No aws:SourceAccount condition: QuickSight documents none for data-source roles, and only a
        // deployer allowed to iam:PassRole this role can attach it to a data source.
        service: "quicksight.amazonaws.com",
        description: pulumi.interpolate`QuickSight reads the dashboard views of ${args.databaseName} through workgroup ${workgroup.name}`,
        statements: dashboardRoleStatements({
          catalog,
          workGroupArn: workgroup.arn,
          dataCatalogArn: pulumi.interpolate`arn:${partition}:athena:${region}:${account}:datacatalog/${ATHENA_DATA_CATALOG}`,
          databaseArn: glueDatabaseArn(catalog, args.databaseName),
          tableArns: objectsRead.map((table) => glueTableArn(catalog, args.databaseName, table)),
          analyticsBucketArn: args.analyticsBucketArn,
          resultsBucketArn: args.resultsBucketArn,
          kmsKeyArn: args.kmsKeyArn,
          lakeFormation,
        }),
        tags: args.tags,
      },
      child,
    );
    const lakeFormationGrants = lakeFormation
      ? grantLakeFormationAccess(
          `${name}-quicksight-role`,
          {
            principalArn: role.arn,
            // Through the catalog's view list: the grants wait for the views (created after the tables).
            databaseName: pulumi.all([args.databaseName, args.viewNames]).apply(([database]) => database),
            tables: objectsRead.map((table) => ({ table, permissions: ["SELECT", "DESCRIBE"] })),
          },
          this,
        )
      : [];

    const dataSource = new aws.quicksight.DataSource(
      `${name}-quicksight-source`,
      {
        dataSourceId: `${idPrefix}-athena`,
        name: pulumi.interpolate`Athena ${args.databaseName}`,
        type: "ATHENA",
        parameters: { athena: { workGroup: workgroup.name, roleArn: role.arn } },
        sslProperties: { disableSsl: false },
        permissions: args.principalArns.map((principal) => ({ principal, actions: [...VIEWER_ACTIONS.dataSource] })),
        tags: args.tags,
      },
      // QuickSight checks the connection with the role when the data source is saved: its policy (and Lake
      // Formation grants) must exist first, or the check races IAM and fails the deployment.
      { parent: this, dependsOn: [role.policy, ...lakeFormationGrants] },
    );

    // Loaded here, not at the top: importing the library must not load DuckDB's native binding.
    const schemas = pulumi.output(import("../local/duckdbEngine").then((engine) => engine.deriveViewSchemas()));
    const dataSets: Record<string, awsNative.quicksight.DataSet> = {};
    for (const view of views) {
      const resourceName = `${name}-quicksight-${view.replace(/_/g, "-")}`;
      // aws-native, not @pulumi/aws: the classic DataSet's input columns have no subType, and SPICE would store
      // `double` columns as FIXED decimals (4 places), turning a $0.0000086 price into 0.
      const dataSet = new awsNative.quicksight.DataSet(
        resourceName,
        {
          awsAccountId: account,
          dataSetId: `${idPrefix}-${view}`,
          name: pulumi.interpolate`${view} (${args.databaseName})`,
          importMode: mode,
          physicalTableMap: {
            [view.replace(/_/g, "-")]: {
              relationalTable: {
                dataSourceArn: dataSource.arn,
                catalog: ATHENA_DATA_CATALOG,
                schema: args.databaseName,
                // Through the catalog's view list: the dataset waits for the view and fails if it is absent.
                name: pulumi.output(args.viewNames).apply((present) => {
                  if (!present.includes(view))
                    throw new Error(`${what}: the dashboard reads view ${view}, but the catalog's views are ${present.join(", ")}.`);
                  return view;
                }),
                inputColumns: schemas.apply((all) => dataSetColumns(columnsOf(all, view))),
              },
            },
          },
          permissions: args.principalArns.map((principal) => ({ principal, actions: [...VIEWER_ACTIONS.dataSet] })),
          tags: nativeTags(args.tags),
        },
        child,
      );
      dataSets[view] = dataSet;
    }

    this.spiceRefresh =
      transformFunctionArn === undefined || mode !== "SPICE"
        ? undefined
        : new EventFunction(
            `${name}-spice-refresh`,
            {
              callbackFactory: createSpiceRefreshHandler,
              description: pulumi.interpolate`Refreshes the SPICE datasets of ${args.databaseName} after each transform run`,
              // Only the transform's successful invocations; a failed run sends a Failure record, which never matches.
              eventPattern: transformSuccessPattern(transformFunctionArn),
              statements: [
                // CreateIngestion acts on the dataset's ingestion resources
                // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonquicksight.html).
                allow(
                  "RefreshDashboardDataSets",
                  ["quicksight:CreateIngestion"],
                  views.flatMap((view) => [dataSets[view].arn, pulumi.interpolate`${dataSets[view].arn}/ingestion/*`]),
                ),
              ],
              environment: {
                [SPICE_REFRESH_ENV.accountId]: account,
                [SPICE_REFRESH_ENV.dataSetIds]: views.map((view) => `${idPrefix}-${view}`).join(","),
                [SPICE_REFRESH_ENV.pipeline]: args.pipelineName ?? `${name}-${pulumi.getStack()}`,
              },
              logRetentionDays: args.logRetentionDays,
              tags: args.tags,
            },
            child,
          );

    const dashboardId = `${idPrefix}-${DASHBOARD_SPEC.id}`;
    const dashboard = new awsNative.quicksight.Dashboard(
      `${name}-quicksight-dashboard`,
      {
        awsAccountId: account,
        dashboardId,
        name: pulumi.interpolate`${DASHBOARD_SPEC.title} (${args.databaseName})`,
        definition: quicksightDefinition(DASHBOARD_SPEC, Object.fromEntries(views.map((view) => [view, dataSets[view].arn]))),
        permissions: args.principalArns.map((principal) => ({ principal, actions: [...VIEWER_ACTIONS.dashboard] })),
        dashboardPublishOptions: {
          adHocFilteringOption: { availabilityStatus: "DISABLED" },
          exportToCsvOption: { availabilityStatus: "ENABLED" },
          sheetControlsOption: { visibilityState: "COLLAPSED" },
        },
        tags: nativeTags(args.tags),
      },
      child,
    );

    this.dashboardId = pulumi.output(dashboardId);
    this.dashboardArn = dashboard.arn;
    this.dashboardUrl = pulumi.interpolate`https://${region}.quicksight.aws.amazon.com/sn/dashboards/${dashboardId}`;
    this.dataSourceArn = dataSource.arn;
    this.dataSetArns = pulumi.output(Object.fromEntries(views.map((view) => [view, dataSets[view].arn])));
    this.workGroupName = workgroup.name;
    this.roleArn = role.arn;
    this.importMode = pulumi.output(mode);
    this.registerOutputs({
      spiceRefreshFunctionName: this.spiceRefresh?.functionName,
      dashboardUrl: this.dashboardUrl,
      dashboardArn: this.dashboardArn,
      dataSourceArn: this.dataSourceArn,
      dataSetArns: this.dataSetArns,
      workGroupName: this.workGroupName,
      roleArn: this.roleArn,
      importMode: this.importMode,
    });
  }
}

/**
 * Sub-type of every DECIMAL input column. SPICE stores a FIXED decimal with four decimal places and a
 * FLOAT one as a double ("Sub types are only available for decimal columns that are part of a SPICE
 * dataset": https://docs.aws.amazon.com/quicksight/latest/APIReference/API_InputColumn.html), and a
 * micro-cap token's price (0.0000086 USD) needs more than four places.
 */
export const DECIMAL_SUB_TYPE: DataSetColumnDataSubType = "FLOAT";

/**
 * QuickSight input columns of a view: its DuckDB-derived columns with {@link QUICKSIGHT_COLUMN_TYPES},
 * DECIMAL ones with sub-type {@link DECIMAL_SUB_TYPE}.
 */
export function dataSetColumns(
  columns: readonly ViewColumn[],
): { name: string; type: DataSetInputColumnDataType; subType?: DataSetColumnDataSubType }[] {
  return columns.map((c) => {
    const type = QUICKSIGHT_COLUMN_TYPES[c.type];
    return type === "DECIMAL" ? { name: c.name, type, subType: DECIMAL_SUB_TYPE } : { name: c.name, type };
  });
}

/**
 * Events of the successful invocations of the function `functionArn`: Lambda names the invoked version in
 * the record's `functionArn` (`...:function:name:$LATEST`), so both the plain ARN and any qualified one match.
 */
export function transformSuccessPattern(functionArn: pulumi.Input<string>): pulumi.Output<Record<string, unknown>> {
  return pulumi.output(functionArn).apply((arn): Record<string, unknown> => ({
    source: [INVOCATION_RECORD_SOURCE],
    detail: { requestContext: { condition: ["Success"], functionArn: [arn, { prefix: `${arn}:` }] } },
  }));
}

/** Tags as aws-native resources take them: a list of key/value pairs. */
function nativeTags(tags: DashboardsArgs["tags"]): pulumi.Output<{ key: string; value: string }[]> | undefined {
  return tags === undefined ? undefined : pulumi.output(tags).apply((t) => Object.entries(t).map(([key, value]) => ({ key, value })));
}

/**
 * Every catalog object a query of `views` reads, sorted: the views themselves, the views they read
 * (transitively) and the lake tables named in any of their SQL.
 */
export function catalogObjectsRead(views: readonly string[]): string[] {
  const tables = new Set<string>(Object.values(LAKE_TABLES));
  const read = new Set<string>();
  const visit = (view: string): void => {
    if (read.has(view)) return;
    read.add(view);
    const words = stripLineComments(viewSql(view)).match(/\b[a-z_][a-z0-9_]*\b/g) ?? [];
    words.filter((w) => tables.has(w)).forEach((table) => read.add(table));
    viewDependencies(view).forEach(visit);
  };
  views.forEach(visit);
  return [...read].sort();
}

/** `<name>-<8 hex>`: a QuickSight id prefix unique per project, stack and component name. */
function quicksightIdPrefix(name: string): string {
  const hash = createHash("sha256").update(`${pulumi.getProject()}/${pulumi.getStack()}/${name}`).digest("hex").slice(0, 8);
  return `${name.replace(/[^\w-]/g, "-")}-${hash}`;
}

function columnsOf(schemas: readonly ViewSchema[], view: string): ViewColumn[] {
  const schema = schemas.find((s) => s.name === view);
  if (schema === undefined || schema.columns.length === 0) throw new Error(`DuckDB derived no columns for view ${view}`);
  return schema.columns;
}

/** What {@link dashboardRoleStatements} grants access to. */
interface DashboardResources {
  /** Partition, region and account of the Data Catalog. */
  catalog: GlueCatalogLocation;
  workGroupArn: pulumi.Input<string>;
  /** Athena's name for the Glue Data Catalog, `datacatalog/AwsDataCatalog`. */
  dataCatalogArn: pulumi.Input<string>;
  databaseArn: pulumi.Input<string>;
  /** The views the dashboard reads, the views they read and the lake tables below them. */
  tableArns: pulumi.Input<string>[];
  analyticsBucketArn: pulumi.Input<string>;
  resultsBucketArn: pulumi.Input<string>;
  kmsKeyArn?: pulumi.Input<string>;
  /** Whether Lake Formation governs the catalog (adds `lakeformation:GetDataAccess`). */
  lakeFormation: boolean;
}

/**
 * What QuickSight may do with the role: list and describe the Glue Data Catalog through Athena's metadata
 * API, run queries in the dashboard workgroup (Athena reads Glue and S3 with the caller's credentials),
 * read the `default` database Athena requires, the catalog entries of the views and of `analytics_prices`,
 * read `analytics/` and nothing else of the lake, and read and write its own result prefix. No write to
 * the lake or the catalog, nothing in the archive bucket, no other workgroup.
 */
function dashboardRoleStatements(r: DashboardResources): PolicyStatement[] {
  const objects = (bucketArn: pulumi.Input<string>, prefix: string): pulumi.Output<string> => pulumi.interpolate`${bucketArn}/${prefix}/*`;
  const statements = [
    allow(
      "RunDashboardQueries",
      [
        "athena:GetWorkGroup",
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:GetQueryResultsStream",
        "athena:StopQueryExecution",
      ],
      [r.workGroupArn],
    ),
    // QuickSight's Athena data source reads the catalog through Athena's metadata API when it creates the
    // data source and datasets: the actions of the managed policy `AWSQuicksightAthenaAccess` and of
    // QuickSight's run-as-role page (https://docs.aws.amazon.com/quicksight/latest/user/datasource-run-as-role.html),
    // on the one data catalog it uses (https://docs.aws.amazon.com/athena/latest/ug/datacatalogs-example-policies.html).
    allow(
      "ReadCatalogMetadata",
      ["athena:GetDataCatalog", "athena:GetDatabase", "athena:GetTableMetadata", "athena:ListTableMetadata", "athena:ListDatabases"],
      [r.dataCatalogArn],
    ),
    // The same sources list these two; they have no resource type, so `*` is their only resource.
    allowWithoutResourceType("ListCatalogsAndWorkgroups", ["athena:ListDataCatalogs", "athena:ListWorkGroups"]),
    athenaDefaultDatabaseStatement(r.catalog),
    allow("ReadViewDefinitions", ["glue:GetDatabase", "glue:GetTable"], [glueCatalogArn(r.catalog), r.databaseArn, ...r.tableArns]),
    allow("ListAnalyticsData", ["s3:ListBucket"], [r.analyticsBucketArn], { StringLike: { "s3:prefix": `${LAKE_PREFIXES.analytics}/*` } }),
    // Separate from the listing: s3:prefix does not exist for GetBucketLocation.
    allow("LocateAnalyticsBucket", ["s3:GetBucketLocation"], [r.analyticsBucketArn]),
    allow("ReadAnalyticsData", ["s3:GetObject"], [objects(r.analyticsBucketArn, LAKE_PREFIXES.analytics)]),
    // Athena writes the results with multipart uploads: ListBucketMultipartUploads here and the object-level
    // AbortMultipartUpload and ListMultipartUploadParts below, as in `AWSQuicksightAthenaAccess`, scoped to
    // the results bucket and QuickSight's prefix.
    allow("UseQueryResultsBucket", ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"], [r.resultsBucketArn]),
    allow("ListDashboardResults", ["s3:ListBucket"], [r.resultsBucketArn], {
      StringLike: { "s3:prefix": `${QUICKSIGHT_RESULTS_PREFIX}/*` },
    }),
    allow(
      "WriteDashboardResults",
      ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      [objects(r.resultsBucketArn, QUICKSIGHT_RESULTS_PREFIX)],
    ),
  ];
  if (r.lakeFormation) statements.push(lakeFormationDataAccessStatement());
  if (r.kmsKeyArn !== undefined) {
    const viaS3 = pulumi.interpolate`s3.${r.catalog.region}.amazonaws.com`;
    statements.push(
      // With an S3 Bucket Key the encryption context is the bucket ARN. Reading needs kms:Decrypt, writing
      // results kms:GenerateDataKey and kms:Decrypt: https://docs.aws.amazon.com/athena/latest/ug/encryption.html,
      // "Permissions to encrypted data in Amazon S3".
      allow("DecryptAnalyticsData", ["kms:Decrypt"], [r.kmsKeyArn], {
        StringEquals: { "kms:ViaService": viaS3, "kms:EncryptionContext:aws:s3:arn": r.analyticsBucketArn },
      }),
      allow("UseResultsKey", ["kms:GenerateDataKey", "kms:Decrypt"], [r.kmsKeyArn], {
        StringEquals: { "kms:ViaService": viaS3, "kms:EncryptionContext:aws:s3:arn": r.resultsBucketArn },
      }),
    );
  }
  return statements;
}
