"""The emulated Discord state: users, guilds, roles, channels, members, messages.

Every entity renders itself as the JSON object Discord documents for it, so REST answers,
gateway events and interaction payloads all come from one place.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

DISCORD_EPOCH_MS = 1420070400000

# Permission bits (topics/permissions).
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)

GUILD_TEXT = 0
DM = 1
GUILD_CATEGORY = 4
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = (PUBLIC_THREAD, PRIVATE_THREAD)

MENTION_USER: re.Pattern[str] = re.compile(r"<@!?(\d+)>")
MENTION_ROLE: re.Pattern[str] = re.compile(r"<@&(\d+)>")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# Users, guilds, roles and channels get ids from a fixed sequence "created" at this moment, so
# the same world has the same ids on every run (a sandbox database stays valid across runs).
STRUCTURE_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class Snowflakes:
    """Discord ids: milliseconds since 2015 in the high bits, always increasing."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.last = 0
        millis = int(STRUCTURE_EPOCH.timestamp() * 1000) - DISCORD_EPOCH_MS
        self.last_structure = millis << 22

    def next(self) -> int:
        """An id for something happening now (message, interaction, command)."""
        millis = int(self.clock().timestamp() * 1000) - DISCORD_EPOCH_MS
        self.last = max(self.last + 1, max(millis, 0) << 22)
        return self.last

    def structure(self) -> int:
        """A deterministic id for a user, role or channel of the world."""
        self.last_structure += 1
        return self.last_structure

    def guild(self) -> int:
        """A deterministic guild id a millisecond after the last id: guilds, like Discord's,
        are created at different moments, so ``(id >> 22) % shard_count`` spreads them over
        the shards."""
        self.last_structure = ((self.last_structure >> 22) + 1) << 22
        return self.last_structure


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    accepts_dms: bool = True  # False: the user closed DMs from server members (50007)

    @property
    def display_name(self) -> str:
        return self.global_name or self.username

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "avatar_decoration_data": None,
            "public_flags": 0,
            "banner": None,
            "accent_color": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    bot_id: int | None = None  # the integration role of a bot

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.bot_id is not None,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class Channel:
    id: int
    type: int
    name: str | None
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    recipient_id: int | None = None  # DM channels
    last_message_id: int | None = None
    overwrites: list[dict[str, Any]] = field(default_factory=list)
    # Threads (types 11 and 12): who started it, when, and its archive settings.
    owner_id: int | None = None
    created_at: datetime | None = None
    auto_archive_duration: int = 1440
    message_count: int = 0

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def payload(self, users: dict[int, User] | None = None) -> dict[str, Any]:
        if self.type == DM:
            recipients = []
            if users is not None and self.recipient_id in users:
                recipients = [users[self.recipient_id].payload()]
            return {
                "id": str(self.id),
                "type": DM,
                "last_message_id": _opt(self.last_message_id),
                "flags": 0,
                "recipients": recipients,
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": list(self.overwrites),
            "parent_id": _opt(self.parent_id),
            "flags": 0,
        }
        if self.is_thread:
            # A thread channel object (Discord: Channel Resource, "Example Thread Channel").
            created = iso(self.created_at) if self.created_at else None
            data.update(
                owner_id=_opt(self.owner_id),
                last_message_id=_opt(self.last_message_id),
                rate_limit_per_user=0,
                message_count=self.message_count,
                member_count=1,
                total_message_sent=self.message_count,
                thread_metadata={
                    "archived": False,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": created,
                    "locked": False,
                    "create_timestamp": created,
                    **({"invitable": True} if self.type == PRIVATE_THREAD else {}),
                },
            )
            data.pop("position", None)
            data.pop("permission_overwrites", None)
        if self.type == GUILD_TEXT:
            data.update(
                topic=self.topic,
                nsfw=False,
                last_message_id=_opt(self.last_message_id),
                rate_limit_per_user=0,
                last_pin_timestamp=None,
            )
        return data


@dataclass
class Member:
    user_id: int
    guild_id: int
    roles: list[int]
    joined_at: datetime
    nick: str | None = None

    def payload(self, user: User, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = user.payload()
        return data


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    created: datetime
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def base_permissions(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        if member is None:
            return 0
        permissions = self.everyone.permissions
        for role_id in member.roles:
            role = self.roles.get(role_id)
            if role is not None:
                permissions |= role.permissions
        if permissions & ADMINISTRATOR:
            return ALL_PERMISSIONS
        return permissions

    def channel_permissions(self, user_id: int, channel_id: int) -> int:
        """Permission overwrites applied in Discord's order: @everyone, roles, member."""
        permissions = self.base_permissions(user_id)
        if permissions == ALL_PERMISSIONS:
            return permissions
        channel = self.channels.get(channel_id)
        if channel is not None and channel.is_thread and channel.parent_id is not None:
            channel = self.channels.get(channel.parent_id)  # a thread has its parent's
        member = self.members.get(user_id)
        if channel is None or member is None:
            return permissions
        by_id = {int(o["id"]): o for o in channel.overwrites}
        everyone = by_id.get(self.id)
        if everyone is not None:
            permissions = (permissions & ~int(everyone["deny"])) | int(everyone["allow"])
        allow = deny = 0
        for role_id in member.roles:
            overwrite = by_id.get(role_id)
            if overwrite is not None:
                allow |= int(overwrite["allow"])
                deny |= int(overwrite["deny"])
        permissions = (permissions & ~deny) | allow
        own = by_id.get(user_id)
        if own is not None:
            permissions = (permissions & ~int(own["deny"])) | int(own["allow"])
        return permissions

    def payload(self, users: dict[int, User]) -> dict[str, Any]:
        """The GUILD_CREATE / GET guild object (with members and channels for the gateway)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": [r.payload() for r in sorted(self.roles.values(), key=lambda r: r.position)],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "max_video_channel_users": 25,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None,
        }

    def gateway_payload(
        self,
        users: dict[int, User],
        joined_at: datetime,
        *,
        own_id: int | None = None,
        large_threshold: int = 250,
    ) -> dict[str, Any]:
        """A guild with more members than the session's ``large_threshold`` is *large*: like
        Discord, its GUILD_CREATE then carries only the connecting bot's own member (``own_id``;
        no presences, nobody in voice here) and the bot asks for the rest with
        REQUEST_GUILD_MEMBERS."""
        data = self.payload(users)
        large = len(self.members) > large_threshold
        members = [m for m in self.members.values() if not large or m.user_id == own_id]
        data.update(
            joined_at=iso(joined_at),
            large=large,
            unavailable=False,
            member_count=len(self.members),
            voice_states=[],
            members=[m.payload(users[m.user_id]) for m in members],
            channels=[
                {k: v for k, v in c.payload().items() if k != "guild_id"}
                for c in self.channels.values()
                if not c.is_thread
            ],
            threads=[c.payload() for c in self.channels.values() if c.is_thread],
            presences=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
        )
        return data


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None

    def payload(self, base_url: str, channel_id: int) -> dict[str, Any]:
        url = f"{base_url}/attachments/{channel_id}/{self.id}/{self.filename}"
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": url,
            "proxy_url": url,
        }
        if self.content_type:
            data["content_type"] = self.content_type
        if self.description is not None:
            data["description"] = self.description
        return data


@dataclass
class StoredMessage:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    timestamp: datetime
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    tts: bool = False
    edited_timestamp: datetime | None = None
    webhook_id: int | None = None  # interaction responses are sent by the app's webhook
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    interaction: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    pinned: bool = False
    deleted: bool = False
    visible_to: int | None = None  # ephemeral: only this user sees it
    reactions: dict[str, set[int]] = field(default_factory=dict)
    revisions: list[dict[str, Any]] = field(default_factory=list)  # earlier states, oldest first
    # Who the message actually pings (users, roles, @everyone), decided when it was sent or its
    # content edited: the mentions in the content that allowed_mentions and the sender's
    # permissions let through. None: everything written (a member's own message).
    pings: tuple[list[int], list[int], bool] | None = None
    # Create Message's ``nonce`` (string of up to 25 characters, or integer), echoed back.
    nonce: str | int | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & (1 << 6))

    def written_mentions(self) -> tuple[list[int], list[int], bool]:
        """The mentions that appear in the content."""
        users = [int(m) for m in MENTION_USER.findall(self.content)]
        roles = [int(m) for m in MENTION_ROLE.findall(self.content)]
        everyone = "@everyone" in self.content or "@here" in self.content
        return list(dict.fromkeys(users)), list(dict.fromkeys(roles)), everyone

    def mentions(self) -> tuple[list[int], list[int], bool]:
        """The message object's ``mentions``, ``mention_roles`` and ``mention_everyone``."""
        return self.pings if self.pings is not None else self.written_mentions()


def _opt(value: int | None) -> str | None:
    return None if value is None else str(value)


@dataclass
class World:
    """All state of the emulated Discord."""

    clock: Callable[[], datetime]
    snowflakes: Snowflakes
    users: dict[int, User] = field(default_factory=dict)
    guilds: dict[int, Guild] = field(default_factory=dict)
    dm_channels: dict[int, Channel] = field(default_factory=dict)  # by recipient user id
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    # Create Message with ``enforce_nonce``: "checked for uniqueness in the past few minutes. If
    # another message was created by the same author with the same nonce, that message will be
    # returned and no new message will be created" (resources/message). Same author, any
    # channel: (author id, nonce as text) -> message id.
    nonce_window: timedelta = timedelta(minutes=3)
    nonces: dict[tuple[int, str], int] = field(default_factory=dict)
    nonce_hits: int = 0  # creates answered with an existing message
    # Test hook: awaited with (channel id, body) when a Create Message request arrives, before
    # anything is done; False drops the request (the message is not created).
    before_message_create: list[Callable[[int, dict[str, Any]], Awaitable[bool]]] = field(
        default_factory=list
    )

    def message_by_nonce(self, author_id: int, nonce: str | int) -> StoredMessage | None:
        """The message ``author_id`` created with ``nonce`` within the nonce window, if any."""
        message = self.messages.get(self.nonces.get((author_id, str(nonce)), 0))
        if message is None or message.deleted:
            return None
        if self.clock() - message.timestamp > self.nonce_window:
            return None
        return message

    def remember_nonce(self, message: StoredMessage) -> None:
        if message.nonce is not None:
            self.nonces[(message.author_id, str(message.nonce))] = message.id

    @classmethod
    def create(cls, clock: Callable[[], datetime]) -> World:
        return cls(clock=clock, snowflakes=Snowflakes(clock))

    def new_id(self) -> int:
        return self.snowflakes.next()

    # -- building ----------------------------------------------------------------------------
    def add_user(self, username: str, global_name: str | None = None, *, bot: bool = False) -> User:
        user = User(self.snowflakes.structure(), username, global_name, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, owner: User) -> Guild:
        guild_id = self.snowflakes.guild()
        guild = Guild(guild_id, name, owner.id, self.clock())
        guild.roles[guild_id] = Role(guild_id, guild_id, "@everyone", EVERYONE_PERMISSIONS, 0)
        self.guilds[guild_id] = guild
        self.add_member(guild, owner)
        return guild

    def add_role(
        self, guild: Guild, name: str, permissions: int = 0, *, bot_id: int | None = None
    ) -> Role:
        position = max(r.position for r in guild.roles.values()) + 1
        role = Role(
            self.snowflakes.structure(), guild.id, name, permissions, position, bot_id=bot_id
        )
        guild.roles[role.id] = role
        return role

    def add_channel(
        self, guild: Guild, name: str, *, kind: int = GUILD_TEXT, topic: str | None = None
    ) -> Channel:
        position = len([c for c in guild.channels.values() if c.type == kind])
        channel = Channel(self.snowflakes.structure(), kind, name, guild.id, position, topic)
        guild.channels[channel.id] = channel
        return channel

    def add_member(self, guild: Guild, user: User, roles: list[Role] | None = None) -> Member:
        member = Member(user.id, guild.id, [r.id for r in roles or []], self.clock())
        guild.members[user.id] = member
        return member

    # -- lookups -----------------------------------------------------------------------------
    def channel(self, channel_id: int) -> Channel | None:
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        return next((c for c in self.dm_channels.values() if c.id == channel_id), None)

    def dm_channel(self, user: User) -> Channel:
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = Channel(self.new_id(), DM, None, recipient_id=user.id)
            self.dm_channels[user.id] = channel
        return channel

    def channel_messages(
        self, channel_id: int, *, viewer: int | None = None
    ) -> list[StoredMessage]:
        """Messages of a channel, oldest first; ephemeral ones only for their viewer."""
        found = [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id
            and not m.deleted
            and (m.visible_to is None or m.visible_to == viewer)
        ]
        return sorted(found, key=lambda m: m.id)

    # -- rendering ---------------------------------------------------------------------------
    def message_payload(
        self, message: StoredMessage, base_url: str, *, gateway: bool = False
    ) -> dict[str, Any]:
        author = self.users[message.author_id]
        mentioned_users, mentioned_roles, everyone = message.mentions()
        data: dict[str, Any] = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "author": author.payload(),
            "content": message.content,
            "timestamp": iso(message.timestamp),
            "edited_timestamp": iso(message.edited_timestamp) if message.edited_timestamp else None,
            "tts": message.tts,
            "mention_everyone": everyone,
            "mentions": [self.users[u].payload() for u in mentioned_users if u in self.users],
            "mention_roles": [str(r) for r in mentioned_roles],
            "attachments": [a.payload(base_url, message.channel_id) for a in message.attachments],
            "embeds": [_embed_out(e) for e in message.embeds],
            "pinned": message.pinned,
            "type": message.type,
            "flags": message.flags,
            "components": message.components,
        }
        if message.reactions:
            data["reactions"] = [
                {
                    "count": len(users),
                    "count_details": {"burst": 0, "normal": len(users)},
                    "me": author.bot and author.id in users,
                    "me_burst": False,
                    "burst_colors": [],
                    "emoji": {"id": None, "name": emoji},
                }
                for emoji, users in message.reactions.items()
                if users
            ]
        if message.webhook_id is not None:
            data["webhook_id"] = str(message.webhook_id)
        if message.application_id is not None:
            data["application_id"] = str(message.application_id)
        if message.interaction_metadata is not None:
            data["interaction_metadata"] = message.interaction_metadata
        if message.interaction is not None:
            data["interaction"] = message.interaction
        if message.message_reference is not None:
            data["message_reference"] = message.message_reference
        if message.nonce is not None:
            data["nonce"] = message.nonce
        if gateway and message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
            guild = self.guilds.get(message.guild_id)
            member = guild.members.get(author.id) if guild else None
            if member is not None:
                data["member"] = member.payload(author, with_user=False)
        return data


def _embed_out(embed: dict[str, Any]) -> dict[str, Any]:
    """Discord stores embeds with ``type: rich`` and drops nothing else a bot sends."""
    data = dict(embed)
    data.setdefault("type", "rich")
    return data
