-- Athena: append one hour to analytics_prices (Parquet, Hive-partitioned). The select placeholder is
-- replaced by sql/transform/select.sql when the template is built (sqlFiles.ts), so the template held in
-- SSM has only the year/month/day/hour placeholders left, rendered per hour by the transform function.
INSERT INTO analytics_prices
${select}
