"""REST routes, named with discord.py's route templates (``/channels/{channel_id}/messages``).

Each handler takes a :class:`Call` and returns the JSON body (200), :data:`NO_CONTENT` (204),
or raises :class:`ApiError` with the status and code Discord would answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from concord.sandbox.emulator import interactions as ix
from concord.sandbox.emulator.errors import (
    CANNOT_EDIT_OTHERS_MESSAGE,
    INVALID_FORM_BODY,
    INVALID_WEBHOOK_TOKEN,
    MISSING_ACCESS,
    MISSING_PERMISSIONS,
    UNKNOWN_APPLICATION_COMMAND,
    UNKNOWN_CHANNEL,
    UNKNOWN_GUILD,
    UNKNOWN_MEMBER,
    UNKNOWN_MESSAGE,
    UNKNOWN_USER,
    UNKNOWN_WEBHOOK,
    ApiError,
    FormErrors,
)
from concord.sandbox.emulator.validation import (
    ANY_FLAGS,
    CREATE_FLAGS,
    EDIT_FLAGS,
    FLAG_COMPONENTS_V2,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    FLAG_SUPPRESS_EMBEDS,
    INTERACTION_FLAGS,
    check_choices,
    check_message,
    check_modal,
    check_not_empty,
    number_components,
)
from concord.sandbox.emulator.world import (
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    DM,
    GUILD_TEXT,
    MANAGE_MESSAGES,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    VIEW_CHANNEL,
    Channel,
    Guild,
    StoredMessage,
)

if TYPE_CHECKING:
    from concord.sandbox.emulator.server import Emulator, RecordedRequest, UploadedFile

NO_CONTENT: Any = object()


@dataclass(frozen=True)
class Created:
    """A handler's answer with status 201 (Discord creates some objects with it)."""

    body: Any


Handler = Callable[["Call"], Awaitable[Any]]


@dataclass
class Call:
    emulator: Emulator
    request: web.Request
    params: dict[str, str]
    body: Any
    files: list[UploadedFile]
    record: RecordedRequest

    def snowflake(self, name: str) -> int:
        value = self.params[name]
        if not value.isdigit():
            errors = FormErrors()
            errors.add([name], "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')
            errors.raise_if_any()
        return int(value)

    def obj(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise ApiError(400, INVALID_FORM_BODY, "Invalid Form Body")
        return self.body

    def query_flag(self, name: str) -> bool:
        return self.request.query.get(name, "").lower() in ("1", "true")


@dataclass
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    auth: bool


ROUTES: list[Route] = []


def route(method: str, template: str, *, auth: bool = True) -> Callable[[Handler], Handler]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, template, re.compile(pattern), handler, auth))
        return handler

    return register


def match_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for candidate in ROUTES:
        if candidate.method != method:
            continue
        found = candidate.regex.fullmatch(path)
        if found is not None:
            return candidate, found.groupdict()
    return None


# -- helpers ----------------------------------------------------------------------------------
def _channel(call: Call) -> Channel:
    channel = call.emulator.world.channel(call.snowflake("channel_id"))
    if channel is None or not _bot_can_see(call.emulator, channel):
        raise ApiError(404, UNKNOWN_CHANNEL, "Unknown Channel")
    return channel


def _bot_can_see(emulator: Emulator, channel: Channel) -> bool:
    if channel.type == DM:
        return True
    guild = emulator.world.guilds.get(channel.guild_id or 0)
    return guild is not None and emulator.bot_user.id in guild.members


def _guild(call: Call) -> Guild:
    guild = call.emulator.world.guilds.get(call.snowflake("guild_id"))
    if guild is None:
        raise ApiError(404, UNKNOWN_GUILD, "Unknown Guild")
    if call.emulator.bot_user.id not in guild.members:
        raise ApiError(403, MISSING_ACCESS, "Missing Access")
    return guild


def _message_in(call: Call, channel: Channel) -> StoredMessage:
    message = call.emulator.world.messages.get(call.snowflake("message_id"))
    if (
        message is None
        or message.deleted
        or message.channel_id != channel.id
        or message.visible_to is not None
    ):
        raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
    return message


def _check_application(call: Call) -> None:
    if call.snowflake("application_id") != call.emulator.application_id:
        raise ApiError(403, MISSING_ACCESS, "Missing Access")


def _validate(check: Callable[[FormErrors], None]) -> None:
    errors = FormErrors()
    check(errors)
    errors.raise_if_any()


# -- users, application, gateway --------------------------------------------------------------
@route("GET", "/users/@me")
async def get_me(call: Call) -> Any:
    user = call.emulator.bot_user
    return {**user.payload(), "verified": True, "mfa_enabled": False, "flags": 0, "email": None}


@route("GET", "/users/@me/guilds")
async def my_guilds(call: Call) -> Any:
    emulator = call.emulator
    return [
        {
            "id": str(g.id),
            "name": g.name,
            "icon": None,
            "banner": None,
            "owner": False,
            "permissions": str(g.base_permissions(emulator.bot_user.id)),
            "features": [],
        }
        for g in emulator.world.guilds.values()
        if emulator.bot_user.id in g.members
    ]


@route("POST", "/users/@me/channels")
async def open_dm(call: Call) -> Any:
    emulator = call.emulator
    recipient = str(call.obj().get("recipient_id"))
    user = emulator.world.users.get(int(recipient)) if recipient.isdigit() else None
    if user is None:
        raise ApiError(400, UNKNOWN_USER, "Unknown User")
    return emulator.world.dm_channel(user).payload(emulator.world.users)


@route("GET", "/users/{user_id}")
async def get_user(call: Call) -> Any:
    user = call.emulator.world.users.get(call.snowflake("user_id"))
    if user is None:
        raise ApiError(404, UNKNOWN_USER, "Unknown User")
    return user.payload()


def _application(emulator: Emulator) -> dict[str, Any]:
    bot = emulator.bot_user
    return {
        "id": str(emulator.application_id),
        "name": bot.display_name,
        "icon": None,
        "description": "Concord Desk running against the local Discord emulator",
        "summary": "",
        "type": None,
        "bot": bot.payload(),
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": emulator.application_flags,
        "owner": emulator.owner_user.payload(),
        "team": None,
        "rpc_origins": [],
        "tags": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "approximate_guild_count": len(emulator.world.guilds),
        "integration_types_config": {"0": {}},
    }


@route("GET", "/oauth2/applications/@me")
async def oauth_application(call: Call) -> Any:
    return _application(call.emulator)


@route("GET", "/applications/@me")
async def application(call: Call) -> Any:
    return _application(call.emulator)


@route("GET", "/gateway", auth=False)
async def gateway(call: Call) -> Any:
    return {"url": call.emulator.gateway_url}


# Discord recommends a shard count for about this many guilds each (topics/gateway#sharding).
GUILDS_PER_RECOMMENDED_SHARD = 1000
SESSION_STARTS_PER_DAY = 1000


@route("GET", "/gateway/bot")
async def gateway_bot(call: Call) -> Any:
    emulator = call.emulator
    guilds = len(emulator.world.guilds)
    return {
        "url": emulator.gateway_url,
        "shards": max(1, math.ceil(guilds / GUILDS_PER_RECOMMENDED_SHARD)),
        "session_start_limit": {
            "total": SESSION_STARTS_PER_DAY,
            "remaining": max(0, SESSION_STARTS_PER_DAY - emulator.gateway.identify_count),
            "reset_after": 86_400_000,
            "max_concurrency": emulator.max_concurrency,
        },
    }


# -- application commands ---------------------------------------------------------------------
def _scope(call: Call) -> int | None:
    _check_application(call)
    if "guild_id" in call.params:
        return _guild(call).id
    return None


def _command_list(call: Call) -> Any:
    scope = _scope(call)
    return [c.payload() for c in call.emulator.commands.list(scope)]


def _command_overwrite(call: Call) -> Any:
    scope = _scope(call)
    body = call.body if call.body is not None else []
    if not isinstance(body, list):
        raise ApiError(400, INVALID_FORM_BODY, "Invalid Form Body")
    return [c.payload() for c in call.emulator.commands.overwrite(scope, body)]


def _command_create(call: Call) -> Any:
    scope = _scope(call)
    command, _created = call.emulator.commands.upsert(scope, call.obj())
    return command.payload()


def _command_get(call: Call) -> Any:
    scope = _scope(call)
    command = call.emulator.commands.get(scope, call.snowflake("command_id"))
    if command is None:
        raise ApiError(404, UNKNOWN_APPLICATION_COMMAND, "Unknown application command")
    return command.payload()


def _command_edit(call: Call) -> Any:
    scope = _scope(call)
    try:
        command = call.emulator.commands.edit(scope, call.snowflake("command_id"), call.obj())
    except KeyError:
        raise ApiError(404, UNKNOWN_APPLICATION_COMMAND, "Unknown application command") from None
    return command.payload()


def _command_delete(call: Call) -> Any:
    scope = _scope(call)
    if not call.emulator.commands.delete(scope, call.snowflake("command_id")):
        raise ApiError(404, UNKNOWN_APPLICATION_COMMAND, "Unknown application command")
    return NO_CONTENT


for _prefix in (
    "/applications/{application_id}/commands",
    "/applications/{application_id}/guilds/{guild_id}/commands",
):
    for _method, _suffix, _handler in (
        ("GET", "", _command_list),
        ("PUT", "", _command_overwrite),
        ("POST", "", _command_create),
        ("GET", "/{command_id}", _command_get),
        ("PATCH", "/{command_id}", _command_edit),
        ("DELETE", "/{command_id}", _command_delete),
    ):

        async def _wrapped(call: Call, _fn: Callable[[Call], Any] = _handler) -> Any:
            return _fn(call)

        route(_method, _prefix + _suffix)(_wrapped)


@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands/permissions")
async def command_permissions(call: Call) -> Any:
    _scope(call)
    return []


# -- interactions -----------------------------------------------------------------------------
def _interaction_channel(call: Call, record: ix.InteractionRecord) -> Channel:
    channel = call.emulator.world.channel(record.channel_id)
    if channel is None:
        raise ApiError(404, UNKNOWN_CHANNEL, "Unknown Channel")
    return channel


def _response_extra(emulator: Emulator, record: ix.InteractionRecord) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "webhook_id": emulator.application_id,
        "application_id": emulator.application_id,
        "type": emulator.message_type_for(record),
        "interaction_metadata": emulator.interaction_metadata(record),
    }
    if record.type == ix.APPLICATION_COMMAND:
        extra["interaction"] = {
            "id": str(record.id),
            "type": record.type,
            "name": (record.payload.get("data") or {}).get("name"),
            "user": emulator.world.users[record.user_id].payload(),
        }
    return extra


@route("POST", "/interactions/{webhook_id}/{webhook_token}/callback", auth=False)
async def interaction_callback(call: Call) -> Any:
    emulator = call.emulator
    arrived = emulator.monotonic()
    record = emulator.interactions.get(call.snowflake("webhook_id"))
    if record is not None and record.token != call.params["webhook_token"]:
        record = None
    try:
        return await _respond(call, ix.check_can_respond(record, arrived), arrived)
    except ApiError as error:
        if record is not None:
            record.rejected.append(error)
        raise


async def _respond(call: Call, record: ix.InteractionRecord, arrived: float) -> Any:
    emulator = call.emulator
    body = call.obj()
    response_type = body.get("type")
    ix.check_response_type(record, response_type)
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise ApiError(400, INVALID_FORM_BODY, "Invalid Form Body")
    data = data or {}
    channel = _interaction_channel(call, record)
    message: StoredMessage | None = None
    ephemeral = False
    if response_type == ix.CHANNEL_MESSAGE:
        _validate(lambda e: check_message(e, ["data"], data, allowed_flags=INTERACTION_FLAGS))
        check_not_empty(data, len(call.files))
        ephemeral = bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL)
        message = emulator.store_message(
            channel,
            emulator.bot_user,
            data,
            call.files,
            visible_to=record.user_id if ephemeral else None,
            **_response_extra(emulator, record),
        )
        record.original_message_id = message.id
    elif response_type == ix.DEFERRED_CHANNEL_MESSAGE:
        flags = data.get("flags") or 0
        if not isinstance(flags, int) or flags & ~FLAG_EPHEMERAL:
            _validate(
                lambda e: e.add(
                    ["data", "flags"],
                    "MESSAGE_FLAGS_INVALID",
                    "Only the ephemeral flag can be set on a deferred response",
                )
            )
        ephemeral = bool(flags & FLAG_EPHEMERAL)
        message = emulator.store_message(
            channel,
            emulator.bot_user,
            {"flags": FLAG_LOADING | (flags & FLAG_EPHEMERAL)},
            [],
            visible_to=record.user_id if ephemeral else None,
            **_response_extra(emulator, record),
        )
        record.original_message_id = message.id
        record.loading = True
        record.deferred_ephemeral = ephemeral
    elif response_type == ix.UPDATE_MESSAGE:
        message = emulator.world.messages.get(record.source_message_id or 0)
        if message is None or message.deleted:
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        source = message
        _validate(
            lambda e: check_message(
                e,
                ["data"],
                data,
                allowed_flags=EDIT_FLAGS,
                existing_flags=source.flags,
            )
        )
        emulator.apply_edit(message, data, call.files)
        ephemeral = message.ephemeral
    elif response_type == ix.AUTOCOMPLETE_RESULT:
        focused = ix.focused_option_type(record)
        _validate(lambda e: check_choices(e, ["data"], data, focused))
        record.choices = list(data.get("choices") or [])
    elif response_type == ix.MODAL:
        _validate(lambda e: check_modal(e, ["data"], data))
        # Discord numbers the modal's components; the submission reports those ids.
        data = {**data, "components": number_components(list(data.get("components") or []))}
        record.modal = data
    record.response_type = int(str(response_type))
    record.response_data = data
    record.responded_at = arrived
    record.responded.set()
    if message is not None:
        kind = "MESSAGE_UPDATE" if response_type == ix.UPDATE_MESSAGE else "MESSAGE_CREATE"
        if response_type == ix.UPDATE_MESSAGE:
            record.edited_ids.append(message.id)
        await emulator.announce(kind, message)
    if not call.query_flag("with_response"):
        return NO_CONTENT
    rendered = emulator.message_payload(message) if message is not None else None
    return ix.callback_body(record, rendered, ephemeral)


def _webhook_record(call: Call) -> ix.InteractionRecord:
    emulator = call.emulator
    if call.snowflake("webhook_id") != emulator.application_id:
        raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
    record = emulator.interactions_by_token.get(call.params["webhook_token"])
    return ix.check_token_usable(record, emulator.monotonic())


def _webhook_message(call: Call, record: ix.InteractionRecord) -> StoredMessage:
    raw = call.params["message_id"]
    message_id = (
        ix.original_message_id(record) if raw == "@original" else call.snowflake("message_id")
    )
    allowed = set(record.message_ids())
    if record.source_message_id is not None and record.response_type in (
        ix.DEFERRED_UPDATE_MESSAGE,
        ix.UPDATE_MESSAGE,
    ):
        allowed.add(record.source_message_id)
    message = call.emulator.world.messages.get(message_id)
    if message is None or message.deleted or message_id not in allowed:
        raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
    return message


def _tracking(call: Call, record: ix.InteractionRecord, error: ApiError) -> ApiError:
    record.rejected.append(error)
    return error


@route("POST", "/webhooks/{webhook_id}/{webhook_token}", auth=False)
async def followup(call: Call) -> Any:
    emulator = call.emulator
    if call.snowflake("webhook_id") in emulator.incoming_webhooks:
        return await execute_webhook(call)
    record = _webhook_record(call)
    body = call.obj()
    try:
        _validate(lambda e: check_message(e, [], body, allowed_flags=INTERACTION_FLAGS))
        check_not_empty(body, len(call.files))
    except ApiError as error:
        raise _tracking(call, record, error) from None
    channel = _interaction_channel(call, record)
    if record.loading and record.original_message_id is not None:
        # The first followup after "thinking…" resolves the loading message, keeping the
        # ephemerality chosen when deferring: documented "for backwards compatibility" and
        # deprecated ("use the Edit Original Interaction Response endpoint in this case").
        call.record.deprecated = (
            "a followup resolved the deferred loading message; edit @original instead"
        )
        message = emulator.world.messages[record.original_message_id]
        message.content = str(body.get("content") or "")
        message.embeds = list(body.get("embeds") or [])
        message.components = number_components(list(body.get("components") or []))
        emulator.set_pings(message, body.get("allowed_mentions"))
        message.attachments = emulator.attachments_for(body, call.files, [])
        wanted = int(body.get("flags") or 0)
        message.flags = (message.flags & FLAG_EPHEMERAL) | (
            wanted & (FLAG_SUPPRESS_EMBEDS | FLAG_COMPONENTS_V2)
        )
        record.loading = False
        kind = "MESSAGE_UPDATE"
    else:
        ephemeral = bool(int(body.get("flags") or 0) & FLAG_EPHEMERAL)
        message = emulator.store_message(
            channel,
            emulator.bot_user,
            body,
            call.files,
            visible_to=record.user_id if ephemeral else None,
            **_response_extra(emulator, record),
        )
        kind = "MESSAGE_CREATE"
    record.followup_ids.append(message.id)
    await emulator.announce(kind, message)
    # "Create Followup Message" works like Execute Webhook with wait always true.
    return emulator.message_payload(message)


async def execute_webhook(call: Call) -> Any:
    """Execute Webhook on an incoming webhook (deploy notifications, alerts): the message is
    posted as the webhook; 204 unless ``wait=true`` asks for the message."""
    emulator = call.emulator
    hook = emulator.incoming_webhooks[call.snowflake("webhook_id")]
    if call.params["webhook_token"] != hook.token:
        raise ApiError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
    body = call.obj()
    _validate(lambda e: check_message(e, [], body, allowed_flags=FLAG_SUPPRESS_EMBEDS))
    check_not_empty(body, len(call.files))
    channel = emulator.world.channel(hook.channel_id)
    if channel is None:  # the channel was deleted with its webhook
        raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
    message = emulator.store_message(channel, hook.user, body, call.files)
    await emulator.announce("MESSAGE_CREATE", message)
    if call.query_flag("wait"):
        return emulator.message_payload(message)
    return NO_CONTENT


@route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth=False)
async def webhook_message_get(call: Call) -> Any:
    record = _webhook_record(call)
    return call.emulator.message_payload(_webhook_message(call, record))


@route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth=False)
async def webhook_message_edit(call: Call) -> Any:
    emulator = call.emulator
    record = _webhook_record(call)
    try:
        message = _webhook_message(call, record)
        body = call.obj()
        _validate(
            lambda e: check_message(
                e,
                [],
                body,
                allowed_flags=EDIT_FLAGS,
                existing_flags=message.flags,
            )
        )
        emulator.apply_edit(message, body, call.files)
    except ApiError as error:
        raise _tracking(call, record, error) from None
    if message.id == record.original_message_id:
        record.loading = False
    record.edited_ids.append(message.id)
    await emulator.announce("MESSAGE_UPDATE", message)
    return emulator.message_payload(message)


@route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth=False)
async def webhook_message_delete(call: Call) -> Any:
    record = _webhook_record(call)
    message = _webhook_message(call, record)
    message.deleted = True
    record.deleted_ids.append(message.id)
    await call.emulator.announce("MESSAGE_DELETE", message)
    return NO_CONTENT


# -- channels and messages --------------------------------------------------------------------
@route("GET", "/channels/{channel_id}")
async def get_channel(call: Call) -> Any:
    channel = _channel(call)
    return channel.payload(call.emulator.world.users)


@route("POST", "/channels/{channel_id}/typing")
async def typing(call: Call) -> Any:
    _channel(call)
    return NO_CONTENT


@route("GET", "/channels/{channel_id}/messages/pins")
async def pins(call: Call) -> Any:
    channel = _channel(call)
    emulator = call.emulator
    pinned = [m for m in emulator.world.channel_messages(channel.id) if m.pinned]
    return {
        "items": [
            {
                "pinned_at": emulator.message_payload(m)["timestamp"],
                "message": emulator.message_payload(m),
            }
            for m in reversed(pinned)
        ],
        "has_more": False,
    }


@route("GET", "/channels/{channel_id}/pins")
async def pins_legacy(call: Call) -> Any:
    channel = _channel(call)
    emulator = call.emulator
    return [
        emulator.message_payload(m)
        for m in reversed(emulator.world.channel_messages(channel.id))
        if m.pinned
    ]


async def _set_pin(call: Call, pinned: bool) -> Any:
    channel = _channel(call)
    message = _message_in(call, channel)
    message.pinned = pinned
    await call.emulator.announce("MESSAGE_UPDATE", message)
    return NO_CONTENT


for _template in (
    "/channels/{channel_id}/pins/{message_id}",
    "/channels/{channel_id}/messages/pins/{message_id}",
):

    async def _pin(call: Call) -> Any:
        return await _set_pin(call, True)

    async def _unpin(call: Call) -> Any:
        return await _set_pin(call, False)

    route("PUT", _template)(_pin)
    route("DELETE", _template)(_unpin)


@route("GET", "/channels/{channel_id}/messages")
async def history(call: Call) -> Any:
    channel = _channel(call)
    query = call.request.query
    try:
        limit = int(query.get("limit", "50"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        _validate(lambda e: e.add(["limit"], "NUMBER_TYPE_MAX", "Must be between 1 and 100."))
    messages = call.emulator.world.channel_messages(channel.id)
    if "around" in query:
        pivot = int(query["around"])
        older = [m for m in messages if m.id <= pivot][-(limit - limit // 2) :]
        newer = [m for m in messages if m.id > pivot][: limit // 2]
        chosen = older + newer
    elif "after" in query:
        chosen = [m for m in messages if m.id > int(query["after"])][:limit]
    else:
        before = int(query["before"]) if "before" in query else None
        candidates = [m for m in messages if before is None or m.id < before]
        chosen = candidates[-limit:]
    return [call.emulator.message_payload(m) for m in sorted(chosen, key=lambda m: -m.id)]


@route("POST", "/channels/{channel_id}/messages")
async def create_message(call: Call) -> Any:
    emulator = call.emulator
    channel = _channel(call)
    body = call.obj()
    for gate in list(emulator.world.before_message_create):
        if not await gate(channel.id, body):
            raise ApiError(503, 0, "Service Unavailable")  # the request never got through
    emulator.check_can_post(channel, files=len(call.files))
    reference = body.get("message_reference")
    nonce = body.get("nonce")

    def check(errors: FormErrors) -> None:
        check_message(errors, [], body, allowed_flags=CREATE_FLAGS)
        check_nonce(errors, body)
        if reference is not None:
            referenced = emulator.world.messages.get(int(reference.get("message_id") or 0))
            if referenced is None or referenced.deleted:
                errors.add(
                    ["message_reference"],
                    "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                    "Unknown message",
                )

    _validate(check)
    check_not_empty(body, len(call.files))
    if nonce is not None and body.get("enforce_nonce") is True:
        existing = emulator.world.message_by_nonce(emulator.bot_user.id, nonce)
        if existing is not None:  # no new message, no MESSAGE_CREATE
            emulator.world.nonce_hits += 1
            return emulator.message_payload(existing)
    extra: dict[str, Any] = {}
    if nonce is not None:
        extra["nonce"] = nonce
    if reference is not None:
        extra.update(
            type=19,
            message_reference={
                "type": 0,
                "message_id": str(reference["message_id"]),
                "channel_id": str(reference.get("channel_id") or channel.id),
                **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
            },
        )
    message = emulator.store_message(channel, emulator.bot_user, body, call.files, **extra)
    emulator.world.remember_nonce(message)
    await emulator.announce("MESSAGE_CREATE", message)
    return emulator.message_payload(message)


NONCE_MAX = 25  # Create Message: nonce "integer or string", a string up to 25 characters


def check_nonce(errors: FormErrors, body: dict[str, Any]) -> None:
    """Create Message's ``nonce`` (integer, or string of up to 25 characters) and
    ``enforce_nonce`` (boolean)."""
    nonce = body.get("nonce")
    if nonce is not None:
        if isinstance(nonce, bool) or not isinstance(nonce, str | int):
            errors.bad_type(["nonce"], "string or integer")
        elif isinstance(nonce, str) and len(nonce) > NONCE_MAX:
            errors.max_length(["nonce"], NONCE_MAX)
    enforce = body.get("enforce_nonce")
    if enforce is not None and not isinstance(enforce, bool):
        errors.bad_type(["enforce_nonce"], "boolean")


# Start Thread without Message (resources/channel#start-thread-without-message): in a text
# channel, ``name`` 1-100 characters, ``auto_archive_duration`` one of 60, 1440, 4320, 10080,
# ``type`` 11 (public) or 12 (private; the default in v9/v10 when omitted). Answers 201 with the
# thread's channel object and dispatches THREAD_CREATE (``newly_created``).
THREAD_ARCHIVE_MINUTES = (60, 1440, 4320, 10080)
CANNOT_EXECUTE_ON_CHANNEL_TYPE = 50024


@route("POST", "/channels/{channel_id}/threads")
async def start_thread(call: Call) -> Any:
    emulator = call.emulator
    parent = _channel(call)
    body = call.obj()
    if parent.type != GUILD_TEXT:
        raise ApiError(
            400, CANNOT_EXECUTE_ON_CHANNEL_TYPE, "Cannot execute action on this channel type"
        )
    kind = body.get("type", PRIVATE_THREAD)
    name = body.get("name")

    def check(errors: FormErrors) -> None:
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            errors.add(["name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if kind not in (PUBLIC_THREAD, PRIVATE_THREAD):
            errors.add(["type"], "BASE_TYPE_CHOICES", "Value must be one of {11, 12}.")
        archive = body.get("auto_archive_duration")
        if archive is not None and archive not in THREAD_ARCHIVE_MINUTES:
            errors.add(
                ["auto_archive_duration"],
                "BASE_TYPE_CHOICES",
                "Value must be one of {60, 1440, 4320, 10080}.",
            )

    _validate(check)
    guild = emulator.world.guilds[parent.guild_id or 0]
    permissions = guild.channel_permissions(emulator.bot_user.id, parent.id)
    needed = CREATE_PUBLIC_THREADS if kind == PUBLIC_THREAD else CREATE_PRIVATE_THREADS
    if not permissions & VIEW_CHANNEL:
        raise ApiError(403, MISSING_ACCESS, "Missing Access")
    if not permissions & needed:
        raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
    thread = Channel(
        emulator.world.new_id(),
        kind,
        name,
        guild.id,
        parent_id=parent.id,
        owner_id=emulator.bot_user.id,
        created_at=emulator.world.clock(),
        auto_archive_duration=body.get("auto_archive_duration") or 4320,
    )
    guild.channels[thread.id] = thread
    await emulator.gateway.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True})
    return Created(thread.payload())


@route("GET", "/channels/{channel_id}/messages/{message_id}")
async def get_message(call: Call) -> Any:
    channel = _channel(call)
    return call.emulator.message_payload(_message_in(call, channel))


@route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def edit_message(call: Call) -> Any:
    emulator = call.emulator
    channel = _channel(call)
    message = _message_in(call, channel)
    if message.author_id != emulator.bot_user.id:
        raise ApiError(
            403, CANNOT_EDIT_OTHERS_MESSAGE, "Cannot edit a message authored by another user"
        )
    body = call.obj()
    if call.files:
        emulator.check_can_post(channel, files=len(call.files))
    _validate(
        lambda e: check_message(
            e,
            [],
            body,
            # "unsupported flag changes are currently ignored without error" (Edit Message);
            # apply_edit keeps only the editable ones.
            allowed_flags=ANY_FLAGS,
            existing_flags=message.flags,
        )
    )
    emulator.apply_edit(message, body, call.files)
    await emulator.announce("MESSAGE_UPDATE", message)
    return emulator.message_payload(message)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(call: Call) -> Any:
    emulator = call.emulator
    channel = _channel(call)
    message = _message_in(call, channel)
    if message.author_id != emulator.bot_user.id:
        guild = emulator.world.guilds.get(channel.guild_id or 0)
        if guild is None:
            raise ApiError(403, 50003, "Cannot execute action on a DM channel")
        if not guild.channel_permissions(emulator.bot_user.id, channel.id) & MANAGE_MESSAGES:
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
    message.deleted = True
    await emulator.announce("MESSAGE_DELETE", message)
    return NO_CONTENT


async def _react(call: Call, add: bool) -> Any:
    channel = _channel(call)
    message = _message_in(call, channel)
    users = message.reactions.setdefault(call.params["emoji"], set())
    if add:
        users.add(call.emulator.bot_user.id)
    else:
        users.discard(call.emulator.bot_user.id)
    return NO_CONTENT


@route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
async def add_reaction(call: Call) -> Any:
    return await _react(call, True)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
async def remove_reaction(call: Call) -> Any:
    return await _react(call, False)


# -- guilds -----------------------------------------------------------------------------------
@route("GET", "/guilds/{guild_id}")
async def get_guild(call: Call) -> Any:
    guild = _guild(call)
    data = guild.payload(call.emulator.world.users)
    if call.query_flag("with_counts"):
        data["approximate_member_count"] = len(guild.members)
        data["approximate_presence_count"] = 0
    return data


@route("GET", "/guilds/{guild_id}/channels")
async def guild_channels(call: Call) -> Any:
    return [c.payload() for c in _guild(call).channels.values()]


@route("GET", "/guilds/{guild_id}/roles")
async def guild_roles(call: Call) -> Any:
    return [r.payload() for r in sorted(_guild(call).roles.values(), key=lambda r: r.position)]


@route("GET", "/guilds/{guild_id}/members/search")
async def search_members(call: Call) -> Any:
    guild = _guild(call)
    users = call.emulator.world.users
    query = call.request.query.get("query", "").lower()
    limit = int(call.request.query.get("limit", "1"))
    found = [
        m
        for m in guild.members.values()
        if users[m.user_id].username.lower().startswith(query)
        or (m.nick or "").lower().startswith(query)
    ]
    return [m.payload(users[m.user_id]) for m in found[:limit]]


@route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(call: Call) -> Any:
    guild = _guild(call)
    member = guild.members.get(call.snowflake("user_id"))
    if member is None:
        raise ApiError(404, UNKNOWN_MEMBER, "Unknown Member")
    return member.payload(call.emulator.world.users[member.user_id])


@route("GET", "/guilds/{guild_id}/members")
async def list_members(call: Call) -> Any:
    guild = _guild(call)
    users = call.emulator.world.users
    limit = int(call.request.query.get("limit", "1"))
    after = int(call.request.query.get("after", "0"))
    members = sorted(
        (m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id
    )
    return [m.payload(users[m.user_id]) for m in members[:limit]]
