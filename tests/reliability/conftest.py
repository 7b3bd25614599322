"""The reliability suite runs with asyncio's slow-callback detection: a test during which one
callback held the event loop for ``SLOW_CALLBACK_SECONDS`` fails, naming the callback. Every
member waits while the loop is held, so such work belongs on a thread (exports, charts).

The threshold is generous, for a loaded 2-core machine: asyncio measures wall time, and with
other processes on both cores (load average 4) a callback of the many-processes test once took
1.03 s, so 1 s would fail runs for the machine's sake, not the bot's. Work that really holds
the loop (the old 2.4–2.7 s ICS build) is still caught, and the export tests also check where
each export is built, which does not depend on timing."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

SLOW_CALLBACK_SECONDS = 2.0


class _SlowCallbacks(logging.Handler):
    """Keeps asyncio's "Executing <callback> took N seconds" warnings (debug mode only)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing ") and " took " in message:
            self.messages.append(message)


@pytest_asyncio.fixture
async def no_slow_callbacks() -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    handler = _SlowCallbacks()
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    debug, duration = loop.get_debug(), loop.slow_callback_duration
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW_CALLBACK_SECONDS
    try:
        yield
    finally:
        loop.set_debug(debug)
        loop.slow_callback_duration = duration
        logger.removeHandler(handler)
    if handler.messages:
        pytest.fail(
            f"a callback held the event loop for more than {SLOW_CALLBACK_SECONDS} s:\n"
            + "\n".join(handler.messages),
            pytrace=False,
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every coroutine test of this folder runs under the detection (sync tests have no loop,
    and asking for an async fixture from one is deprecated)."""
    here = Path(__file__).parent
    for item in items:
        function = getattr(item, "function", None)
        names = getattr(item, "fixturenames", None)
        if (
            here in item.path.parents
            and inspect.iscoroutinefunction(function)
            and isinstance(names, list)
            and "no_slow_callbacks" not in names
        ):
            names.append("no_slow_callbacks")
