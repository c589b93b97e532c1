-- Bitcoin, Ethereum, Tether and Solana by hour over the 168 hours ending with the newest snapshot's hour:
-- one row per coin per hour that has data, with the hour's closing (last) and mean price.
SELECT
  p."timestamp" - p."timestamp" % 3600 AS hour_start,
  p.id AS id,
  arbitrary(p.symbol) AS symbol,
  max_by(p.current_price, p."timestamp") AS close_price,
  avg(p.current_price) AS avg_price,
  max_by(p.market_cap, p."timestamp") AS close_market_cap,
  count(*) AS snapshots
FROM v_recent_prices AS p
CROSS JOIN v_latest_partition AS l
WHERE p.id IN ('bitcoin', 'ethereum', 'tether', 'solana')
  AND p."timestamp" >= l.latest_timestamp - l.latest_timestamp % 3600 - 167 * 3600
  AND p."timestamp" <= l.latest_timestamp
GROUP BY p."timestamp" - p."timestamp" % 3600, p.id
