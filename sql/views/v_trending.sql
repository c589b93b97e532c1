-- 7-day movers: the 10 ranked coins of the newest snapshot with the largest absolute 7-day price change
-- (CoinGecko's own 7-day figure, which covers 7 days even when the lake holds less history).
SELECT
  m.mover_rank AS mover_rank,
  m.id AS id,
  m.symbol AS symbol,
  m.name AS name,
  m.current_price AS current_price,
  m.price_change_pct_7d AS price_change_pct_7d,
  m.market_cap_rank AS market_cap_rank,
  m."timestamp" AS "timestamp"
FROM (
  SELECT
    row_number() OVER (ORDER BY abs(s.price_change_pct_7d) DESC, s.id) AS mover_rank,
    s.id AS id,
    s.symbol AS symbol,
    s.name AS name,
    s.current_price AS current_price,
    s.price_change_pct_7d AS price_change_pct_7d,
    s.market_cap_rank AS market_cap_rank,
    s."timestamp" AS "timestamp"
  FROM v_latest_snapshot AS s
  WHERE s.price_change_pct_7d IS NOT NULL
    AND s.market_cap_rank IS NOT NULL
) AS m
WHERE m.mover_rank <= 10
