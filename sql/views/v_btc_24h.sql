-- Bitcoin over the 24 h ending with the newest snapshot, both ends included: price, 24 h volume, market
-- cap, and the price change since the window's first snapshot (on the last row, the change over 24 h).
SELECT
  p."timestamp" AS "timestamp",
  p.current_price AS price,
  p.volume_24h AS volume_24h,
  p.market_cap AS market_cap,
  100 * (
    CAST(p.current_price AS DOUBLE)
    / CAST(NULLIF(first_value(p.current_price) OVER (ORDER BY p."timestamp"), 0) AS DOUBLE)
    - 1
  ) AS change_pct
FROM v_recent_prices AS p
CROSS JOIN v_latest_partition AS l
WHERE p.id = 'bitcoin'
  AND p.current_price IS NOT NULL
  AND p."timestamp" >= l.latest_timestamp - 86400
  AND p."timestamp" <= l.latest_timestamp
