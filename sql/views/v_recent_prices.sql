-- analytics_prices restricted to the hour partitions of the last 168 hours before the current one, and the
-- current one, by the query engine's clock (UTC): 7 days of hours, the most any view looks back (the
-- trendline's 168 hours ending with the newest snapshot's hour, which is the previous hour once that hour
-- is materialised at :05). Every other view reads the lake through this one, so this is the one place that
-- bounds partitions.
--
-- Why a clock-derived bound and not the latest partition: Athena prunes partitions (and partition
-- projection enumerates them) from predicates it can evaluate before reading any data: literals and
-- constant expressions such as year(current_date), which the planner folds to literals. A bound that comes
-- from the data (a scalar subquery such as "the newest partition") is only a runtime dynamic filter: it may
-- skip files, but projection cannot use it, so without a static bound Athena would enumerate every
-- projected partition and the files read would grow with history. current_date, current_timestamp and the
-- standard quoted INTERVAL '7' DAY are in the common Trino/DuckDB subset, and DuckDB folds them too.
--
-- Two conjuncts, for two jobs, each comparing partition columns with constants only:
-- 1. A calendar bound in the shape projection enumerates (one range per column): day >= today - 7 in the
--    current month and, in the previous month, every day from (28 + today - 7): a month has at least 28
--    days, so this is a superset of the window's days (by up to 3 days) and never spans more than two
--    months.
-- 2. The exact start: the partition (year, month, day, hour) at or after (the date 7 days ago, the current
--    hour), compared column by column. Athena can drop the rest of conjunct 1's partitions with it before
--    reading (at worst it reads conjunct 1's superset); DuckDB prunes its file list with it, so the files
--    read are the same with 7 days of history as with 365.
-- Limits: a lake whose newest data is older than the window shows nothing in the views (a stopped pipeline
-- shows as empty, not as stale numbers); the window follows the engine's clock in UTC (Athena's session
-- zone; the local engine sets TimeZone to UTC).
SELECT
  p.id AS id,
  p.symbol AS symbol,
  p.name AS name,
  p.current_price AS current_price,
  p.market_cap AS market_cap,
  p.market_cap_rank AS market_cap_rank,
  p.fully_diluted_valuation AS fully_diluted_valuation,
  p.volume_24h AS volume_24h,
  p.high_24h AS high_24h,
  p.low_24h AS low_24h,
  p.price_change_pct_1h AS price_change_pct_1h,
  p.price_change_pct_24h AS price_change_pct_24h,
  p.price_change_pct_7d AS price_change_pct_7d,
  p.circulating_supply AS circulating_supply,
  p.last_updated AS last_updated,
  p.vs_currency AS vs_currency,
  p."timestamp" AS "timestamp",
  p.year AS year,
  p.month AS month,
  p.day AS day,
  p.hour AS hour
FROM analytics_prices AS p
WHERE
  (
    (
      p.year = CAST(year(current_date) AS INTEGER)
      AND p.month = CAST(month(current_date) AS INTEGER)
      AND p.day >= CAST(day(current_date) AS INTEGER) - 7
    )
    OR (
      p.year = CAST(year(current_date) AS INTEGER) - CASE WHEN month(current_date) = 1 THEN 1 ELSE 0 END
      AND p.month = CASE WHEN month(current_date) = 1 THEN 12 ELSE CAST(month(current_date) AS INTEGER) - 1 END
      AND p.day >= CAST(day(current_date) AS INTEGER) + 28 - 7
    )
  )
  AND (
    p.year > CAST(year(current_date - INTERVAL '7' DAY) AS INTEGER)
    OR (
      p.year = CAST(year(current_date - INTERVAL '7' DAY) AS INTEGER)
      AND (
        p.month > CAST(month(current_date - INTERVAL '7' DAY) AS INTEGER)
        OR (
          p.month = CAST(month(current_date - INTERVAL '7' DAY) AS INTEGER)
          AND (
            p.day > CAST(day(current_date - INTERVAL '7' DAY) AS INTEGER)
            OR (
              p.day = CAST(day(current_date - INTERVAL '7' DAY) AS INTEGER)
              AND p.hour >= CAST(hour(current_timestamp) AS INTEGER)
            )
          )
        )
      )
    )
  )
