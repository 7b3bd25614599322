"""Create Message's ``nonce`` and ``enforce_nonce`` in the emulator, as Discord documents them
(resources/message, Create Message): "If enforce_nonce is set to true and nonce is present, it
will be checked for uniqueness in the past few minutes. If another message was created by the
same author with the same nonce, that message will be returned and no new message will be
created." The nonce is an integer or a string of at most 25 characters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from concord.sandbox.emulator import Emulator, ManualMonotonic
from concord.sandbox.emulator.world import StoredMessage
from concord.sandbox.office import build_office
from tests.test_sandbox_emulator import Api, error_paths


class NonceApi(Api):
    now: list[datetime]
    created: list[int]


@pytest_asyncio.fixture
async def api() -> AsyncIterator[NonceApi]:
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    emulator = Emulator(clock=lambda: now[0], monotonic=ManualMonotonic())
    office = build_office(emulator)
    created: list[int] = []

    def listen(kind: str, message: StoredMessage) -> None:
        if kind == "MESSAGE_CREATE":
            created.append(message.id)

    emulator.listeners.append(listen)
    await emulator.start()
    try:
        async with aiohttp.ClientSession() as session:
            client = NonceApi(emulator, session, office)
            client.now, client.created = now, created
            yield client
    finally:
        await emulator.stop()


async def test_the_nonce_is_stored_and_echoed(api: NonceApi) -> None:
    status, data = await api.post_message({"content": "hi", "nonce": "abc"})
    assert status == 200 and data["nonce"] == "abc"
    assert api.emulator.world.messages[int(data["id"])].nonce == "abc"
    status, data = await api.post_message({"content": "hi", "nonce": 123})
    assert status == 200 and data["nonce"] == 123


async def test_an_enforced_nonce_returns_the_first_message_and_creates_nothing(
    api: NonceApi,
) -> None:
    body = {"content": "reminder", "nonce": "n1", "enforce_nonce": True}
    status, first = await api.post_message(body)
    assert status == 200 and len(api.created) == 1
    api.now[0] += timedelta(minutes=2)
    # Same author, same nonce: the first message back, even from another channel.
    status, again = await api.post_message({**body, "content": "changed"}, channel="tasks")
    assert status == 200 and again["id"] == first["id"] and again["content"] == "reminder"
    assert len(api.created) == 1 and api.emulator.world.nonce_hits == 1
    assert sum(m.nonce == "n1" for m in api.emulator.world.messages.values()) == 1


async def test_without_enforce_nonce_the_same_nonce_makes_a_new_message(api: NonceApi) -> None:
    _, first = await api.post_message({"content": "a", "nonce": "n2"})
    _, second = await api.post_message({"content": "a", "nonce": "n2"})
    _, third = await api.post_message({"content": "a", "nonce": "n2", "enforce_nonce": False})
    assert len({first["id"], second["id"], third["id"]}) == 3 and len(api.created) == 3


async def test_the_nonce_is_unique_only_for_a_few_minutes(api: NonceApi) -> None:
    body = {"content": "a", "nonce": "n3", "enforce_nonce": True}
    _, first = await api.post_message(body)
    api.now[0] += api.emulator.world.nonce_window + timedelta(seconds=1)
    _, second = await api.post_message(body)
    assert second["id"] != first["id"] and len(api.created) == 2
    api.now[0] += timedelta(seconds=30)  # within the window of the second one
    _, third = await api.post_message(body)
    assert third["id"] == second["id"] and len(api.created) == 2


async def test_a_deleted_message_is_not_returned_for_its_nonce(api: NonceApi) -> None:
    body = {"content": "a", "nonce": "n4", "enforce_nonce": True}
    _, first = await api.post_message(body)
    channel_id = api.office.channels["general"].id
    status, _, _ = await api.call("DELETE", f"/channels/{channel_id}/messages/{first['id']}")
    assert status == 204
    _, second = await api.post_message(body)
    assert second["id"] != first["id"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"content": "a", "nonce": "x" * 26}, "nonce:BASE_TYPE_MAX_LENGTH"),
        ({"content": "a", "nonce": ["x"]}, "nonce:BASE_TYPE_BAD_TYPE"),
        ({"content": "a", "nonce": True}, "nonce:BASE_TYPE_BAD_TYPE"),
        (
            {"content": "a", "nonce": "x", "enforce_nonce": "yes"},
            "enforce_nonce:BASE_TYPE_BAD_TYPE",
        ),
    ],
)
async def test_bad_nonces_are_refused(api: NonceApi, body: dict[str, Any], path: str) -> None:
    status, data = await api.post_message(body)
    assert status == 400 and data["code"] == 50035 and path in error_paths(data)
    assert api.created == []


async def test_a_25_character_nonce_is_accepted(api: NonceApi) -> None:
    status, data = await api.post_message({"content": "a", "nonce": "x" * 25})
    assert status == 200 and data["nonce"] == "x" * 25
