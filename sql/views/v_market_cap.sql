-- Market capitalisation of each coin in the newest snapshot and its share of the snapshot's total.
SELECT
  s.market_cap_rank AS market_cap_rank,
  s.id AS id,
  s.symbol AS symbol,
  s.name AS name,
  s.market_cap AS market_cap,
  100 * CAST(s.market_cap AS DOUBLE) / CAST(NULLIF(t.total_market_cap, 0) AS DOUBLE) AS market_cap_share_pct,
  s."timestamp" AS "timestamp"
FROM v_latest_snapshot AS s
CROSS JOIN (
  SELECT CAST(sum(x.market_cap) AS BIGINT) AS total_market_cap
  FROM v_latest_snapshot AS x
) AS t
WHERE s.market_cap IS NOT NULL
