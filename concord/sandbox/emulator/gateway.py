"""The gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME with replay, and the
faults a bot must survive (dropped connection, op 7 reconnect, op 9 invalid session).

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

    def record(self, event: str, data: Any) -> str:
        self.sequence += 1
        frame = json.dumps({"op": DISPATCH, "t": event, "s": self.sequence, "d": data})
        self.buffer.append((self.sequence, frame))
        return frame


class Gateway:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.sessions: dict[str, Session] = {}
        self.current: Session | None = None
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
        self.identify_count += 1
        if self.current is not None:
            self.current.resumable = False
        session = Session(secrets.token_hex(16), intents, socket=socket, request=request)
        self.sessions[session.id] = session
        self.current = session
        ready = {
            "v": 10,
            "user": {**emulator.bot_user.payload(), "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g), "unavailable": True} for g in emulator.world.guilds],
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
        for guild in emulator.world.guilds.values():
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
        session = self.current
        if session is None or not session.resumable:
            return
        needed = intent if intent is not None else EVENT_INTENTS.get(event, 0)
        if needed and not session.intents & needed:
            return
        await self._send_dispatch(session, event, data)

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
