-- The 10 ranked coins of the newest snapshot with the largest 24 h price change (ties broken by id).
SELECT
  g.gainer_rank AS gainer_rank,
  g.id AS id,
  g.symbol AS symbol,
  g.name AS name,
  g.current_price AS current_price,
  g.price_change_pct_24h AS price_change_pct_24h,
  g.market_cap_rank AS market_cap_rank,
  g."timestamp" AS "timestamp"
FROM (
  SELECT
    row_number() OVER (ORDER BY s.price_change_pct_24h DESC, s.id) AS gainer_rank,
    s.id AS id,
    s.symbol AS symbol,
    s.name AS name,
    s.current_price AS current_price,
    s.price_change_pct_24h AS price_change_pct_24h,
    s.market_cap_rank AS market_cap_rank,
    s."timestamp" AS "timestamp"
  FROM v_latest_snapshot AS s
  WHERE s.price_change_pct_24h IS NOT NULL
    AND s.market_cap_rank IS NOT NULL
) AS g
WHERE g.gainer_rank <= 10
