-- Every coin of the newest snapshot.
SELECT
  p.market_cap_rank AS market_cap_rank,
  p.id AS id,
  p.symbol AS symbol,
  p.name AS name,
  p.current_price AS current_price,
  p.market_cap AS market_cap,
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
  p."timestamp" AS "timestamp"
FROM v_recent_prices AS p
JOIN v_latest_partition AS l
  ON p.year = l.year
  AND p.month = l.month
  AND p.day = l.day
  AND p.hour = l.hour
  AND p."timestamp" = l.latest_timestamp
