-- Total market cap and 24 h volume of the newest snapshot, against the newest snapshot at least 24 h older
-- (looked for within the hour before that point; the change is null when that hour has no snapshot).
WITH totals AS (
  SELECT
    p."timestamp" AS snapshot_timestamp,
    CAST(sum(p.market_cap) AS BIGINT) AS total_market_cap,
    CAST(sum(p.volume_24h) AS BIGINT) AS total_volume_24h,
    count(*) AS coins
  FROM v_recent_prices AS p
  CROSS JOIN v_latest_partition AS l
  WHERE p."timestamp" >= l.latest_timestamp - 86400 - 3600
  GROUP BY p."timestamp"
),
latest AS (
  SELECT t.snapshot_timestamp, t.total_market_cap, t.total_volume_24h, t.coins
  FROM totals AS t
  WHERE t.snapshot_timestamp = (SELECT max(x.snapshot_timestamp) FROM totals AS x)
),
previous AS (
  SELECT t.snapshot_timestamp, t.total_market_cap, t.total_volume_24h
  FROM totals AS t
  WHERE t.snapshot_timestamp = (
    SELECT max(x.snapshot_timestamp)
    FROM totals AS x
    CROSS JOIN latest AS y
    WHERE x.snapshot_timestamp <= y.snapshot_timestamp - 86400
  )
)
SELECT
  c.snapshot_timestamp AS latest_timestamp,
  c.total_market_cap AS total_market_cap,
  c.total_volume_24h AS total_volume_24h,
  c.coins AS coins,
  b.snapshot_timestamp AS previous_timestamp,
  b.total_market_cap AS previous_total_market_cap,
  100 * (CAST(c.total_market_cap AS DOUBLE) / CAST(NULLIF(b.total_market_cap, 0) AS DOUBLE) - 1) AS market_cap_change_pct,
  b.total_volume_24h AS previous_total_volume_24h,
  100 * (CAST(c.total_volume_24h AS DOUBLE) / CAST(NULLIF(b.total_volume_24h, 0) AS DOUBLE) - 1) AS volume_change_pct
FROM latest AS c
LEFT JOIN previous AS b ON TRUE
