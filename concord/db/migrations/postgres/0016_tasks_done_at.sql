-- PostgreSQL twin of ../0016_tasks_done_at.sql (issue 19): the same index.

CREATE INDEX tasks_done_at ON tasks (guild_id, status, completed_at, assignee_id);
