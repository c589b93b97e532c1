-- One hour of processed snapshots, typed and deduplicated, ready to append to analytics_prices.
-- The year, month, day and hour placeholders are validated integers substituted per hour (sqlTemplate.ts).
--
-- processed_prices_raw holds every column as a string, so a malformed value becomes NULL (TRY_CAST)
-- instead of failing the hour. Rows are deduplicated on (id, "timestamp") within the hour and against rows
-- the analytics hour already holds, so re-running an hour (a retry, a crash between the insert and its
-- manifest, late snapshots) appends only rows that are not there yet. Partition columns come last, as
-- INSERT INTO a Hive-partitioned table requires; they are read from the source partition, whose filter
-- makes them equal to the parameters. Snapshots written before the source column existed are live ones.
SELECT
  s.id AS id,
  s.symbol AS symbol,
  s.name AS name,
  s.current_price AS current_price,
  s.market_cap AS market_cap,
  s.market_cap_rank AS market_cap_rank,
  s.fully_diluted_valuation AS fully_diluted_valuation,
  s.volume_24h AS volume_24h,
  s.high_24h AS high_24h,
  s.low_24h AS low_24h,
  s.price_change_pct_1h AS price_change_pct_1h,
  s.price_change_pct_24h AS price_change_pct_24h,
  s.price_change_pct_7d AS price_change_pct_7d,
  s.circulating_supply AS circulating_supply,
  s.last_updated AS last_updated,
  s.vs_currency AS vs_currency,
  s."timestamp" AS "timestamp",
  s.source AS source,
  s.year AS year,
  s.month AS month,
  s.day AS day,
  s.hour AS hour
FROM (
  SELECT
    r.id AS id,
    r.symbol AS symbol,
    r.name AS name,
    TRY_CAST(r.current_price AS DOUBLE) AS current_price,
    TRY_CAST(r.market_cap AS BIGINT) AS market_cap,
    TRY_CAST(r.market_cap_rank AS INTEGER) AS market_cap_rank,
    TRY_CAST(r.fully_diluted_valuation AS BIGINT) AS fully_diluted_valuation,
    TRY_CAST(r.volume_24h AS BIGINT) AS volume_24h,
    TRY_CAST(r.high_24h AS DOUBLE) AS high_24h,
    TRY_CAST(r.low_24h AS DOUBLE) AS low_24h,
    TRY_CAST(r.price_change_pct_1h AS DOUBLE) AS price_change_pct_1h,
    TRY_CAST(r.price_change_pct_24h AS DOUBLE) AS price_change_pct_24h,
    TRY_CAST(r.price_change_pct_7d AS DOUBLE) AS price_change_pct_7d,
    TRY_CAST(r.circulating_supply AS DOUBLE) AS circulating_supply,
    r.last_updated AS last_updated,
    r.vs_currency AS vs_currency,
    TRY_CAST(r."timestamp" AS BIGINT) AS "timestamp",
    COALESCE(r.source, 'live') AS source,
    r.year AS year,
    r.month AS month,
    r.day AS day,
    r.hour AS hour,
    row_number() OVER (
      PARTITION BY r.id, TRY_CAST(r."timestamp" AS BIGINT)
      ORDER BY r.last_updated DESC NULLS LAST, r.name
    ) AS copy_number
  FROM processed_prices_raw AS r
  WHERE r.year = ${year}
    AND r.month = ${month}
    AND r.day = ${day}
    AND r.hour = ${hour}
    AND r.id IS NOT NULL
    AND r.id <> ''
) AS s
LEFT JOIN (
  SELECT DISTINCT
    a.id AS id,
    a."timestamp" AS "timestamp"
  FROM analytics_prices AS a
  WHERE a.year = ${year}
    AND a.month = ${month}
    AND a.day = ${day}
    AND a.hour = ${hour}
) AS done
  ON done.id = s.id
  AND done."timestamp" = s."timestamp"
WHERE s.copy_number = 1
  AND s."timestamp" IS NOT NULL
  AND done.id IS NULL
