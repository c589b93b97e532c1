-- Ranks 1..100 of the newest snapshot with price, changes, volume and market cap.
SELECT
  s.market_cap_rank AS market_cap_rank,
  s.id AS id,
  s.symbol AS symbol,
  s.name AS name,
  s.current_price AS current_price,
  s.price_change_pct_1h AS price_change_pct_1h,
  s.price_change_pct_24h AS price_change_pct_24h,
  s.price_change_pct_7d AS price_change_pct_7d,
  s.volume_24h AS volume_24h,
  s.market_cap AS market_cap,
  s."timestamp" AS "timestamp"
FROM v_latest_snapshot AS s
WHERE s.market_cap_rank BETWEEN 1 AND 100
ORDER BY s.market_cap_rank, s.id
LIMIT 100
