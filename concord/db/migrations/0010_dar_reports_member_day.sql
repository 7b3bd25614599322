-- The stats' per-member read (every report's day and lateness for a year, grouped by member)
-- answered from this index alone: through the (guild_id, day) index it looked up each report's
-- row, text and all, for its `late` (≈90 of the year's stats' 420 ms, bench/bench_dar.py).
CREATE INDEX dar_reports_member_day ON dar_reports (guild_id, user_id, day, late);
