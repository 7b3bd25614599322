"""Emulator self-tests over raw HTTP: it must refuse what Discord refuses, with Discord's codes
and error shapes, and answer with exactly what discord.py parses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from concord.sandbox.emulator import Emulator, ManualMonotonic
from concord.sandbox.emulator.interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
)
from concord.sandbox.emulator.world import ATTACH_FILES, MENTION_EVERYONE
from concord.sandbox.office import Office, build_office


class Api:
    """A tiny raw client: the bot's side of the wire without discord.py in between."""

    def __init__(self, emulator: Emulator, session: aiohttp.ClientSession, office: Office) -> None:
        self.emulator = emulator
        self.session = session
        self.office = office
        self.clock = emulator.monotonic

    async def call(
        self, method: str, path: str, body: Any = None, *, auth: bool = True, **query: str
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = {"Authorization": f"Bot {self.emulator.token}"} if auth else {}
        async with self.session.request(
            method, self.emulator.api_base + path, json=body, headers=headers, params=query
        ) as response:
            data = await response.json() if response.content_type == "application/json" else None
            return response.status, data, response

    async def post_message(self, body: dict[str, Any], channel: str = "general") -> tuple[int, Any]:
        channel_id = self.office.channels[channel].id
        status, data, _ = await self.call("POST", f"/channels/{channel_id}/messages", body)
        return status, data

    async def slash(self, user: str = "bob") -> Any:
        return await self.emulator.create_interaction(
            kind=APPLICATION_COMMAND,
            user=self.office.users[user],
            channel=self.office.channels["general"],
            data={"id": "1", "name": "probe", "type": 1},
        )

    async def callback(self, record: Any, body: dict[str, Any]) -> tuple[int, Any]:
        status, data, _ = await self.call(
            "POST",
            f"/interactions/{record.id}/{record.token}/callback",
            body,
            auth=False,
            with_response="true",
        )
        return status, data

    async def webhook(
        self, method: str, record: Any, suffix: str = "", body: Any = None
    ) -> tuple[int, Any]:
        path = f"/webhooks/{self.emulator.application_id}/{record.token}{suffix}"
        status, data, _ = await self.call(method, path, body, auth=False, wait="true")
        return status, data


@pytest_asyncio.fixture
async def api() -> AsyncIterator[Api]:
    emulator = Emulator(monotonic=ManualMonotonic())
    office = build_office(emulator)
    await emulator.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Api(emulator, session, office)
    finally:
        await emulator.stop()


def error_paths(data: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            if key == "_errors":
                found.extend(f"{prefix}:{e['code']}" for e in value)
            else:
                walk(value, f"{prefix}.{key}" if prefix else key)

    walk(data.get("errors", {}), "")
    return found


# -- transport ----------------------------------------------------------------------------------
async def test_json_responses_have_the_exact_content_type_discord_py_needs(api: Api) -> None:
    status, data, response = await api.call("GET", "/users/@me")
    assert status == 200 and data["bot"] is True
    assert response.headers["Content-Type"] == "application/json"


async def test_unknown_routes_answer_404_and_are_recorded_as_problems(api: Api) -> None:
    status, data, _ = await api.call("GET", "/guilds/1/bans")
    assert status == 404 and data == {"message": "404: Not Found", "code": 0}
    (problem,) = api.emulator.problems()
    assert problem.route == "?" and problem.path.endswith("/guilds/1/bans")


async def test_requests_without_the_bot_token_are_unauthorized(api: Api) -> None:
    status, data, _ = await api.call("GET", "/users/@me", auth=False)
    assert status == 401 and data["code"] == 0


# -- message validation -------------------------------------------------------------------------
def embed(**fields: Any) -> dict[str, Any]:
    return {"title": "t", **fields}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"content": "x" * 2001}, "content:BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [embed(title="x" * 257)]}, "embeds.0.title:BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [embed(description="x" * 4097)]}, "embeds.0.description:BASE_TYPE_MAX_LENGTH"),
        (
            {"embeds": [embed(fields=[{"name": "n", "value": "v"}] * 26)]},
            "embeds.0.fields:BASE_TYPE_MAX_LENGTH",
        ),
        (
            {"embeds": [embed(fields=[{"name": "n", "value": "x" * 1025}])]},
            "embeds.0.fields.0.value:BASE_TYPE_BAD_LENGTH",
        ),
        (
            {"embeds": [embed(fields=[{"name": "n", "value": ""}])]},
            "embeds.0.fields.0.value:BASE_TYPE_BAD_LENGTH",
        ),
        (
            {"embeds": [embed(footer={"text": "x" * 2049})]},
            "embeds.0.footer.text:BASE_TYPE_MAX_LENGTH",
        ),
        ({"embeds": [embed(description="x" * 4000)] * 2}, "embeds:MAX_EMBED_SIZE_EXCEEDED"),
        ({"embeds": [embed()] * 11}, "embeds:BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [embed(color=0x1000000)]}, "embeds.0.color:NUMBER_TYPE_MAX"),
        ({"content": "hi", "flags": 64}, "flags:MESSAGE_FLAGS_INVALID"),
    ],
)
async def test_message_limits(api: Api, body: dict[str, Any], path: str) -> None:
    status, data = await api.post_message(body)
    assert status == 400 and data["code"] == 50035 and data["message"] == "Invalid Form Body"
    assert path in error_paths(data)


@pytest.mark.parametrize("content", ["", "   \n "])
async def test_empty_messages_are_refused(api: Api, content: str) -> None:
    status, data = await api.post_message({"content": content})
    assert status == 400 and data == {"message": "Cannot send an empty message", "code": 50006}


def button(custom_id: str, label: str = "Go", style: int = 1) -> dict[str, Any]:
    return {"type": 2, "style": style, "label": label, "custom_id": custom_id}


def row(*children: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(children)}


@pytest.mark.parametrize(
    ("components", "path"),
    [
        ([row(button(f"b{i}")) for i in range(6)], "components:BASE_TYPE_MAX_LENGTH"),
        (
            [row(*(button(f"b{i}") for i in range(6)))],
            "components.0.components:BASE_TYPE_MAX_LENGTH",
        ),
        ([row(button("x" * 101))], "components.0.components.0.custom_id:BASE_TYPE_BAD_LENGTH"),
        (
            [row(button("a"), button("a"))],
            "components.0.components.1.custom_id:COMPONENT_CUSTOM_ID_DUPLICATED",
        ),
        (
            [row(button("a", label="x" * 81))],
            "components.0.components.0.label:BASE_TYPE_MAX_LENGTH",
        ),
        (
            [
                row(
                    {
                        "type": 2,
                        "style": 5,
                        "label": "Docs",
                        "url": "https://x.test",
                        "custom_id": "a",
                    }
                )
            ],
            "components.0.components.0.custom_id:BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
        ),
        (
            [row({"type": 3, "custom_id": "s", "options": []})],
            "components.0.components.0.options:BASE_TYPE_REQUIRED",
        ),
        ([button("bare")], "components.0.type:UNION_TYPE_CHOICES"),
        (
            [row({"type": 2, "style": 5, "label": "Docs", "url": "https://x.test/" + "a" * 500})],
            "components.0.components.0.url:BASE_TYPE_MAX_LENGTH",
        ),
    ],
)
async def test_component_limits(api: Api, components: list[dict[str, Any]], path: str) -> None:
    status, data = await api.post_message({"content": "card", "components": components})
    assert status == 400 and path in error_paths(data)


async def test_a_valid_message_round_trips(api: Api) -> None:
    body = {
        "content": f"hello <@{api.office.users['bob'].id}>",
        "embeds": [embed(description="d", fields=[{"name": "a", "value": "b", "inline": True}])],
        "components": [
            row(button("ok"), {"type": 2, "style": 5, "label": "Docs", "url": "https://x.test"})
        ],
    }
    status, data = await api.post_message(body)
    assert status == 200
    assert data["content"] == body["content"] and data["embeds"][0]["type"] == "rich"
    assert [m["username"] for m in data["mentions"]] == ["bob"]
    channel_id = api.office.channels["general"].id
    status, history, _ = await api.call("GET", f"/channels/{channel_id}/messages", limit="10")
    assert status == 200 and [m["id"] for m in history] == [data["id"]]


async def test_dms_to_a_member_who_closed_them_are_refused(api: Api) -> None:
    carol = api.office.users["carol"]
    carol.accepts_dms = False
    status, channel, _ = await api.call(
        "POST", "/users/@me/channels", {"recipient_id": str(carol.id)}
    )
    assert status == 200 and channel["type"] == 1
    status, data, _ = await api.call(
        "POST", f"/channels/{channel['id']}/messages", {"content": "hi"}
    )
    assert status == 403 and data["code"] == 50007


# -- interaction rules ------------------------------------------------------------------------
async def test_an_interaction_can_be_answered_once(api: Api) -> None:
    record = await api.slash()
    status, data = await api.callback(record, {"type": 4, "data": {"content": "hi", "flags": 64}})
    assert status == 200
    assert data["interaction"]["response_message_ephemeral"] is True
    assert data["resource"]["message"]["content"] == "hi"
    status, data = await api.callback(record, {"type": 4, "data": {"content": "again"}})
    assert status == 400 and data["code"] == 40060


async def test_the_callback_time_is_recorded_once_accepted(api: Api) -> None:
    """``responded_at - created`` is the bot's answer time (bench/bench_interactions.py)."""
    record = await api.slash()
    assert record.responded_at is None
    api.emulator.monotonic.advance(0.25)  # type: ignore[attr-defined]
    status, _ = await api.callback(record, {"type": 99})
    assert status == 400 and record.responded_at is None  # refused: not an answer
    api.emulator.monotonic.advance(0.5)  # type: ignore[attr-defined]
    status, _ = await api.callback(record, {"type": 5})
    assert status == 200
    assert record.responded_at is not None
    assert record.responded_at - record.created == pytest.approx(0.75)


async def test_no_answer_within_three_seconds_is_an_unknown_interaction(api: Api) -> None:
    record = await api.slash()
    api.emulator.monotonic.advance(3.1)  # type: ignore[attr-defined]
    status, data = await api.callback(record, {"type": 5})
    assert status == 404 and data["code"] == 10062


async def test_followups_need_an_answer_first_and_expire_after_fifteen_minutes(api: Api) -> None:
    record = await api.slash()
    status, data = await api.webhook("POST", record, body={"content": "early"})
    assert status == 404 and data["code"] == 10015
    status, _ = await api.callback(record, {"type": 5, "data": {"flags": 64}})
    assert status == 200
    api.emulator.monotonic.advance(14 * 60)  # type: ignore[attr-defined]
    status, data = await api.webhook("POST", record, body={"content": "done"})
    assert status == 200 and data["flags"] & 64  # resolves the ephemeral "thinking" message
    api.emulator.monotonic.advance(61)  # type: ignore[attr-defined]
    status, data = await api.webhook("POST", record, body={"content": "too late"})
    assert status == 401 and data["code"] == 50027
    status, data = await api.webhook("PATCH", record, "/messages/@original", {"content": "x"})
    assert status == 401


async def test_original_response_get_edit_delete(api: Api) -> None:
    record = await api.slash()
    await api.callback(record, {"type": 4, "data": {"content": "v1"}})
    status, data = await api.webhook("PATCH", record, "/messages/@original", {"content": "v2"})
    assert status == 200 and data["content"] == "v2" and data["edited_timestamp"]
    status, data = await api.webhook("GET", record, "/messages/@original")
    assert data["content"] == "v2"
    status, data = await api.webhook(
        "PATCH", record, "/messages/@original", {"content": "x" * 2001}
    )
    assert status == 400
    status, _ = await api.webhook("DELETE", record, "/messages/@original")
    assert status == 204
    status, data = await api.webhook("GET", record, "/messages/@original")
    assert status == 404 and data["code"] == 10008


def field(custom_id: str, *, label: str = "A") -> dict[str, Any]:
    """A modal field as the docs want it: a Label holding a text input."""
    return {
        "type": 18,
        "label": label,
        "component": {"type": 4, "custom_id": custom_id, "style": 1},
    }


def modal_answer(components: list[dict[str, Any]], *, title: str = "T") -> dict[str, Any]:
    return {"type": 9, "data": {"custom_id": "m", "title": title, "components": components}}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"type": 8, "data": {"choices": []}}, "type:INTERACTION_RESPONSE_TYPE_INVALID"),
        ({"type": 7, "data": {"content": "x"}}, "type:INTERACTION_RESPONSE_TYPE_INVALID"),
        (modal_answer([field("a")], title="x" * 46), "data.title:BASE_TYPE_BAD_LENGTH"),
        (
            modal_answer([field("a", label="x" * 46)]),
            "data.components.0.label:BASE_TYPE_BAD_LENGTH",
        ),
        (
            modal_answer([field(f"a{i}") for i in range(6)]),
            "data.components:BASE_TYPE_BAD_LENGTH",
        ),
        # Current docs: text inputs go in labels; action rows of text inputs are deprecated.
        (
            modal_answer([row({"type": 4, "custom_id": "a", "label": "A", "style": 1})]),
            "data.components.0.type:MODAL_ACTION_ROW_DEPRECATED",
        ),
        (
            modal_answer(
                [
                    {
                        "type": 18,
                        "label": "A",
                        "component": {"type": 4, "custom_id": "a", "label": "A", "style": 1},
                    }
                ]
            ),
            "data.components.0.component.label:TEXT_INPUT_LABEL_NOT_ALLOWED",
        ),
        (
            modal_answer(
                [
                    {
                        "type": 18,
                        "label": "Who",
                        "component": {"type": 5, "custom_id": "who", "disabled": True},
                    }
                ]
            ),
            "data.components.0.component.disabled:COMPONENT_DISABLED_NOT_ALLOWED",
        ),
        (
            modal_answer([{**field("a"), "id": 3}, {**field("b"), "id": 3}]),
            "data.components:COMPONENT_ID_DUPLICATED",
        ),
        ({"type": 5, "data": {"flags": 4}}, "data.flags:MESSAGE_FLAGS_INVALID"),
    ],
)
async def test_invalid_slash_command_answers(api: Api, body: dict[str, Any], path: str) -> None:
    record = await api.slash()
    status, data = await api.callback(record, body)
    assert status == 400 and path in error_paths(data)
    assert not record.acknowledged  # a rejected answer does not count


async def test_autocomplete_accepts_only_choices_and_at_most_25(api: Api) -> None:
    record = await api.emulator.create_interaction(
        kind=AUTOCOMPLETE,
        user=api.office.users["bob"],
        channel=api.office.channels["general"],
        data={"id": "1", "name": "probe", "type": 1, "options": []},
    )
    choices = [{"name": f"c{i}", "value": str(i)} for i in range(26)]
    status, data = await api.callback(record, {"type": 8, "data": {"choices": choices}})
    assert status == 400 and "data.choices:BASE_TYPE_MAX_LENGTH" in error_paths(data)
    status, data = await api.callback(record, {"type": 4, "data": {"content": "no"}})
    assert status == 400
    status, data = await api.callback(record, {"type": 8, "data": {"choices": choices[:25]}})
    assert status == 200 and record.choices is not None and len(record.choices) == 25


async def test_autocomplete_values_have_the_focused_options_type(api: Api) -> None:
    record = await api.emulator.create_interaction(
        kind=AUTOCOMPLETE,
        user=api.office.users["bob"],
        channel=api.office.channels["general"],
        data={
            "id": "1",
            "name": "probe",
            "type": 1,
            "options": [
                {
                    "type": 1,
                    "name": "echo",
                    "options": [{"type": 4, "name": "count", "value": "1", "focused": True}],
                }
            ],
        },
    )
    status, data = await api.callback(
        record, {"type": 8, "data": {"choices": [{"name": "one", "value": "1"}]}}
    )
    assert status == 400 and "data.choices.0.value:BASE_TYPE_BAD_TYPE" in error_paths(data)
    status, _ = await api.callback(
        record, {"type": 8, "data": {"choices": [{"name": "one", "value": 1}]}}
    )
    assert status == 200


async def test_component_update_edits_the_message(api: Api) -> None:
    status, posted = await api.post_message({"content": "card", "components": [row(button("go"))]})
    message = api.emulator.world.messages[int(posted["id"])]
    record = await api.emulator.create_interaction(
        kind=MESSAGE_COMPONENT,
        user=api.office.users["alice"],
        channel=api.office.channels["general"],
        data={"custom_id": "go", "component_type": 2},
        message=message,
    )
    assert record.payload["message"]["id"] == posted["id"]
    status, data = await api.callback(
        record, {"type": 7, "data": {"content": "done", "components": []}}
    )
    assert status == 200 and data["resource"]["message"]["content"] == "done"
    assert message.content == "done" and message.components == [] and message.edited_timestamp


async def click_on_card(api: Api, kind: int = MESSAGE_COMPONENT) -> Any:
    """An interaction of ``kind`` from a button on a fresh card (a modal submit when 5)."""
    status, posted = await api.post_message({"content": "card", "components": [row(button("go"))]})
    assert status == 200
    message = api.emulator.world.messages[int(posted["id"])]
    data: dict[str, Any] = {"custom_id": "go", "component_type": 2}
    if kind == MODAL_SUBMIT:
        data = {"custom_id": "m", "components": [{"type": 18, "component": {"type": 4}}]}
    return await api.emulator.create_interaction(
        kind=kind,
        user=api.office.users["alice"],
        channel=api.office.channels["general"],
        data=data,
        message=message,
    )


@pytest.mark.parametrize("response_type", [6, 7, 9])
async def test_a_modal_submit_cannot_update_the_message_or_open_a_modal(
    api: Api, response_type: int
) -> None:
    # Types 6 and 7 are "only valid for component-based interactions" (Discord also takes them
    # for a modal opened from a button, undocumented); 9 is "not available for MODAL_SUBMIT".
    record = await click_on_card(api, MODAL_SUBMIT)
    body: dict[str, Any] = {"type": response_type, "data": {"content": "x"}}
    if response_type == 9:
        body = modal_answer([field("a")])
    status, data = await api.callback(record, body)
    assert status == 400 and "type:INTERACTION_RESPONSE_TYPE_INVALID" in error_paths(data)
    status, _ = await api.callback(record, {"type": 5, "data": {"flags": 64}})
    assert status == 200


async def test_a_deferral_reports_the_loading_message_without_returning_it(api: Api) -> None:
    record = await api.slash()
    status, data = await api.callback(record, {"type": 5, "data": {"flags": 64}})
    assert status == 200 and data["interaction"]["response_message_loading"] is True
    assert "message" not in data["resource"]  # only for types 4 and 7
    record = await click_on_card(api)
    status, data = await api.callback(record, {"type": 6})
    assert status == 200 and "message" not in data["resource"]


async def test_unsupported_flag_changes_on_an_edit_are_ignored(api: Api) -> None:
    status, posted = await api.post_message({"content": "hi"})
    channel_id = api.office.channels["general"].id
    path = f"/channels/{channel_id}/messages/{posted['id']}"
    status, data, _ = await api.call("PATCH", path, {"flags": 64 | 4})
    assert status == 200 and data["flags"] == 4  # suppress embeds; ephemeral cannot be set


async def test_components_are_numbered_like_discord_does(api: Api) -> None:
    status, data = await api.post_message(
        {"content": "c", "components": [row(button("a"), {**button("b"), "id": 2})]}
    )
    assert status == 200
    (stored_row,) = data["components"]
    assert stored_row["id"] == 1 and [b["id"] for b in stored_row["components"]] == [3, 2]
    status, data = await api.post_message(
        {"content": "c", "components": [row({**button("a"), "id": 7}, {**button("b"), "id": 7})]}
    )
    assert status == 400 and "components:COMPONENT_ID_DUPLICATED" in error_paths(data)


def deny(api: Api, channel: str, bits: int) -> None:
    """A channel overwrite taking ``bits`` away from the bot."""
    api.office.channels[channel].overwrites.append(
        {"id": str(api.emulator.bot_user.id), "type": 1, "allow": "0", "deny": str(bits)}
    )


async def test_mentions_follow_allowed_mentions_and_permissions(api: Api) -> None:
    bob, staff = api.office.users["bob"], api.office.roles["Staff"]
    content = f"<@{bob.id}> <@&{staff.id}> @everyone"

    async def pings(body: dict[str, Any], channel: str = "general") -> tuple[Any, ...]:
        status, data = await api.post_message({"content": content, **body}, channel)
        assert status == 200
        users = [u["id"] for u in data["mentions"]]
        return users, data["mention_roles"], data["mention_everyone"]

    # Regular messages parse everything by default; the role is not mentionable, so it takes
    # Mention Everyone, which the bot has (the README's invite).
    assert await pings({}) == ([str(bob.id)], [str(staff.id)], True)
    assert await pings({"allowed_mentions": {"parse": []}}) == ([], [], False)
    assert await pings({"allowed_mentions": {"parse": ["users"]}}) == ([str(bob.id)], [], False)
    assert await pings({"allowed_mentions": {"roles": [str(staff.id)]}}) == (
        [],
        [str(staff.id)],
        False,
    )
    deny(api, "reports", MENTION_EVERYONE)
    assert await pings({}, "reports") == ([str(bob.id)], [], False)
    staff.mentionable = True
    assert await pings({}, "reports") == ([str(bob.id)], [str(staff.id)], False)
    # Interaction responses and followups parse only users unless told otherwise.
    record = await api.slash()
    status, data = await api.callback(record, {"type": 4, "data": {"content": content}})
    assert status == 200
    message = data["resource"]["message"]
    assert (message["mention_roles"], message["mention_everyone"]) == ([], False)
    assert [u["id"] for u in message["mentions"]] == [str(bob.id)]


async def test_files_need_attach_files(api: Api) -> None:
    deny(api, "reports", ATTACH_FILES)
    channel_id = api.office.channels["reports"].id
    form = aiohttp.FormData()
    form.add_field("payload_json", '{"content": "export", "attachments": [{"id": 0}]}')
    form.add_field("files[0]", b"a,b\n", filename="x.csv", content_type="text/csv")
    async with api.session.post(
        f"{api.emulator.api_base}/channels/{channel_id}/messages",
        data=form,
        headers={"Authorization": f"Bot {api.emulator.token}"},
    ) as response:
        assert response.status == 403 and (await response.json())["code"] == 50013
    status, _ = await api.post_message({"content": "no file is fine"}, "reports")
    assert status == 200


# -- command sync -------------------------------------------------------------------------------
def command(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": "d", "type": 1, **extra}


@pytest.mark.parametrize(
    ("commands", "path"),
    [
        ([command("Upper")], "0.name:APPLICATION_COMMAND_INVALID_NAME"),
        ([command("x" * 33)], "0.name:APPLICATION_COMMAND_INVALID_NAME"),
        ([command("ok", description="x" * 101)], "0.description:BASE_TYPE_BAD_LENGTH"),
        ([command("ok", description="")], "0.description:BASE_TYPE_BAD_LENGTH"),
        ([command("a"), command("a")], "1.name:APPLICATION_COMMANDS_DUPLICATE_NAME"),
        (
            [
                command(
                    "ok",
                    options=[{"type": 3, "name": f"o{i}", "description": "d"} for i in range(26)],
                )
            ],
            "0.options:BASE_TYPE_MAX_LENGTH",
        ),
        (
            [
                command(
                    "ok",
                    options=[
                        {"type": 3, "name": "a", "description": "d"},
                        {"type": 3, "name": "b", "description": "d", "required": True},
                    ],
                )
            ],
            "0.options.1.required:APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
        ),
        (
            [{"name": "Quote", "description": "not allowed", "type": 3}],
            "0.description:APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
        ),
        (  # "a maximum of 8000 characters" for names, descriptions and values together
            [
                command(
                    "ok",
                    options=[
                        {
                            "type": 3,
                            "name": f"o{i}",
                            "description": "d" * 100,
                            "choices": [{"name": "n" * 100, "value": "v" * 100}] * 25,
                        }
                        for i in range(2)
                    ],
                )
            ],
            "0:APPLICATION_COMMAND_TOO_LARGE",
        ),
    ],
)
async def test_command_definitions_are_validated(
    api: Api, commands: list[dict[str, Any]], path: str
) -> None:
    app = api.emulator.application_id
    status, data, _ = await api.call("PUT", f"/applications/{app}/commands", commands)
    assert status == 400 and path in error_paths(data)


async def test_commands_keep_their_ids_and_change_version_when_edited(api: Api) -> None:
    app = api.emulator.application_id
    guild = api.office.guild.id
    status, first, _ = await api.call(
        "PUT", f"/applications/{app}/guilds/{guild}/commands", [command("a"), command("b")]
    )
    assert status == 200 and first[0]["guild_id"] == str(guild)
    status, second, _ = await api.call(
        "PUT",
        f"/applications/{app}/guilds/{guild}/commands",
        [command("a", description="new"), command("b")],
    )
    assert [c["id"] for c in second] == [c["id"] for c in first]
    assert (
        second[0]["version"] != first[0]["version"] and second[1]["version"] == first[1]["version"]
    )
    status, listed, _ = await api.call("GET", f"/applications/{app}/guilds/{guild}/commands")
    assert [c["description"] for c in listed] == ["new", "d"]
    status, listed, _ = await api.call("GET", f"/applications/{app}/commands")
    assert listed == []


# -- fault injection ----------------------------------------------------------------------------
async def test_injected_rate_limit_carries_discords_headers(api: Api) -> None:
    fault = api.emulator.inject_rate_limit("POST /channels/{channel_id}/messages", retry_after=0.25)
    channel_id = api.office.channels["general"].id
    status, data, response = await api.call(
        "POST", f"/channels/{channel_id}/messages", {"content": "hi"}
    )
    assert status == 429 and data["retry_after"] == 0.25 and data["global"] is False
    assert response.headers["Retry-After"] == "1"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["X-RateLimit-Scope"] == "user" and response.headers["Via"]
    assert fault.hits == 1 and api.emulator.problems() == []
    status, _ = await api.post_message({"content": "hi"})
    assert status == 200
