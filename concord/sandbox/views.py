"""What a test looks at: live views of emulator messages, modals the bot opened, and the
:class:`Reply` collecting everything the bot answered to one interaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from concord.sandbox.emulator import InteractionRecord, RecordedRequest
from concord.sandbox.emulator.validation import FLAG_LOADING, SELECT_TYPES, walk_components
from concord.sandbox.emulator.world import StoredMessage
from concord.sandbox.errors import UsageError
from concord.sandbox.render import message_text, readable

if TYPE_CHECKING:
    from concord.sandbox.driver import Sandbox


@dataclass(frozen=True)
class Button:
    label: str | None
    custom_id: str | None
    style: int
    disabled: bool
    url: str | None
    emoji: str | None
    id: int | None = None  # the component id Discord numbered it with


@dataclass(frozen=True)
class SelectMenu:
    custom_id: str
    type: int
    options: list[tuple[str, str]]  # (label, value) of a string select
    placeholder: str | None
    min_values: int
    max_values: int
    disabled: bool
    id: int | None = None


class Message:
    """A live view of a message in the emulator (it reflects later edits)."""

    def __init__(self, sandbox: Sandbox, stored: StoredMessage) -> None:
        self._sandbox = sandbox
        self.stored = stored

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def id(self) -> int:
        return self.stored.id

    @property
    def content(self) -> str:
        return self.stored.content

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.stored.embeds

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.stored.components

    @property
    def author(self) -> str:
        return self._sandbox.emulator.world.users[self.stored.author_id].username

    @property
    def channel(self) -> str:
        return self._sandbox.channel_label(self.stored.channel_id)

    @property
    def ephemeral(self) -> bool:
        return self.stored.ephemeral

    @property
    def deleted(self) -> bool:
        return self.stored.deleted

    @property
    def loading(self) -> bool:
        return bool(self.stored.flags & FLAG_LOADING)

    @property
    def edited(self) -> bool:
        return self.stored.edited_timestamp is not None

    @property
    def text(self) -> str:
        """Content, embeds and text displays as readable text (mentions resolved)."""
        raw = message_text(self.stored.content, self.stored.embeds, self.stored.components)
        return readable(raw, self._sandbox.names)

    @property
    def files(self) -> list[tuple[str, bytes]]:
        return [(a.filename, a.data) for a in self.stored.attachments]

    @property
    def pings(self) -> tuple[list[int], list[int], bool]:
        """Whom the message notifies: user ids, role ids, @everyone — the mentions in its
        content that allowed_mentions and the bot's permissions let through."""
        return self.stored.mentions()

    @property
    def buttons(self) -> list[Button]:
        return [
            Button(
                c.get("label"),
                c.get("custom_id"),
                int(c.get("style", 1)),
                bool(c.get("disabled", False)),
                c.get("url"),
                (c.get("emoji") or {}).get("name"),
                c.get("id"),
            )
            for c in walk_components(self.stored.components)
            if c.get("type") == 2
        ]

    @property
    def selects(self) -> list[SelectMenu]:
        return [
            SelectMenu(
                str(c.get("custom_id")),
                int(c["type"]),
                [(str(o.get("label")), str(o.get("value"))) for o in c.get("options") or []],
                c.get("placeholder"),
                int(c.get("min_values", 1)),
                int(c.get("max_values", 1)),
                bool(c.get("disabled", False)),
                c.get("id"),
            )
            for c in walk_components(self.stored.components)
            if c.get("type") in SELECT_TYPES
        ]

    def button(self, label: str | None = None, *, custom_id: str | None = None) -> Button:
        buttons = self.buttons
        if custom_id is not None:
            found = [b for b in buttons if b.custom_id == custom_id]
        else:
            found = [b for b in buttons if b.label == label] or [
                b for b in buttons if (b.label or "").lower() == (label or "").lower()
            ]
        if not found:
            shown = ", ".join(repr(b.label or b.custom_id) for b in buttons) or "none"
            wanted = custom_id if custom_id is not None else label
            raise UsageError(f"no button {wanted!r} on this message (buttons: {shown})")
        return found[0]

    def __repr__(self) -> str:
        preview = self.text.replace("\n", " | ")[:80]
        return f"<Message {self.id} in {self.channel} by {self.author}: {preview!r}>"


@dataclass
class ModalField:
    custom_id: str
    label: str
    kind: int  # 4 text input, 3/5-8 selects
    required: bool
    value: str | None = None
    style: int = 1
    min_length: int | None = None
    max_length: int | None = None
    placeholder: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    in_label: bool = False
    component_id: int | None = None
    container_id: int | None = None  # the label's (or legacy action row's) id


class Modal:
    """A modal the bot opened; fill it with :meth:`Sandbox.submit`."""

    def __init__(self, data: dict[str, Any], record: InteractionRecord) -> None:
        self.data = data
        self.record = record
        self.title = str(data.get("title"))
        self.custom_id = str(data.get("custom_id"))
        self.fields: list[ModalField] = []
        for component in data.get("components") or []:
            kind = component.get("type")
            container = component.get("id")
            if kind == 1:
                for child in component.get("components") or []:
                    label = str(child.get("label") or "")
                    self.fields.append(self._field(child, label, False, container))
            elif kind == 18:
                inner = component.get("component") or {}
                label = str(component.get("label") or "")
                self.fields.append(self._field(inner, label, True, container))

    @staticmethod
    def _field(
        component: dict[str, Any], label: str, in_label: bool, container: int | None
    ) -> ModalField:
        kind = int(component.get("type", 4))
        required = bool(component.get("required", True))  # Discord's default in modals
        return ModalField(
            custom_id=str(component.get("custom_id")),
            label=label,
            kind=kind,
            required=required,
            value=component.get("value"),
            style=int(component.get("style", 1)),
            min_length=component.get("min_length"),
            max_length=component.get("max_length"),
            placeholder=component.get("placeholder"),
            options=[
                (str(o.get("label")), str(o.get("value"))) for o in component.get("options") or []
            ],
            in_label=in_label,
            component_id=component.get("id"),
            container_id=container,
        )

    def field(self, key: str) -> ModalField:
        wanted = key.lower()
        for candidate in self.fields:
            names = {
                candidate.custom_id.lower(),
                candidate.label.lower(),
                _snake(candidate.label),
            }
            if wanted in names:
                return candidate
        shown = ", ".join(f"{f.custom_id} ({f.label})" for f in self.fields)
        raise UsageError(f"modal {self.title!r} has no field {key!r} (fields: {shown})")

    def __repr__(self) -> str:
        return f"<Modal {self.title!r} fields={[f.label for f in self.fields]}>"


def _snake(text: str) -> str:
    return "_".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


class Reply:
    """What the bot answered to one interaction: the callback plus followups and edits."""

    def __init__(self, sandbox: Sandbox, record: InteractionRecord) -> None:
        self._sandbox = sandbox
        self.interaction = record

    @property
    def responded(self) -> bool:
        return self.interaction.acknowledged

    @property
    def type(self) -> int | None:
        return self.interaction.response_type

    @property
    def deferred(self) -> bool:
        return self.interaction.response_type in (5, 6)

    @property
    def messages(self) -> list[Message]:
        world = self._sandbox.emulator.world
        return [
            Message(self._sandbox, world.messages[m])
            for m in self.interaction.message_ids()
            if m in world.messages and not world.messages[m].deleted
        ]

    @property
    def message(self) -> Message | None:
        """The message the interaction created or edited (the first one it touched)."""
        messages = self.messages
        return messages[0] if messages else None

    @property
    def content(self) -> str:
        return "\n".join(m.content for m in self.messages if m.content)

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return [e for m in self.messages for e in m.embeds]

    @property
    def text(self) -> str:
        return "\n".join(t for t in (m.text for m in self.messages) if t)

    @property
    def ephemeral(self) -> bool:
        messages = self.messages
        if messages:
            return all(m.ephemeral for m in messages)
        return self.interaction.deferred_ephemeral

    @property
    def files(self) -> list[tuple[str, bytes]]:
        return [f for m in self.messages for f in m.files]

    @property
    def modal(self) -> Modal | None:
        data = self.interaction.modal
        return Modal(data, self.interaction) if data is not None else None

    @property
    def choices(self) -> list[tuple[str, Any]]:
        return [(str(c.get("name")), c.get("value")) for c in self.interaction.choices or []]

    def __repr__(self) -> str:
        preview = self.text.replace("\n", " | ")[:100]
        flag = " ephemeral" if self.ephemeral else ""
        return f"<Reply type={self.type}{flag}: {preview!r}>"


@dataclass
class ExpectedErrors:
    """Problems collected inside ``with sandbox.expect_errors():`` instead of failing."""

    logs: list[logging.LogRecord] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    unanswered: list[InteractionRecord] = field(default_factory=list)

    @property
    def log_messages(self) -> list[str]:
        return [r.getMessage() for r in self.logs]

    def __bool__(self) -> bool:
        return bool(self.logs or self.requests or self.unanswered)
