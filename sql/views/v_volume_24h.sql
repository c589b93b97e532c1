-- The 20 coins of the newest snapshot with the largest 24 h trading volume and their share of the
-- snapshot's total 24 h volume.
SELECT
  v.volume_rank AS volume_rank,
  v.id AS id,
  v.symbol AS symbol,
  v.name AS name,
  v.volume_24h AS volume_24h,
  v.volume_share_pct AS volume_share_pct,
  v.market_cap_rank AS market_cap_rank,
  v."timestamp" AS "timestamp"
FROM (
  SELECT
    row_number() OVER (ORDER BY s.volume_24h DESC, s.id) AS volume_rank,
    s.id AS id,
    s.symbol AS symbol,
    s.name AS name,
    s.volume_24h AS volume_24h,
    100 * CAST(s.volume_24h AS DOUBLE) / CAST(NULLIF(t.total_volume_24h, 0) AS DOUBLE) AS volume_share_pct,
    s.market_cap_rank AS market_cap_rank,
    s."timestamp" AS "timestamp"
  FROM v_latest_snapshot AS s
  CROSS JOIN (
    SELECT CAST(sum(x.volume_24h) AS BIGINT) AS total_volume_24h
    FROM v_latest_snapshot AS x
  ) AS t
  WHERE s.volume_24h IS NOT NULL
) AS v
WHERE v.volume_rank <= 20
