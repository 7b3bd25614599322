"""pytest plugin: end-to-end tests through the local Discord emulator and the real bot.

Enable it in ``tests/conftest.py`` with ``pytest_plugins = ["concord.sandbox.testing"]``; a test
then asks for the ``sandbox`` fixture (a started :class:`concord.sandbox.driver.Sandbox`)::

    async def test_setup(sandbox):
        reply = await sandbox.slash("owner", "concord setup", timezone="Europe/Paris")
        assert reply.ephemeral and "Saved 1 setting" in reply.text

Each test gets a fresh emulator with the standard office, a fresh database under ``tmp_path``,
a :class:`ManualClock` at 2026-12-01 09:00 UTC and every built-in module. Options come
from a marker: ``@pytest.mark.sandbox(dev_guild=True, cogs=[...], monotonic=ManualMonotonic())``.

A 4xx from the emulator, an unknown route, an error logged by the bot or an unanswered
interaction fails the test; so does a task, thread or socket the test leaves behind.

Beyond the actions (``slash``, ``autocomplete``, ``click``, ``select``, ``submit``,
``context_menu``, ``post``) and lookups (``member``, ``channel``, ``role``, ``messages``,
``last_message``, ``dms``):

- ``await sandbox.configure(manager_role="Manager", approvals_channel="approvals", ...)`` writes
  only the given settings; ``await sandbox.configure_office()`` the usual full setup (Manager,
  Staff, the three channels, Europe/London).
- The Manager role has Manage Server (alice may run ``/concord setup``); bob, carol and dave
  are Staff; the owner is the guild owner.
- ``with sandbox.expect_errors() as caught:`` collects 4xx answers (``caught.requests``), error
  logs (``caught.logs``) and unanswered interactions instead of failing, and fails if nothing
  went wrong at all.
- ``await sandbox.run(coro)`` runs bot-side work (``sandbox.bot.run_scheduled()``), waits for
  what it spawned and fails on the problems it caused; ``await sandbox.add_cog(cog)`` loads a
  test-only cog and syncs its commands; ``await sandbox.restart()`` starts a new bot on the
  same database (the emulator keeps its messages and commands, like Discord).
- Faults: ``sandbox.emulator.inject_rate_limit("POST /channels/{channel_id}/messages")``,
  ``inject_error(route, 503)``, ``await sandbox.emulator.gateway.drop()``,
  ``request_reconnect()``, ``invalidate_session()``; a member who closed their DMs:
  ``sandbox.member("bob").accepts_dms = False`` (the bot then gets 403 / 50007).
- Rate limits: the emulator sends Discord's X-RateLimit-* headers on every answer; here with
  limits no test reaches (``RateLimits.relaxed()``) unless the marker passes ``rate_limits=``.
- Interaction timing (3 s to answer, 15 min of followups) uses ``monotonic``; inject
  ``ManualMonotonic()`` with the marker and ``sandbox.emulator.monotonic.advance(4)``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from concord.sandbox.driver import Sandbox
from concord.sandbox.emulator.ratelimit import RateLimits

__all__ = ["sandbox"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sandbox(**options): options for the sandbox fixture "
        "(dev_guild=True, cogs=[...], monotonic=..., clock=...)",
    )


def _socket_fds() -> set[str]:
    """Inodes of this process's open sockets (Linux); empty where /proc is missing."""
    found: set[str] = set()
    directory = Path("/proc/self/fd")
    if not directory.exists():
        return found
    for entry in directory.iterdir():
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


async def _assert_clean(threads: set[threading.Thread], sockets: set[str]) -> None:
    current = asyncio.current_task()
    for _ in range(5):
        leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not leftover:
            break
        await asyncio.sleep(0)
    else:
        names = ", ".join(t.get_name() for t in leftover)
        raise AssertionError(f"the test left tasks running: {names}")
    for thread in threading.enumerate():
        # asyncio_N: the loop's default executor (DNS lookups); it ends with the loop.
        if thread not in threads and thread.is_alive() and not thread.name.startswith("asyncio_"):
            thread.join(2)
            if thread.is_alive():
                raise AssertionError(f"the test left a thread running: {thread.name}")
    extra = _socket_fds() - sockets
    if extra:
        raise AssertionError(f"the test left {len(extra)} socket(s) open")


@pytest_asyncio.fixture
async def sandbox(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    marker = request.node.get_closest_marker("sandbox")
    options = dict(marker.kwargs) if marker is not None else {}
    # Discord's headers, with limits no test reaches: a test posting many messages to one
    # channel must not wait 5 s per 5 of them. Tests of the limits pass their own
    # (``@pytest.mark.sandbox(rate_limits=RateLimits.discord())``).
    options.setdefault("rate_limits", RateLimits.relaxed())
    threads = set(threading.enumerate())
    sockets = _socket_fds()
    box = Sandbox(tmp_path, **options)
    try:
        await box.start()
        yield box
        box.check()
    finally:
        await box.stop()
    await _assert_clean(threads, sockets)
