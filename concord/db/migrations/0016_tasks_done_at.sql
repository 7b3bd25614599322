-- The stats' task completion times (a year's 20k done tasks, bench/bench_dar.py) answered from
-- this index alone: through tasks_completed (guild_id, completed_at) SQLite looked up each
-- task's row for its status (and its assignee, for one member's stats): ~45 of ~55 ms (issue 19).
CREATE INDEX tasks_done_at ON tasks (guild_id, status, completed_at, assignee_id);
