"""A realistic office in every table, for ``concord db copy`` (tests/db/test_db_copy.py and
bench/bench_db_copy.py): bench_dar.py's year of reports, tasks and approved leave, plus what
the managers write beside them — the ledger's debits for the approved requests, adjustments
and credits, allowances, holidays, history, comments, cards, boards, panels, report versions,
job runs, notifications, settings and the audit log — with Discord-sized snowflakes, text
that needs escaping (tabs, newlines, quotes, backslashes, non-ASCII) and NULLs."""

from __future__ import annotations

import random
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dar import GUILD, MANAGER, NOW, iso, seed

SNOWFLAKE = 1_180_000_000_000_000_000  # a 2023-era Discord id: far beyond int4
AWKWARD = "Tab\there, a newline\nthen 'quotes', \"double\", a back\\slash, Zoë ☕ \\N"


def seed_office(conn: sqlite3.Connection, members: int, tasks: int, leave: int) -> dict[str, int]:
    """bench_dar's office (in the caller's transaction), then every other table filled."""
    counts = seed(conn, members, tasks, leave)
    rng = random.Random(13)
    at = iso(NOW)
    conn.execute(
        "UPDATE guild_settings SET approver_role_id = ?, updated_at = ?, updated_by = ?",
        (SNOWFLAKE + 1, at, MANAGER),
    )
    conn.execute(
        "INSERT INTO guild_settings (guild_id, manager_role_id, timezone) VALUES (?, ?, 'UTC')",
        (SNOWFLAKE, SNOWFLAKE + 2),
    )
    people = [r[0] for r in conn.execute("SELECT DISTINCT user_id FROM dar_reports")]
    type_id = conn.execute("SELECT id FROM leave_types").fetchone()[0]
    conn.execute(
        "INSERT INTO leave_types (guild_id, name, allowance, accrual, carryover_cap, since_year,"
        " created_at, updated_at, archived_at, approval_changed_by)"
        " VALUES (?, 'Sick ☕', '10', 'monthly', '5/2', 2025, ?, ?, NULL, ?)",
        (GUILD, at, at, MANAGER),
    )
    # What approving wrote: one debit per approved request; some cancelled and credited back.
    approved = conn.execute(
        "SELECT id, user_id, amount, substr(start_date, 1, 4) FROM leave_requests"
        " WHERE status = 'approved' ORDER BY id"
    ).fetchall()
    ledger = []
    for request_id, user, amount, year in approved:
        ledger.append((user, int(year), "debit", f"-{amount}", request_id, None))
        if request_id % 25 == 0:
            ledger.append((user, int(year), "credit", amount, request_id, "cancelled"))
    for user in people[::7]:
        ledger.append((user, 2026, "adjustment", rng.choice(("1/2", "-1", "3/4")), None, AWKWARD))
    conn.executemany(
        "INSERT INTO leave_ledger (guild_id, user_id, type_id, year, kind, amount, request_id,"
        " reason, actor_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(GUILD, user, type_id, *rest, MANAGER, at) for user, *rest in ledger],
    )
    conn.executemany(
        "INSERT INTO leave_allowances (guild_id, user_id, type_id, allowance, set_by, set_at)"
        " VALUES (?, ?, ?, '55/2', ?, ?)",
        [(GUILD, user, type_id, MANAGER, at) for user in people[::11]],
    )
    conn.executemany(
        "INSERT INTO holidays (guild_id, day, name, source, added_by, added_at)"
        " VALUES (?, ?, ?, 'import:GB-ENG', ?, ?)",
        [
            (GUILD, "2026-12-25", "Christmas Day", MANAGER, at),
            (GUILD, "2026-12-28", "Boxing Day (substitute day)", MANAGER, at),
        ],
    )
    conn.executemany(
        "INSERT INTO leave_changes (guild_id, user_id, kind, type_name, days, reason, status,"
        " requested_at, decided_by, decided_at, card_channel_id, card_message_id)"
        " VALUES (?, ?, ?, 'Annual', ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (GUILD, MANAGER, "adjust", "2", AWKWARD, "pending", at, None, None, 6, SNOWFLAKE + 9),
            (GUILD, MANAGER, "allowance", "30", None, "approved", at, MANAGER + 1, at, 6, None),
        ],
    )
    # Tasks: a repeating series (next/previous both ways), history, comments, DM cards, a board.
    first = conn.execute(
        "INSERT INTO tasks (guild_id, title, description, creator_id, assignee_id, status,"
        " due_date, due_time, repeat, created_at, updated_at, completed_at, source_url,"
        " skip_holidays, rhythm_date) VALUES (?, 'Weekly report', ?, ?, ?, 'done', '2026-11-27',"
        " '17:00', 'weekly', ?, ?, ?, 'https://discord.com/channels/1/2/3', 1, '2026-11-27')"
        " RETURNING id",
        (GUILD, AWKWARD, MANAGER, SNOWFLAKE + 3, at, at, at),
    ).fetchone()[0]
    second = conn.execute(
        "INSERT INTO tasks (guild_id, title, creator_id, assignee_id, status, due_date, repeat,"
        " series_id, previous_id, created_at, updated_at, block_reason)"
        " VALUES (?, 'Weekly report', ?, ?, 'blocked', '2026-12-04', 'weekly', ?, ?, ?, ?, ?)"
        " RETURNING id",
        (GUILD, MANAGER, SNOWFLAKE + 3, first, first, at, at, "Waiting for finance"),
    ).fetchone()[0]
    conn.execute("UPDATE tasks SET series_id = ?, next_id = ? WHERE id = ?", (first, second, first))
    task_ids = [r[0] for r in conn.execute("SELECT id FROM tasks ORDER BY id LIMIT 500")]
    events = []
    for task_id in task_ids:
        events.append((task_id, MANAGER, "created", None, None, None))
        events.append(
            (task_id, MANAGER, "status", "open", "done", AWKWARD if task_id % 9 else None)
        )
    conn.executemany(
        "INSERT INTO task_events (task_id, actor_id, kind, from_value, to_value, note, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(*event, at) for event in events],
    )
    conn.executemany(
        "INSERT INTO task_comments (task_id, author_id, body, at) VALUES (?, ?, ?, ?)",
        [(task_id, MANAGER, AWKWARD, at) for task_id in task_ids[::5]],
    )
    conn.executemany(
        "INSERT INTO task_dm_cards (task_id, channel_id, message_id) VALUES (?, ?, ?)",
        [(task_id, SNOWFLAKE + 4, SNOWFLAKE + 100 + task_id) for task_id in task_ids[::10]],
    )
    conn.execute(
        "INSERT INTO task_boards (channel_id, guild_id, message_ids, posted_by, posted_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (SNOWFLAKE + 5, GUILD, f"[{SNOWFLAKE + 6}, {SNOWFLAKE + 7}]", MANAGER, at),
    )
    # DAR: edited reports keep their earlier text; a blocker made into a task; the panel.
    reports = [
        r[0]
        for r in conn.execute("SELECT id FROM dar_reports WHERE blockers IS NOT NULL LIMIT 200")
    ]
    conn.executemany(
        "INSERT INTO dar_report_versions (report_id, done, plan, blockers, minutes, replaced_at,"
        " replaced_by) VALUES (?, ?, 'the plan', NULL, 450, ?, ?)",
        [(report_id, AWKWARD, at, MANAGER) for report_id in reports],
    )
    conn.executemany(
        "UPDATE dar_reports SET edits = 1 WHERE id = ?", [(report_id,) for report_id in reports]
    )
    conn.executemany(
        "INSERT INTO dar_blocker_tasks (report_id, task_id, created_by, created_at)"
        " VALUES (?, ?, ?, ?)",
        [(report_id, second, MANAGER, at) for report_id in reports[:20]],
    )
    conn.execute(
        "INSERT INTO dar_panels (channel_id, guild_id, message_id, posted_by, posted_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (SNOWFLAKE + 8, GUILD, SNOWFLAKE + 10, MANAGER, at),
    )
    # Leave teams (0011): a team with a limit, its members and approver, blackouts, a note.
    team = conn.execute(
        "INSERT INTO leave_teams (guild_id, name, approver_role_id, max_out, created_by,"
        " created_at) VALUES (?, 'Support ☕', ?, 2, ?, ?) RETURNING id",
        (GUILD, SNOWFLAKE + 13, MANAGER, at),
    ).fetchone()[0]
    conn.executemany(
        "INSERT INTO leave_team_members (team_id, user_id, added_by, added_at) VALUES (?, ?, ?, ?)",
        [(team, user, MANAGER, at) for user in people[::4]],
    )
    conn.execute(
        "INSERT INTO leave_team_approvers (team_id, user_id, added_by, added_at)"
        " VALUES (?, ?, ?, ?)",
        (team, people[1], MANAGER, at),
    )
    conn.executemany(
        "INSERT INTO leave_blackouts (guild_id, team_id, start_date, end_date, reason,"
        " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (GUILD, team, "2026-12-14", "2026-12-15", AWKWARD, MANAGER, at),
            (GUILD, None, "2026-12-31", "2026-12-31", "year end", MANAGER, at),
        ],
    )
    conn.execute(
        "UPDATE leave_requests SET override_note = ? WHERE id IN (SELECT min(id) FROM"
        " leave_requests)",
        (AWKWARD,),
    )
    # Leave feeds (0012): links (one revoked) and the names the web process shows.
    conn.executemany(
        "INSERT INTO leave_feeds (guild_id, user_id, kind, team_id, token_hash, manager,"
        " created_at, revoked_at, revoked_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (GUILD, people[0], "personal", None, "a" * 64, 0, at, None, None),
            (GUILD, people[0], "personal", None, "b" * 64, 0, at, at, people[0]),
            (GUILD, MANAGER, "team", team, "c" * 64, 1, at, None, None),
            (GUILD, MANAGER, "office", None, "d" * 64, 1, at, None, None),
        ],
    )
    conn.executemany(
        "INSERT INTO member_names (guild_id, user_id, display_name, updated_at)"
        " VALUES (?, ?, ?, ?)",
        [(GUILD, user, f"Member {i} Zoë", at) for i, user in enumerate(people)],
    )
    # Check-ins (0013): a weekly retro with its questions, a renamed label, entries with
    # answers (one filed as a daily report, one skipped), its thread, members' own rhythm.
    checkin = conn.execute(
        "INSERT INTO dar_checkins (guild_id, name, channel_id, kind, days, at_time, post_each,"
        " created_by, created_at) VALUES (?, 'Friday retro', ?, 'weekly', 'fri', '16:00',"
        " 'thread', ?, ?) RETURNING id",
        (GUILD, SNOWFLAKE + 14, MANAGER, at),
    ).fetchone()[0]
    questions = [
        conn.execute(
            "INSERT INTO dar_questions (checkin_id, position, label, kind, unit, options,"
            " required, role, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (checkin, *question, at),
        ).fetchone()[0]
        for question in (
            (1, "What went well", "long", None, None, 1, "done"),
            (2, "Mood", "choice", None, "1\n2\n3", 1, "none"),
            (3, "Focus", "number", "h", None, 0, "hours"),
        )
    ]
    conn.executemany(
        "INSERT INTO dar_question_labels (question_id, label, since) VALUES (?, ?, ?)",
        [(q, f"label {q}", at) for q in questions]
        + [(questions[0], "Wins", "2026-12-02T09:00:00+00:00")],
    )
    entries = [
        conn.execute(
            "INSERT INTO dar_entries (guild_id, checkin_id, user_id, day, status, skip_reason,"
            " report_id, late, submitted_at, updated_at, post_channel_id, post_message_id)"
            " VALUES (?, ?, ?, '2026-11-27', ?, ?, ?, 0, ?, ?, ?, ?) RETURNING id",
            (GUILD, checkin, user, status, reason, report, at, at, channel, message),
        ).fetchone()[0]
        for user, status, reason, report, channel, message in (
            (people[0], "filed", None, reports[0], SNOWFLAKE + 14, SNOWFLAKE + 15),
            (people[1], "filed", None, None, None, None),
            (people[2], "skipped", AWKWARD[:200], None, None, None),
        )
    ]
    conn.executemany(
        "INSERT INTO dar_answers (entry_id, question_id, label, value) VALUES (?, ?, ?, ?)",
        [(entry, q, f"label {q}", AWKWARD) for entry in entries[:2] for q in questions[:2]],
    )
    conn.execute(
        "INSERT INTO dar_threads (checkin_id, day, channel_id, thread_id) VALUES (?, ?, ?, ?)",
        (checkin, "2026-11-27", SNOWFLAKE + 14, SNOWFLAKE + 16),
    )
    conn.executemany(
        "INSERT INTO dar_member_rhythm (guild_id, user_id, remind_at, workdays)"
        " VALUES (?, ?, ?, ?)",
        [(GUILD, people[0], "08:30", "mon,tue,wed"), (GUILD, people[1], None, "fri")],
    )
    # Settings, the scheduler's bookkeeping, and the audit log.
    conn.executemany(
        "INSERT INTO member_settings (guild_id, user_id, timezone) VALUES (?, ?, ?)",
        [
            (GUILD, user, rng.choice(("Asia/Manila", "America/New_York", None)))
            for user in people[::3]
        ],
    )
    conn.execute(
        "INSERT INTO module_settings (guild_id, name, value, updated_at, updated_by)"
        " VALUES (?, 'kudos.channel', ?, ?, ?)",
        (GUILD, f'{{"id": {SNOWFLAKE + 11}}}', at, MANAGER),
    )
    conn.execute(
        "INSERT INTO command_sync (scope, tree_hash, synced_at) VALUES ('global', 'ab12', ?)", (at,)
    )
    conn.executemany(
        "INSERT INTO job_runs (guild_id, job, local_date, status, late, attempts, started_at,"
        " finished_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (GUILD, "dar_summary", "2026-11-30", "done", 0, 1, at, at, None),
            (GUILD, "digest", "2026-12-01", "failed", 1, 3, at, at, AWKWARD),
            (GUILD, "backup", "2026-12-01", "running", 0, 1, at, None, None),
        ],
    )
    conn.executemany(  # the scheduler's next due instants (job_due, 0014): one dirty, one set
        "INSERT INTO job_due (guild_id, job, due_at, local_date, version) VALUES (?, ?, ?, ?, ?)",
        [
            (GUILD, "dar_summary", "2026-12-01T10:00:00+00:00", "2026-12-01", 3),
            (GUILD, "digest", "", None, 0),
        ],
    )
    conn.execute("INSERT INTO settings_changes (guild_id, changed_at) VALUES (?, ?)", (GUILD, at))
    conn.executemany(
        "INSERT INTO notifications_sent (guild_id, kind, key, sent_at) VALUES (?, ?, ?, ?)",
        [(GUILD, "dar_reminder", f"{user}:2026-12-01", at) for user in people[::2]],
    )
    conn.executemany(
        "INSERT INTO audit_log (guild_id, actor_id, action, subject, before, after, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                GUILD,
                MANAGER,
                "leave.approve",
                f"leave_request:{request_id}",
                "pending",
                "approved",
                at,
            )
            for request_id, *_ in approved
        ]
        + [(GUILD, SNOWFLAKE + 12, "settings.set", "guild", None, AWKWARD, at)],
    )
    counts["ledger entries"] = len(ledger)
    return counts
