"""Discord's message limits as plain data: embeds, fields and buttons described without discord,
packed into as many messages as it takes so nothing is ever refused with a 400.

The limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits):
title 256, description 4096, 25 fields of name 256 / value 1024, footer 2048, and 6000
characters over *all* embeds of one message, at most 10 embeds a message; message content 2000;
5 rows of 5 buttons; a button label 80.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from concord.core.text import ELLIPSIS, clip

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
MESSAGE_EMBED_CHARS = 6000
EMBEDS_PER_MESSAGE = 10
BUTTONS_PER_MESSAGE = 25
BUTTON_LABEL_MAX = 80


def first_lines(text: str, lines: int, limit: int) -> str:
    """The first non-empty ``lines`` lines of ``text``, within ``limit`` characters."""
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    head = "\n".join(kept[:lines])
    if len(kept) > lines:
        head += f"\n{ELLIPSIS}"
    return clip(head, limit)


def chunk_lines(lines: Iterable[str], limit: int, separator: str = "\n") -> list[str]:
    """Join ``lines`` into chunks of at most ``limit`` characters; a line longer than ``limit``
    is truncated, never split across chunks."""
    chunks: list[str] = []
    current = ""
    for raw in lines:
        line = clip(raw, limit)
        if not current:
            current = line
        elif len(current) + len(separator) + len(line) <= limit:
            current += separator + line
        else:
            chunks.append(current)
            current = line
    if current:
        chunks.append(current)
    return chunks


@dataclass(frozen=True)
class FieldSpec:
    name: str
    value: str
    inline: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", clip(self.name or "\u200b", FIELD_NAME_MAX))
        object.__setattr__(self, "value", clip(self.value or "\u200b", FIELD_VALUE_MAX))

    @property
    def size(self) -> int:
        return len(self.name) + len(self.value)


@dataclass(frozen=True)
class EmbedSpec:
    title: str | None = None
    description: str | None = None
    fields: tuple[FieldSpec, ...] = ()
    colour: int | None = None
    footer: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if self.title is not None:
            object.__setattr__(self, "title", clip(self.title, TITLE_MAX))
        if self.description is not None:
            object.__setattr__(self, "description", clip(self.description, DESCRIPTION_MAX))
        if self.footer is not None:
            object.__setattr__(self, "footer", clip(self.footer, FOOTER_MAX))
        if len(self.fields) > FIELDS_MAX:
            raise ValueError(f"an embed holds at most {FIELDS_MAX} fields")

    @property
    def size(self) -> int:
        """Characters counted against the 6000 per message."""
        return (
            len(self.title or "")
            + len(self.description or "")
            + len(self.footer or "")
            + sum(f.size for f in self.fields)
        )


@dataclass(frozen=True)
class ButtonSpec:
    custom_id: str
    label: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", clip(self.label, BUTTON_LABEL_MAX))
        if not 0 < len(self.custom_id) <= 100:
            raise ValueError("a custom_id is 1–100 characters")


@dataclass(frozen=True)
class MessageSpec:
    embeds: tuple[EmbedSpec, ...]
    content: str | None = None
    buttons: tuple[ButtonSpec, ...] = ()

    @property
    def size(self) -> int:
        return sum(e.size for e in self.embeds)


@dataclass(frozen=True)
class Item:
    """One field to place, with the button that belongs next to it (if any)."""

    field: FieldSpec
    button: ButtonSpec | None = None


@dataclass
class _Builder:
    title: str
    colour: int | None
    # Room kept free in every message for the page mark added after packing.
    reserve: int
    messages: list[MessageSpec] = field(default_factory=list)
    embeds: list[EmbedSpec] = field(default_factory=list)
    fields: list[FieldSpec] = field(default_factory=list)
    buttons: list[ButtonSpec] = field(default_factory=list)
    head_title: str | None = None
    head_description: str | None = None

    def message_size(self) -> int:
        return sum(e.size for e in self.embeds) + self._open_size() + self.reserve

    def _open_size(self) -> int:
        return (
            len(self.head_title or "")
            + len(self.head_description or "")
            + sum(f.size for f in self.fields)
        )

    def close_embed(self) -> None:
        if self.fields or self.head_title or self.head_description:
            self.embeds.append(
                EmbedSpec(
                    title=self.head_title,
                    description=self.head_description,
                    fields=tuple(self.fields),
                    colour=self.colour,
                )
            )
        self.fields = []
        self.head_title = None
        self.head_description = None

    def close_message(self) -> None:
        self.close_embed()
        if self.embeds:
            self.messages.append(
                MessageSpec(embeds=tuple(self.embeds), buttons=tuple(self.buttons))
            )
        self.embeds = []
        self.buttons = []
        self.head_title = self.title

    def add(self, item: Item) -> None:
        if len(self.fields) >= FIELDS_MAX:
            self.close_embed()
            if len(self.embeds) >= EMBEDS_PER_MESSAGE:
                self.close_message()
        too_big = self.message_size() + item.field.size > MESSAGE_EMBED_CHARS
        too_many_buttons = item.button is not None and len(self.buttons) >= BUTTONS_PER_MESSAGE
        if too_big or too_many_buttons:
            self.close_message()
        self.fields.append(item.field)
        if item.button is not None:
            self.buttons.append(item.button)


def pack(
    title: str,
    description: str | None,
    items: Sequence[Item],
    *,
    colour: int | None = None,
    continued: str = "continued",
) -> list[MessageSpec]:
    """Place ``items`` as fields in as few messages as Discord's limits allow.

    The first message opens with ``title`` and ``description``; each later one repeats the title
    marked as continued. When more than one message is needed every title gets a page counter.
    """
    reserve = len(f" — {continued} (999/999)")
    builder = _Builder(title=clip(title, TITLE_MAX - reserve), colour=colour, reserve=reserve)
    builder.head_title = builder.title
    builder.head_description = (
        clip(description, DESCRIPTION_MAX) if description is not None else None
    )
    for item in items:
        builder.add(item)
    builder.close_message()
    messages = builder.messages
    if len(messages) <= 1:
        return messages
    total = len(messages)
    numbered: list[MessageSpec] = []
    for number, message in enumerate(messages, start=1):
        first, *rest = message.embeds
        label = f"{builder.title} ({number}/{total})"
        if number > 1:
            label = f"{builder.title} — {continued} ({number}/{total})"
        label = clip(label, TITLE_MAX)
        numbered.append(replace(message, embeds=(replace(first, title=label), *rest)))
    return numbered


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at line ends where possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:].lstrip("\n")
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def pack_sections(
    head: EmbedSpec, sections: Sequence[tuple[str, str]], *, colour: int | None = None
) -> list[MessageSpec]:
    """A long document as embeds: ``head`` first, then one embed per section (long sections
    continue in further embeds), grouped into as few messages as the limits allow."""
    embeds = [head]
    for title, text in sections:
        for index, piece in enumerate(split_text(text, DESCRIPTION_MAX)):
            label = title if index == 0 else f"{title} (cont.)"
            embeds.append(EmbedSpec(title=label, description=piece or "\u200b", colour=colour))
    messages: list[MessageSpec] = []
    current: list[EmbedSpec] = []
    for embed in embeds:
        size = sum(e.size for e in current) + embed.size
        if current and (size > MESSAGE_EMBED_CHARS or len(current) >= EMBEDS_PER_MESSAGE):
            messages.append(MessageSpec(embeds=tuple(current)))
            current = []
        current.append(embed)
    messages.append(MessageSpec(embeds=tuple(current)))
    return messages
