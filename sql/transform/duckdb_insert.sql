-- DuckDB (local mode): the same SELECT as Athena's INSERT, written as Parquet under a staging directory
-- outside the lake's data tree (the staging_dir placeholder, a quoted path whose layout mirrors the lake's
-- below analytics/). The local engine moves the files into place with a rename once the statement
-- succeeds, because DuckDB's globs would read a half-written file in the data tree. Hive paths are
-- unpadded integers, like those of Athena's INSERT INTO.
-- Not Trino SQL (COPY is DuckDB's): the one file the Trino grammar check leaves to the DuckDB tests.
COPY (
${select}
) TO ${staging_dir} (
  FORMAT PARQUET,
  PARTITION_BY (year, month, day, hour),
  FILENAME_PATTERN 'part_{uuid}'
)
