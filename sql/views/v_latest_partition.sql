-- The newest snapshot in the window and the hour partition holding it (one row; none on an empty lake).
-- Other views join on these partition columns as well as on "timestamp", so an engine with dynamic
-- partition pruning (Athena/Trino) can skip the rest of the window at run time.
SELECT
  p."timestamp" AS latest_timestamp,
  p.year AS year,
  p.month AS month,
  p.day AS day,
  p.hour AS hour
FROM v_recent_prices AS p
ORDER BY p."timestamp" DESC
LIMIT 1
