"""The emulator: an aiohttp server on loopback speaking Discord's REST API and gateway.

    emulator = Emulator()
    await emulator.start()            # then point discord.py at emulator.api_base / gateway_url
    ...
    await emulator.stop()

Every request is recorded (:attr:`Emulator.requests`); an unknown route answers 404 and is
recorded like any other rejection, so a test harness can fail the test that caused it.
Faults can be injected per route (429 with Discord's rate-limit headers, 5xx) and on the
gateway (dropped connection, op 7, op 9).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from concord.sandbox.emulator import rest
from concord.sandbox.emulator.commands import CommandRegistry
from concord.sandbox.emulator.errors import (
    CANNOT_DM_USER,
    EMPTY_MESSAGE,
    MISSING_ACCESS,
    MISSING_PERMISSIONS,
    UNKNOWN_CHANNEL,
    ApiError,
)
from concord.sandbox.emulator.gateway import (
    APP_FLAG_FOR_INTENT,
    DIRECT_MESSAGES,
    GUILD_MEMBERS,
    GUILD_MESSAGES,
    MESSAGE_CONTENT,
    Gateway,
)
from concord.sandbox.emulator.interactions import (
    APPLICATION_COMMAND,
    ATTACHMENT_SIZE_LIMIT,
    InteractionRecord,
    new_token,
)
from concord.sandbox.emulator.ratelimit import RateLimits
from concord.sandbox.emulator.validation import (
    FLAG_COMPONENTS_V2,
    FLAG_LOADING,
    FLAG_SUPPRESS_EMBEDS,
    number_components,
)
from concord.sandbox.emulator.world import (
    ATTACH_FILES,
    DM,
    EMBED_LINKS,
    MENTION_EVERYONE,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    USE_EXTERNAL_EMOJIS,
    VIEW_CHANNEL,
    Attachment,
    Channel,
    Guild,
    Member,
    Role,
    StoredMessage,
    User,
    World,
)

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAw.sandbox.emulator-token-not-a-secret"
API_PREFIX = "/api/v10"
# What is pinged when a body has no allowed_mentions (resources/message, "Default Settings for
# Allowed Mentions"): everything in regular messages, only users in interactions and webhooks.
REGULAR_MENTIONS = ("users", "roles", "everyone")
WEBHOOK_MENTIONS = ("users",)


@dataclass
class RecordedRequest:
    method: str
    path: str
    route: str  # e.g. "POST /channels/{channel_id}/messages"; "?" for an unknown route
    status: int
    query: dict[str, str]
    body: Any = None
    files: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    injected: bool = False  # a fault the test asked for, not a problem of the bot
    # The X-RateLimit-* headers of the answer (rate_limits), whatever its status.
    rate_headers: dict[str, str] | None = None
    # Accepted, as Discord still does, but the docs deprecate it: a bot must not rely on it.
    deprecated: str | None = None

    @property
    def problem(self) -> bool:
        return (self.status >= 400 or self.deprecated is not None) and not self.injected

    def describe(self) -> str:
        text = f"{self.method} {self.path} -> {self.status}"
        if self.deprecated is not None:
            text += f" (deprecated: {self.deprecated})"
        if self.error:
            text += f" {self.error.get('code')} {self.error.get('message')}"
            if self.error.get("errors"):
                lines = _flatten(self.error["errors"])
                text += "\n    " + "\n    ".join(lines)
        return text


def _flatten(tree: dict[str, Any], prefix: str = "") -> list[str]:
    lines: list[str] = []
    for key, value in tree.items():
        if key == "_errors":
            lines.extend(f"{prefix or '(body)'}: {e.get('message')}" for e in value)
        elif isinstance(value, dict):
            lines.extend(_flatten(value, f"{prefix}.{key}" if prefix else key))
    return lines


@dataclass
class Fault:
    """An injected failure for requests matching ``route`` ("METHOD /template", or a path regex)."""

    route: str
    status: int
    times: int
    retry_after: float = 0.0
    is_global: bool = False
    scope: str = "user"
    code: int = 0
    message: str = ""
    hits: int = 0

    def matches(self, route: str, method: str, path: str) -> bool:
        if self.times <= 0:
            return False
        if self.route == route:
            return True
        verb, _, pattern = self.route.partition(" ")
        return verb == method and "{" not in pattern and re.fullmatch(pattern, path) is not None


@dataclass
class IncomingWebhook:
    """A channel's incoming webhook: Execute Webhook posts as ``user`` into ``channel_id``."""

    id: int
    token: str
    channel_id: int
    user: User


@dataclass
class UploadedFile:
    index: int
    filename: str
    data: bytes
    content_type: str | None


class ManualMonotonic:
    """An injectable monotonic clock for the 3-second and 15-minute interaction rules."""

    def __init__(self, start: float = 1000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


class Emulator:
    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        bot_name: str = "Concord Desk",
        privileged_intents: int = GUILD_MEMBERS,
        max_guilds_per_shard: int = 2500,
        max_concurrency: int = 1,
        rate_limits: RateLimits | None = None,
    ) -> None:
        self.token = token
        # Discord's documented rate limits (headers on every answer, 429 past a limit); the
        # numbers are configuration, realistic unless the caller chooses (see ratelimit.py).
        self.rate_limits: RateLimits = rate_limits or RateLimits.discord()
        # Sharding (topics/gateway#sharding): a session may hold at most this many guilds, or
        # its IDENTIFY is closed with 4011; GET /gateway/bot recommends one shard per
        # GUILDS_PER_RECOMMENDED_SHARD guilds and says how many shards may IDENTIFY at once.
        self.max_guilds_per_shard = max_guilds_per_shard
        self.max_concurrency = max_concurrency
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.monotonic = monotonic
        self.privileged_intents = privileged_intents
        self.world = World.create(lambda: self.clock())
        self.bot_user: User = self.world.add_user(
            bot_name.lower().replace(" ", ""), bot_name, bot=True
        )
        self.application_id = self.bot_user.id
        self.application_flags = sum(
            flag for intent, flag in APP_FLAG_FOR_INTENT.items() if intent & privileged_intents
        )
        self.owner_user: User = self.world.add_user("developer", "App Developer")
        self.commands = CommandRegistry(self.application_id, self.world.new_id)
        self.gateway = Gateway(self)
        self.interactions: dict[int, InteractionRecord] = {}
        self.interactions_by_token: dict[str, InteractionRecord] = {}
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.bot_joined: dict[int, datetime] = {}
        self.uploads: dict[int, Attachment] = {}
        self.listeners: list[Callable[[str, StoredMessage], None]] = []
        self.incoming_webhooks: dict[int, IncomingWebhook] = {}
        # Seconds each answer of a route waits after the request was carried out (latency):
        # "METHOD /template" -> seconds (see :meth:`slow_down`).
        self.latency: dict[str, float] = {}
        self.host = "127.0.0.1"
        self.port = 0
        self._runner: web.AppRunner | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self.gateway.handle)
        app.router.add_route("GET", "/gateway/resume", self.gateway.handle)
        app.router.add_route(
            "GET", "/attachments/{channel_id}/{attachment_id}/{filename}", self._cdn
        )
        app.router.add_route("*", "/{tail:.*}", self._dispatch_rest)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self.host = host
        self.port = int(runner.addresses[0][1])  # the bound port when 0 was asked for
        self._runner = runner

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway/resume"

    def create_incoming_webhook(self, channel: Channel, name: str = "Alerts") -> str:
        """An incoming webhook posting into ``channel`` (Create Webhook in the channel's
        Integrations); returns its URL, which carries the token like Discord's."""
        user = self.world.add_user(name.lower(), name, bot=True)
        hook = IncomingWebhook(user.id, secrets.token_urlsafe(48), channel.id, user)
        self.incoming_webhooks[hook.id] = hook
        return f"{self.api_base}/webhooks/{hook.id}/{hook.token}"

    # -- recording ---------------------------------------------------------------------------
    def problems(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.problem]

    def requests_to(self, route: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == route]

    # -- faults ------------------------------------------------------------------------------
    def inject_rate_limit(
        self,
        route: str,
        *,
        retry_after: float = 0.05,
        times: int = 1,
        is_global: bool = False,
        scope: str = "user",
    ) -> Fault:
        """Answer the next ``times`` matching requests with 429 and Discord's headers."""
        fault = Fault(route, 429, times, retry_after, is_global, scope)
        self.faults.append(fault)
        return fault

    def inject_error(
        self,
        route: str,
        status: int = 500,
        *,
        times: int = 1,
        code: int = 0,
        message: str = "Internal Server Error",
    ) -> Fault:
        """Answer the next ``times`` matching requests with ``status`` (5xx, or any error)."""
        fault = Fault(route, status, times, code=code, message=message)
        self.faults.append(fault)
        return fault

    def slow_down(self, route: str, seconds: float) -> None:
        """Answer requests of ``route`` ("METHOD /template") ``seconds`` after carrying them out,
        as a slow network would (0: at once again)."""
        if seconds > 0:
            self.latency[route] = seconds
        else:
            self.latency.pop(route, None)

    def _fault_response(self, fault: Fault) -> web.Response:
        fault.times -= 1
        fault.hits += 1
        if fault.status != 429:
            body = {"message": fault.message or "Internal Server Error", "code": fault.code}
            return _json_response(body, fault.status)
        reset_at = time.time() + fault.retry_after
        headers = {
            "Retry-After": str(max(1, math.ceil(fault.retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
            "X-RateLimit-Bucket": "emulator-" + re.sub(r"\W+", "-", fault.route).strip("-"),
            "X-RateLimit-Scope": "global" if fault.is_global else fault.scope,
            "Via": "1.1 google",
        }
        if fault.is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": fault.retry_after,
            "global": fault.is_global,
            "code": 0,
        }
        return _json_response(body, 429, headers)

    def is_interaction_endpoint(self, template: str, params: dict[str, str]) -> bool:
        """The interaction callback, original response and followups (an interaction's
        webhook is the application's id with the interaction token)."""
        if template.startswith("/interactions/"):
            return True
        return template.startswith("/webhooks/") and params.get("webhook_id") == str(
            self.application_id
        )

    def _rate_limit(
        self, record: RecordedRequest, template: str, params: dict[str, str], authenticated: bool
    ) -> dict[str, Any] | None:
        """Count the request against Discord's rate limits; the 429 body when over one."""
        verdict = self.rate_limits.check(
            record.route,
            params,
            interaction=self.is_interaction_endpoint(template, params),
            authenticated=authenticated,
        )
        record.rate_headers = verdict.headers
        return verdict.refused

    # -- REST dispatch -----------------------------------------------------------------------
    async def _dispatch_rest(self, request: web.Request) -> web.StreamResponse:
        method = request.method
        path = request.path
        query = {k: v for k, v in request.query.items()}
        record = RecordedRequest(method, path, "?", 404, query)
        self.requests.append(record)
        try:
            response = await self._handle(request, record)
        except ApiError as error:
            response = _json_response(error.body(), error.status)
            record.error = error.body()
        if record.rate_headers:
            response.headers.update(record.rate_headers)
        record.status = response.status
        if record.problem:
            verb = "rejected" if record.status >= 400 else "flagged"
            log.warning("emulator %s %s", verb, record.describe())
        return response

    async def _handle(self, request: web.Request, record: RecordedRequest) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            raise ApiError(404, 0, "404: Not Found")
        subpath = request.path[len(API_PREFIX) :]
        match = rest.match_route(request.method, subpath)
        if match is None:
            record.route = "?"
            raise ApiError(404, 0, "404: Not Found")
        route, params = match
        record.route = f"{request.method} {route.template}"
        for fault in self.faults:
            if fault.matches(record.route, request.method, subpath):
                record.injected = True
                return self._fault_response(fault)
        authorization = request.headers.get("Authorization")
        refused = self._rate_limit(record, route.template, params, authorization is not None)
        if refused is not None:
            return _json_response(refused, 429)
        if route.auth and authorization != f"Bot {self.token}":
            raise ApiError(401, 0, "401: Unauthorized")
        body, files = await _read_body(request)
        record.body = body
        record.files = [f.filename for f in files]
        call = rest.Call(self, request, params, body, files, record)
        result = await route.handler(call)
        delay = self.latency.get(record.route)
        if delay:
            await asyncio.sleep(delay)
        if result is rest.NO_CONTENT:
            return web.Response(status=204)
        if isinstance(result, rest.Created):
            return _json_response(result.body, 201)
        return _json_response(result, 200)

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        attachment_id = int(request.match_info["attachment_id"])
        upload = self.uploads.get(attachment_id)
        if upload is not None:
            return web.Response(
                body=upload.data,
                headers={"Content-Type": upload.content_type or "application/octet-stream"},
            )
        for message in self.world.messages.values():
            for attachment in message.attachments:
                if attachment.id == attachment_id:
                    return web.Response(
                        body=attachment.data,
                        headers={
                            "Content-Type": attachment.content_type or "application/octet-stream"
                        },
                    )
        return web.Response(status=404, text="Not Found")

    # -- world changes that Discord would announce over the gateway ---------------------------
    def guild_create_payload(self, guild: Guild, large_threshold: int = 250) -> dict[str, Any]:
        joined = self.bot_joined.setdefault(guild.id, self.clock())
        return guild.gateway_payload(
            self.world.users,
            joined,
            own_id=self.bot_user.id,
            large_threshold=large_threshold,
        )

    async def add_member(self, guild: Guild, user: User, roles: list[Role] | None = None) -> Member:
        member = self.world.add_member(guild, user, roles)
        await self.gateway.dispatch(
            "GUILD_MEMBER_ADD", {**member.payload(user), "guild_id": str(guild.id)}
        )
        return member

    async def remove_member(self, guild: Guild, user: User) -> None:
        guild.members.pop(user.id, None)
        await self.gateway.dispatch(
            "GUILD_MEMBER_REMOVE", {"guild_id": str(guild.id), "user": user.payload()}
        )

    async def set_member_roles(self, guild: Guild, user: User, roles: list[Role]) -> None:
        member = guild.members[user.id]
        member.roles = [r.id for r in roles]
        await self.gateway.dispatch(
            "GUILD_MEMBER_UPDATE", {**member.payload(user), "guild_id": str(guild.id)}
        )

    async def add_channel(self, guild: Guild, name: str) -> Channel:
        channel = self.world.add_channel(guild, name)
        await self.gateway.dispatch("CHANNEL_CREATE", channel.payload())
        return channel

    async def delete_channel(self, guild: Guild, channel: Channel) -> None:
        guild.channels.pop(channel.id, None)
        await self.gateway.dispatch("CHANNEL_DELETE", channel.payload())

    async def add_role(self, guild: Guild, name: str, permissions: int = 0) -> Role:
        role = self.world.add_role(guild, name, permissions)
        await self.gateway.dispatch(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.payload()}
        )
        return role

    # -- messages ----------------------------------------------------------------------------
    def message_payload(self, message: StoredMessage, *, gateway: bool = False) -> dict[str, Any]:
        return self.world.message_payload(message, self.base_url, gateway=gateway)

    def check_can_post(self, channel: Channel, *, files: int = 0) -> None:
        """Raise what Discord answers when the bot may not post in ``channel`` (with files:
        Attach Files too)."""
        if channel.type == DM:
            recipient = self.world.users.get(channel.recipient_id or 0)
            if recipient is None or not recipient.accepts_dms or recipient.bot:
                raise ApiError(403, CANNOT_DM_USER, "Cannot send messages to this user")
            return
        guild = self.world.guilds.get(channel.guild_id or 0)
        if guild is None or self.bot_user.id not in guild.members:
            raise ApiError(404, UNKNOWN_CHANNEL, "Unknown Channel")
        permissions = guild.channel_permissions(self.bot_user.id, channel.id)
        if not permissions & VIEW_CHANNEL:
            raise ApiError(403, MISSING_ACCESS, "Missing Access")
        # In a thread, Send Messages in Threads stands for Send Messages.
        needed = SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
        if not permissions & needed:
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        if files and not permissions & ATTACH_FILES:
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")

    def store_message(
        self,
        channel: Channel,
        author: User,
        body: dict[str, Any],
        files: list[UploadedFile],
        **extra: Any,
    ) -> StoredMessage:
        message = StoredMessage(
            id=self.world.new_id(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author.id,
            timestamp=self.clock(),
            content=str(body.get("content") or ""),
            embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []),
            attachments=_new_attachments(self.world, body, files, []),
            flags=int(body.get("flags") or 0),
            tts=bool(body.get("tts", False)),
            **extra,
        )
        message.components = number_components(message.components)
        if author.id == self.bot_user.id:
            self.set_pings(message, body.get("allowed_mentions"))
        self.world.messages[message.id] = message
        channel.last_message_id = message.id
        return message

    def set_pings(self, message: StoredMessage, allowed: Any) -> None:
        """Decide whom the bot's message pings: a mention in the content counts when
        ``allowed_mentions`` (or the context's default) lets it through, a role only when it is
        mentionable or the bot has Mention Everyone there, @everyone/@here only with that
        permission (resources/message, Allowed Mentions Object)."""
        if not isinstance(allowed, dict):
            default = WEBHOOK_MENTIONS if message.webhook_id is not None else REGULAR_MENTIONS
            allowed = {"parse": list(default)}
        parse = set(allowed.get("parse") or [])
        listed_users = {str(u) for u in allowed.get("users") or []}
        listed_roles = {str(r) for r in allowed.get("roles") or []}
        guild = self.world.guilds.get(message.guild_id or 0)
        may_mention_all = bool(
            guild is not None
            and guild.channel_permissions(self.bot_user.id, message.channel_id) & MENTION_EVERYONE
        )
        users, roles, everyone = message.written_mentions()
        users = [u for u in users if "users" in parse or str(u) in listed_users]
        roles = [
            r
            for r in roles
            if guild is not None
            and r in guild.roles
            and ("roles" in parse or str(r) in listed_roles)
            and (guild.roles[r].mentionable or may_mention_all)
        ]
        message.pings = (users, roles, everyone and "everyone" in parse and may_mention_all)

    def attachments_for(
        self, body: dict[str, Any], files: list[UploadedFile], existing: list[Attachment]
    ) -> list[Attachment]:
        return _new_attachments(self.world, body, files, existing)

    def apply_edit(
        self, message: StoredMessage, body: dict[str, Any], files: list[UploadedFile]
    ) -> None:
        """A PATCH body: present keys replace, ``null`` clears; the result must not be empty."""
        content = str(body["content"] or "") if "content" in body else message.content
        embeds = list(body["embeds"] or []) if "embeds" in body else message.embeds
        components = (
            number_components(list(body["components"] or []))
            if "components" in body
            else message.components
        )
        attachments = message.attachments
        if "attachments" in body or files:
            attachments = self.attachments_for(body, files, message.attachments)
        if not (content.strip() or embeds or components or attachments):
            raise ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")
        message.revisions.append(self.message_payload(message))
        message.content, message.embeds = content, embeds
        message.components, message.attachments = components, attachments
        if "content" in body:
            # "mentions and mention_roles ... will be reconstructed from scratch based on the
            # new content", with the edit's allowed_mentions or the default ones.
            self.set_pings(message, body.get("allowed_mentions"))
        if body.get("flags") is not None:
            # Only "suppress embeds" can be toggled; components v2 can be added, never removed.
            wanted = int(body["flags"])
            message.flags = (
                (message.flags & ~FLAG_SUPPRESS_EMBEDS)
                | (wanted & FLAG_SUPPRESS_EMBEDS)
                | (wanted & FLAG_COMPONENTS_V2)
            )
        message.flags &= ~FLAG_LOADING
        message.edited_timestamp = self.clock()

    async def announce(self, kind: str, message: StoredMessage) -> None:
        """MESSAGE_CREATE / MESSAGE_UPDATE / MESSAGE_DELETE to the bot, as Discord sends them."""
        for listener in list(self.listeners):
            listener(kind, message)
        if message.visible_to is not None:
            return  # ephemeral messages produce no gateway events
        intent = GUILD_MESSAGES if message.guild_id is not None else DIRECT_MESSAGES
        if kind == "MESSAGE_DELETE":
            data: dict[str, Any] = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
            await self.gateway.dispatch(kind, data, intent=intent)
            return
        payload = self.message_payload(message, gateway=True)
        mentioned = self.bot_user.id in message.mentions()[0]
        if (
            message.author_id != self.bot_user.id
            and message.guild_id is not None
            and not mentioned
            and not self.gateway.intents() & MESSAGE_CONTENT
        ):
            payload.update(content="", embeds=[], attachments=[], components=[])
        await self.gateway.dispatch(kind, payload, intent=intent)

    async def post_as(self, user: User, channel: Channel, content: str) -> StoredMessage:
        """A member writes a plain message (the bot sees it through MESSAGE_CREATE)."""
        message = self.store_message(channel, user, {"content": content}, [])
        await self.announce("MESSAGE_CREATE", message)
        return message

    # -- interactions ------------------------------------------------------------------------
    def interaction_payload(
        self,
        *,
        kind: int,
        user: User,
        channel: Channel,
        data: dict[str, Any] | None,
        message: StoredMessage | None = None,
        interaction_id: int,
        token: str,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "token": token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "authorizing_integration_owners": {},
        }
        if data is not None:
            payload["data"] = data
        guild = self.world.guilds.get(channel.guild_id or 0)
        if guild is not None:
            member = guild.members[user.id]
            member_payload = member.payload(user)
            member_payload["permissions"] = str(guild.channel_permissions(user.id, channel.id))
            channel_payload = channel.payload()
            channel_payload["permissions"] = member_payload["permissions"]
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                channel_id=str(channel.id),
                channel=channel_payload,
                member=member_payload,
                app_permissions=str(guild.channel_permissions(self.bot_user.id, channel.id)),
                context=0,
                authorizing_integration_owners={"0": str(guild.id)},
            )
        else:
            channel_payload = channel.payload(self.world.users)
            payload.update(
                channel_id=str(channel.id),
                channel=channel_payload,
                user=user.payload(),
                # In DMs with the bot: the usual message permissions plus what the docs list
                # ("ATTACH_FILES | EMBED_LINKS | MENTION_EVERYONE" and USE_EXTERNAL_EMOJIS).
                app_permissions=str(
                    VIEW_CHANNEL
                    | SEND_MESSAGES
                    | READ_MESSAGE_HISTORY
                    | EMBED_LINKS
                    | ATTACH_FILES
                    | MENTION_EVERYONE
                    | USE_EXTERNAL_EMOJIS
                ),
                context=1,
                authorizing_integration_owners={"0": "0"},
            )
        if message is not None:
            payload["message"] = self.message_payload(message)
        return payload

    def new_interaction(
        self,
        *,
        kind: int,
        user: User,
        channel: Channel,
        data: dict[str, Any] | None,
        message: StoredMessage | None = None,
    ) -> InteractionRecord:
        """Build an interaction as Discord would (send it with :meth:`send_interaction`)."""
        interaction_id = self.world.new_id()
        token = new_token()
        payload = self.interaction_payload(
            kind=kind,
            user=user,
            channel=channel,
            data=data,
            message=message,
            interaction_id=interaction_id,
            token=token,
        )
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=kind,
            user_id=user.id,
            guild_id=channel.guild_id,
            channel_id=channel.id,
            created=self.monotonic(),
            payload=payload,
            source_message_id=message.id if message is not None else None,
        )
        self.interactions[interaction_id] = record
        self.interactions_by_token[token] = record
        return record

    async def send_interaction(self, record: InteractionRecord) -> None:
        """INTERACTION_CREATE; the 3-second clock starts now."""
        record.created = self.monotonic()
        await self.gateway.dispatch("INTERACTION_CREATE", record.payload, intent=0)

    async def create_interaction(
        self,
        *,
        kind: int,
        user: User,
        channel: Channel,
        data: dict[str, Any] | None,
        message: StoredMessage | None = None,
    ) -> InteractionRecord:
        record = self.new_interaction(
            kind=kind, user=user, channel=channel, data=data, message=message
        )
        await self.send_interaction(record)
        return record

    def upload(self, filename: str, data: bytes, content_type: str | None = None) -> Attachment:
        """A file a member attaches to a slash command option (served by the CDN route)."""
        attachment = Attachment(self.world.new_id(), filename, data, content_type)
        self.uploads[attachment.id] = attachment
        return attachment

    def message_type_for(self, record: InteractionRecord) -> int:
        if record.type == APPLICATION_COMMAND:
            command_type = (record.payload.get("data") or {}).get("type", 1)
            return 20 if command_type == 1 else 23
        return 0

    def interaction_metadata(self, record: InteractionRecord) -> dict[str, Any]:
        user = self.world.users[record.user_id].payload()
        metadata: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "user": user,
            "authorizing_integration_owners": record.payload.get(
                "authorizing_integration_owners", {}
            ),
        }
        if record.type == APPLICATION_COMMAND:
            metadata["name"] = (record.payload.get("data") or {}).get("name")
            metadata["command_type"] = (record.payload.get("data") or {}).get("type", 1)
        elif record.source_message_id is not None:
            metadata["interacted_message_id"] = str(record.source_message_id)
        return metadata


def _new_attachments(
    world: World,
    body: dict[str, Any],
    files: list[UploadedFile],
    existing: list[Attachment],
) -> list[Attachment]:
    """Resolve ``attachments`` (kept ids + new uploads by index) like Discord."""
    by_index = {f.index: f for f in files}
    keep = {a.id: a for a in existing}
    result: list[Attachment] = []
    listed: list[dict[str, Any]] | None = body.get("attachments")
    if listed is None:
        result.extend(existing)
        listed = [{"id": f.index} for f in files]
    used: set[int] = set()
    for entry in listed:
        try:
            key = int(str(entry.get("id")))
        except (TypeError, ValueError):
            continue
        upload = by_index.get(key)
        if upload is not None and key not in used and key < 1000:
            used.add(key)
            result.append(
                Attachment(
                    world.new_id(),
                    str(entry.get("filename") or upload.filename),
                    upload.data,
                    upload.content_type,
                    entry.get("description"),
                )
            )
        elif key in keep:
            result.append(keep[key])
    return result


async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    """JSON body, or multipart with ``payload_json`` and ``files[n]`` parts."""
    if not request.can_read_body:
        return None, []
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith("multipart/"):
        reader = await request.multipart()
        payload: Any = None
        files: list[UploadedFile] = []
        while True:
            part = await reader.next()
            if part is None:
                break
            name = getattr(part, "name", None) or ""
            data = await part.read()  # type: ignore[union-attr]
            if name == "payload_json":
                payload = json.loads(data.decode())
                continue
            match = re.fullmatch(r"files\[(\d+)\]", name)
            if match is not None:
                files.append(
                    UploadedFile(
                        int(match.group(1)),
                        getattr(part, "filename", None) or f"file{match.group(1)}",
                        bytes(data),
                        part.headers.get("Content-Type"),  # type: ignore[union-attr]
                    )
                )
        return payload, files
    raw = await request.read()
    if not raw:
        return None, []
    if content_type.split(";")[0].strip() != "application/json":
        raise ApiError(400, 50109, "The request body contains invalid JSON.")
    try:
        return json.loads(raw), []
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


def _json_response(body: Any, status: int, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses JSON only when Content-Type is exactly "application/json" (no charset).
    merged = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(body).encode(), status=status, headers=merged)
