-- The newest snapshot in the window and the hour partition holding it (one row; none on an empty lake).
-- Other views join on these partition columns as well as on "timestamp", so an engine with dynamic
-- partition pruning (Athena/Trino) can skip the rest of the window at run time.
-- An aggregate, not ORDER BY .. LIMIT 1: DuckDB plans a top-N with late materialisation as two scans of
-- the window, an aggregate as one. Every row of the newest snapshot shares its hour, so max_by's pick
-- among them does not matter.
SELECT
  max(p."timestamp") AS latest_timestamp,
  max_by(p.year, p."timestamp") AS year,
  max_by(p.month, p."timestamp") AS month,
  max_by(p.day, p."timestamp") AS day,
  max_by(p.hour, p."timestamp") AS hour
FROM v_recent_prices AS p
HAVING max(p."timestamp") IS NOT NULL
