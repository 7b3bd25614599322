"""The gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME with replay, and the
faults a bot must survive (dropped connection, op 7 reconnect, op 9 invalid session).

Sharding as Discord does it (topics/gateway#sharding): IDENTIFY may carry ``shard: [id, count]``;
a session then receives the guilds with ``(guild_id >> 22) % count == id`` and their events and
interactions, and shard 0 also what belongs to no guild (DMs). An IDENTIFY whose session would
hold more than the emulator's ``max_guilds_per_shard`` guilds is closed with 4011 (sharding
required); a malformed shard with 4010.

Plain text JSON frames; discord.py asks for ``compress=zlib-stream`` in the URL but handles
uncompressed text frames, which Discord also sends when asked without compression.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from concord.sandbox.emulator.server import Emulator

log = logging.getLogger(__name__)

DISPATCH = 0
HEARTBEAT = 1
IDENTIFY = 2
PRESENCE_UPDATE = 3
VOICE_STATE_UPDATE = 4
RESUME = 6
RECONNECT = 7
REQUEST_GUILD_MEMBERS = 8
INVALID_SESSION = 9
HELLO = 10
HEARTBEAT_ACK = 11
REQUEST_SOUNDBOARD_SOUNDS = 31

HEARTBEAT_INTERVAL_MS = 41250
CHUNK_SIZE = 1000  # members per GUILD_MEMBERS_CHUNK
REPLAY_BUFFER = 2000

# Close codes (topics/opcodes-and-status-codes#gateway-gateway-close-event-codes).
UNKNOWN_OPCODE = 4001
DECODE_ERROR = 4002
NOT_AUTHENTICATED = 4003
AUTHENTICATION_FAILED = 4004
ALREADY_AUTHENTICATED = 4005
INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011
DISALLOWED_INTENTS = 4014

# Intents (topics/gateway#gateway-intents).
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

# Application flags that say a privileged intent is switched on in the developer portal.
APP_FLAG_FOR_INTENT = {GUILD_PRESENCES: 1 << 13, GUILD_MEMBERS: 1 << 15, MESSAGE_CONTENT: 1 << 19}

EVENT_INTENTS: dict[str, int] = {
    "GUILD_CREATE": GUILDS,
    "GUILD_UPDATE": GUILDS,
    "GUILD_DELETE": GUILDS,
    "GUILD_ROLE_CREATE": GUILDS,
    "GUILD_ROLE_UPDATE": GUILDS,
    "GUILD_ROLE_DELETE": GUILDS,
    "CHANNEL_CREATE": GUILDS,
    "CHANNEL_UPDATE": GUILDS,
    "CHANNEL_DELETE": GUILDS,
    "THREAD_CREATE": GUILDS,
    "GUILD_MEMBER_ADD": GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": GUILD_MEMBERS,
}


@dataclass
class Session:
    id: str
    intents: int
    sequence: int = 0
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    socket: web.WebSocketResponse | None = None
    request: web.Request | None = None
    resumable: bool = True
    shard: tuple[int, int] = (0, 1)  # (id, count)

    def record(self, event: str, data: Any) -> str:
        self.sequence += 1
        frame = json.dumps({"op": DISPATCH, "t": event, "s": self.sequence, "d": data})
        self.buffer.append((self.sequence, frame))
        return frame


class Gateway:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.sessions: dict[str, Session] = {}
        self.current: Session | None = None  # the session identified last
        self.shards: dict[int, Session] = {}  # the live session of each shard id
        self.sockets: set[web.WebSocketResponse] = set()
        self.identify_count = 0
        self.resume_count = 0
        self.connect_count = 0
        self.heartbeats = 0
        self.presence: dict[str, Any] | None = None
        self.closed_codes: list[int] = []
        self.chunk_requests = 0  # REQUEST_GUILD_MEMBERS answered
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    # -- connection --------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        self.connect_count += 1
        self.sockets.add(socket)
        session: Session | None = None
        try:
            await self._send(
                socket, {"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}
            )
            async for message in socket:
                if message.type is not WSMsgType.TEXT:
                    if message.type is WSMsgType.BINARY:
                        await self._close(socket, DECODE_ERROR, b"Decode error")
                    break
                try:
                    payload = json.loads(message.data)
                    op = payload["op"]
                except (ValueError, KeyError, TypeError):
                    await self._close(socket, DECODE_ERROR, b"Decode error")
                    break
                session = await self._on_payload(socket, request, session, op, payload.get("d"))
                if socket.closed:
                    break
        finally:
            self.sockets.discard(socket)
            if session is not None and session.socket is socket:
                session.socket = None
                session.request = None
            self._notify()
        return socket

    async def _on_payload(
        self,
        socket: web.WebSocketResponse,
        request: web.Request,
        session: Session | None,
        op: int,
        data: Any,
    ) -> Session | None:
        if op == HEARTBEAT:
            self.heartbeats += 1
            await self._send(socket, {"op": HEARTBEAT_ACK})
            return session
        if op == IDENTIFY:
            if session is not None:
                await self._close(socket, ALREADY_AUTHENTICATED, b"Already authenticated")
                return session
            return await self._identify(socket, request, data or {})
        if op == RESUME:
            if session is not None:
                await self._close(socket, ALREADY_AUTHENTICATED, b"Already authenticated")
                return session
            return await self._resume(socket, request, data or {})
        if session is None:
            await self._close(socket, NOT_AUTHENTICATED, b"Not authenticated")
            return None
        if op == PRESENCE_UPDATE:
            self.presence = data
        elif op == REQUEST_GUILD_MEMBERS:
            await self._member_chunks(session, data or {})
        elif op in (VOICE_STATE_UPDATE, REQUEST_SOUNDBOARD_SOUNDS):
            pass  # accepted; the emulator has no voice or soundboard
        else:
            await self._close(socket, UNKNOWN_OPCODE, b"Unknown opcode")
        return session

    async def _identify(
        self, socket: web.WebSocketResponse, request: web.Request, data: dict[str, Any]
    ) -> Session | None:
        emulator = self.emulator
        if data.get("token") != emulator.token:
            await self._close(socket, AUTHENTICATION_FAILED, b"Authentication failed.")
            return None
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED & ~emulator.privileged_intents:
            await self._close(socket, DISALLOWED_INTENTS, b"Disallowed intent(s).")
            return None
        shard = _shard(data.get("shard", [0, 1]))
        if shard is None:
            await self._close(socket, INVALID_SHARD, b"Invalid shard.")
            return None
        guilds = [g for g in emulator.world.guilds.values() if shard_of(g.id, shard[1]) == shard[0]]
        if len(guilds) > emulator.max_guilds_per_shard:
            await self._close(socket, SHARDING_REQUIRED, b"Sharding required.")
            return None
        self.identify_count += 1
        for old in list(self.shards.values()):
            # The same shard identified again, or the bot restarted with another shard count:
            # the old session is over.
            if old.shard[0] == shard[0] or old.shard[1] != shard[1]:
                old.resumable = False
                self.shards.pop(old.shard[0], None)
        session = Session(
            secrets.token_hex(16), intents, socket=socket, request=request, shard=shard
        )
        self.sessions[session.id] = session
        self.current = session
        self.shards[shard[0]] = session
        ready = {
            "v": 10,
            "user": {**emulator.bot_user.payload(), "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": emulator.resume_gateway_url,
            "application": {
                "id": str(emulator.application_id),
                "flags": emulator.application_flags,
            },
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "geo_ordered_rtc_regions": ["emulator"],
            "_trace": ['["concord-sandbox-emulator"]'],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self._send_dispatch(session, "READY", ready)
        # Discord accepts 50..250 and defaults to 50; discord.py sends 250.
        threshold = min(250, max(50, int(data.get("large_threshold", 50))))
        for guild in guilds:
            await self._send_dispatch(
                session, "GUILD_CREATE", emulator.guild_create_payload(guild, threshold)
            )
        self._notify()
        return session

    async def _resume(
        self, socket: web.WebSocketResponse, request: web.Request, data: dict[str, Any]
    ) -> Session | None:
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if data.get("token") != self.emulator.token:
            await self._close(socket, AUTHENTICATION_FAILED, b"Authentication failed.")
            return None
        oldest = session.buffer[0][0] if session and session.buffer else 1
        if (
            session is None
            or not session.resumable
            or not isinstance(seq, int)
            or seq > session.sequence
            or seq < oldest - 1
        ):
            await self._send(socket, {"op": INVALID_SESSION, "d": False})
            return None
        if session.socket is not None and not session.socket.closed:
            await self._close(session.socket, 4000, b"Session resumed elsewhere")
        session.socket = socket
        session.request = request
        self.resume_count += 1
        for number, frame in list(session.buffer):
            if number > seq:
                await socket.send_str(frame)
        await self._send_dispatch(session, "RESUMED", {"_trace": ['["concord-sandbox-emulator"]']})
        self._notify()
        return session

    async def _member_chunks(self, session: Session, data: dict[str, Any]) -> None:
        guild = self.emulator.world.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        users = self.emulator.world.users
        members = list(guild.members.values())
        wanted = data.get("user_ids")
        not_found: list[str] = []
        if wanted is not None:
            ids = [int(u) for u in (wanted if isinstance(wanted, list) else [wanted])]
            not_found = [str(u) for u in ids if u not in guild.members]
            members = [m for m in members if m.user_id in ids]
        else:
            query = str(data.get("query", "")).lower()
            members = [m for m in members if users[m.user_id].username.lower().startswith(query)]
            limit = int(data.get("limit", 0))
            if limit:
                members = members[:limit]
        # Like Discord: at most 1000 members per GUILD_MEMBERS_CHUNK, numbered, at least one.
        pages = [members[i : i + CHUNK_SIZE] for i in range(0, len(members), CHUNK_SIZE)] or [[]]
        for index, page in enumerate(pages):
            chunk: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [m.payload(users[m.user_id]) for m in page],
                "chunk_index": index,
                "chunk_count": len(pages),
            }
            if not_found and index == len(pages) - 1:
                chunk["not_found"] = not_found
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)
        self.chunk_requests += 1

    # -- sending -----------------------------------------------------------------------------
    async def _close(self, socket: web.WebSocketResponse, code: int, message: bytes) -> None:
        """Close with a gateway close code (recorded: tests assert on what the bot was told)."""
        self.closed_codes.append(code)
        await socket.close(code=code, message=message)

    async def _send(self, socket: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        if not socket.closed:
            await socket.send_str(json.dumps(payload))

    async def _send_dispatch(self, session: Session, event: str, data: Any) -> None:
        frame = session.record(event, data)
        socket = session.socket
        if socket is not None and not socket.closed:
            try:
                await socket.send_str(frame)
            except ConnectionError:
                log.debug("gateway socket closed while sending %s; kept for resume", event)

    async def dispatch(self, event: str, data: Any, *, intent: int | None = None) -> None:
        """Send an event to the bot's session; while it is disconnected the event waits in the
        replay buffer and arrives on RESUME, as on Discord."""
        session = self.session_for(guild_of(event, data))
        if session is None or not session.resumable:
            return
        needed = intent if intent is not None else EVENT_INTENTS.get(event, 0)
        if needed and not session.intents & needed:
            return
        await self._send_dispatch(session, event, data)

    def session_for(self, guild_id: int | None) -> Session | None:
        """The session an event of ``guild_id`` goes to (None: no guild, a DM: shard 0)."""
        if not self.shards:
            return None
        count = next(iter(self.shards.values())).shard[1]
        return self.shards.get(0 if guild_id is None else shard_of(guild_id, count))

    def intents(self) -> int:
        return self.current.intents if self.current is not None else 0

    @property
    def connected(self) -> bool:
        session = self.current
        return session is not None and session.socket is not None and not session.socket.closed

    # -- faults ------------------------------------------------------------------------------
    async def drop(self, code: int | None = None) -> None:
        """Cut the connection: abort the TCP stream (no close frame), or close with ``code``."""
        session = self.current
        if session is None or session.socket is None:
            return
        socket, request = session.socket, session.request
        if code is None and request is not None and request.transport is not None:
            request.transport.abort()
        else:
            await self._close(socket, code or 4000, b"Dropped by the emulator")

    async def request_reconnect(self) -> None:
        """Op 7: the bot must reconnect and resume."""
        session = self.current
        if session is not None and session.socket is not None:
            await self._send(session.socket, {"op": RECONNECT, "d": None})

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Op 9: ``resumable=False`` forces a fresh IDENTIFY."""
        session = self.current
        if session is None or session.socket is None:
            return
        if not resumable:
            session.resumable = False
        await self._send(session.socket, {"op": INVALID_SESSION, "d": resumable})

    async def close_all(self) -> None:
        for socket in list(self.sockets):
            await self._close(socket, 1001, b"Emulator shutting down")

    # -- waiting -----------------------------------------------------------------------------
    def _notify(self) -> None:
        for condition, future in list(self._waiters):
            if not future.done() and condition():
                future.set_result(None)
        self._waiters = [(c, f) for c, f in self._waiters if not f.done()]

    async def wait_until(self, condition: Callable[[], bool], within: float = 5.0) -> None:
        """Wait for a gateway state change (identified, resumed, disconnected)."""
        if condition():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((condition, future))
        try:
            await asyncio.wait_for(future, within)
        finally:
            future.cancel()


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard a guild belongs to (topics/gateway#sharding-sharding-formula)."""
    return (guild_id >> 22) % shard_count


def _shard(value: Any) -> tuple[int, int] | None:
    """IDENTIFY's ``shard``: ``[shard_id, num_shards]`` with 0 <= shard_id < num_shards."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    shard_id, count = value
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (shard_id, count)):
        return None
    return (shard_id, count) if 0 <= shard_id < count else None


# Events whose data is the guild itself (its id is ``id``, not ``guild_id``).
_GUILD_OBJECT_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})


def guild_of(event: str, data: Any) -> int | None:
    """The guild an event belongs to, for routing it to its shard (None: a DM, no guild)."""
    if not isinstance(data, dict):
        return None
    raw = data.get("id") if event in _GUILD_OBJECT_EVENTS else data.get("guild_id")
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None
