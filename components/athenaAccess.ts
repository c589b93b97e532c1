/**
 * What AWS requires of every role that queries through Athena with the Glue Data Catalog, beyond the
 * tables it reads: Athena's mandatory access to the Region's `default` database and, in accounts where
 * Lake Formation governs the catalog, the Lake Formation credential request and grants. Shared by the
 * transform role (AnalyticsLayer) and QuickSight's data-source role (Dashboards).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allow, allowWithoutResourceType, PolicyStatement } from "./iam";

/**
 * Whether the components create Lake Formation grants for the roles that query through Athena. Off by
 * default: in an account where the catalog still grants `IAMAllowedPrincipals` (the default), IAM
 * policies alone decide and Lake Formation grants would be noise the deployer may not even be allowed to
 * create.
 */
export const DEFAULT_LAKE_FORMATION_PERMISSIONS = false;

/** The database Athena needs to read in every Region it is used with the Glue Data Catalog. */
export const ATHENA_DEFAULT_DATABASE = "default";

/** Lake Formation permissions a role may hold on a table or view here (no DROP, DELETE or ALL). */
export type LakeFormationTablePermission = "SELECT" | "DESCRIBE" | "INSERT" | "ALTER";

/** Where a Glue ARN lives: partition (`aws`), region and account. */
export interface GlueCatalogLocation {
  partition: pulumi.Input<string>;
  region: pulumi.Input<string>;
  account: pulumi.Input<string>;
}

/** ARN of the account's Data Catalog in the region. */
export function glueCatalogArn(at: GlueCatalogLocation): pulumi.Output<string> {
  return pulumi.interpolate`arn:${at.partition}:glue:${at.region}:${at.account}:catalog`;
}

/** ARN of a Glue database. */
export function glueDatabaseArn(at: GlueCatalogLocation, database: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.interpolate`arn:${at.partition}:glue:${at.region}:${at.account}:database/${database}`;
}

/** ARN of a Glue table or view. */
export function glueTableArn(at: GlueCatalogLocation, database: pulumi.Input<string>, table: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.interpolate`arn:${at.partition}:glue:${at.region}:${at.account}:table/${database}/${table}`;
}

/**
 * `glue:GetDatabase` on the catalog and its `default` database, which Athena checks before any query with
 * the caller's credentials. Athena's user guide, "Configure access to databases and tables in the AWS Glue
 * Data Catalog", section "Configure AWS Glue access to the catalog and database per AWS Region"
 * (https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html#full-access-to-default-db-per-region):
 * mandatory per Region. The page also lists `glue:CreateDatabase` there, which is left out: nothing here
 * creates databases, and the `default` database exists in every Region Athena has been used in.
 */
export function athenaDefaultDatabaseStatement(at: GlueCatalogLocation): PolicyStatement {
  return allow("ReadAthenaDefaultDatabase", ["glue:GetDatabase"], [glueCatalogArn(at), glueDatabaseArn(at, ATHENA_DEFAULT_DATABASE)]);
}

/**
 * `lakeformation:GetDataAccess`, with which Athena asks Lake Formation for credentials to read a location
 * registered with it (https://docs.aws.amazon.com/athena/latest/ug/lf-athena-user-permissions.html, "Identity-based
 * permissions for Lake Formation and Athena"; also in the managed policies `AmazonAthenaFullAccess` and
 * `AWSQuicksightAthenaAccess`). The action has no resource type, so `*` is its only resource.
 */
export function lakeFormationDataAccessStatement(): PolicyStatement {
  return allowWithoutResourceType("RequestLakeFormationCredentials", ["lakeformation:GetDataAccess"]);
}

/** A table or view and the Lake Formation permissions a principal gets on it. */
export interface LakeFormationTableGrant {
  /** Table or view name, plain, so it names the grant resource. */
  table: string;
  /** The permissions. */
  permissions: LakeFormationTablePermission[];
}

/** Arguments of {@link grantLakeFormationAccess}. */
export interface LakeFormationAccessArgs {
  /** ARN of the IAM role granted access. */
  principalArn: pulumi.Input<string>;
  /** Database of the tables; resolve it only once the tables exist, so the grants wait for them. */
  databaseName: pulumi.Input<string>;
  /** The tables and views, each with its permissions. */
  tables: LakeFormationTableGrant[];
}

/**
 * Lake Formation grants for one role: `DESCRIBE` on the database (`${name}-lf-database`) and, per table or
 * view, its permissions (`${name}-lf-<table>`). Needed only where Lake Formation governs the catalog (no
 * `IAMAllowedPrincipals` grants), where Athena checks these besides IAM before it runs a query and vends
 * credentials (https://docs.aws.amazon.com/athena/latest/ug/lf-athena-access.html; permission names from
 * https://docs.aws.amazon.com/lake-formation/latest/dg/lf-permissions-reference.html). The deploying
 * identity must be a Lake Formation data lake administrator (or hold these permissions with grant option).
 */
export function grantLakeFormationAccess(
  name: string,
  args: LakeFormationAccessArgs,
  parent: pulumi.Resource,
): aws.lakeformation.Permissions[] {
  const database = new aws.lakeformation.Permissions(
    `${name}-lf-database`,
    { principal: args.principalArn, permissions: ["DESCRIBE"], database: { name: args.databaseName } },
    { parent },
  );
  const tables = args.tables.map(
    (grant) =>
      new aws.lakeformation.Permissions(
        `${name}-lf-${grant.table.replace(/_/g, "-")}`,
        {
          principal: args.principalArn,
          permissions: [...grant.permissions],
          table: { databaseName: args.databaseName, name: grant.table },
        },
        { parent },
      ),
  );
  return [database, ...tables];
}
