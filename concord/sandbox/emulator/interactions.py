"""Interactions: the INTERACTION_CREATE payloads, and the rules Discord applies to answers.

One :class:`InteractionRecord` per interaction tracks its lifecycle: the callback (exactly one,
within 3 seconds), then followups and edits of ``@original`` through the interaction token for
15 minutes. The first followup after a deferred "thinking" response resolves that loading
message instead of creating a new one, and inherits its ephemerality (Discord's documented
backwards-compatible behaviour).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any

from concord.sandbox.emulator.errors import (
    ALREADY_ACKNOWLEDGED,
    INVALID_WEBHOOK_TOKEN,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    ApiError,
    FormErrors,
)

PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

PONG = 1
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

RESPONSE_DEADLINE = 3.0  # seconds to send the initial response
TOKEN_LIFETIME = 15 * 60.0  # seconds the interaction token accepts followups and edits
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

ALLOWED_RESPONSES: dict[int, tuple[int, ...]] = {
    APPLICATION_COMMAND: (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL),
    MESSAGE_COMPONENT: (
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
        MODAL,
    ),
    AUTOCOMPLETE: (AUTOCOMPLETE_RESULT,),
    # The docs allow DEFERRED_UPDATE_MESSAGE and UPDATE_MESSAGE "only for component-based
    # interactions" and MODAL "not for MODAL_SUBMIT". Discord itself also takes an update for a
    # modal opened from a button, but that is undocumented, so a bot must not rely on it.
    MODAL_SUBMIT: (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE),
}


@dataclass
class InteractionRecord:
    """What the emulator knows about one interaction and everything answered to it."""

    id: int
    token: str
    type: int
    user_id: int
    guild_id: int | None
    channel_id: int
    created: float  # emulator monotonic seconds: when INTERACTION_CREATE was sent
    payload: dict[str, Any]
    source_message_id: int | None = None  # the message whose component was used
    response_type: int | None = None
    response_data: dict[str, Any] | None = None
    original_message_id: int | None = None
    loading: bool = False
    deferred_ephemeral: bool = False
    followup_ids: list[int] = field(default_factory=list)
    edited_ids: list[int] = field(default_factory=list)
    deleted_ids: list[int] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None
    rejected: list[ApiError] = field(default_factory=list)
    responded: asyncio.Event = field(default_factory=asyncio.Event)
    responded_at: float | None = None  # emulator monotonic seconds: when the callback arrived

    @property
    def acknowledged(self) -> bool:
        return self.response_type is not None

    def message_ids(self) -> list[int]:
        """Messages this interaction produced or touched, in order, without repeats."""
        ids: list[int] = []
        if self.original_message_id is not None:
            ids.append(self.original_message_id)
        for message_id in [*self.followup_ids, *self.edited_ids]:
            if message_id not in ids:
                ids.append(message_id)
        return ids


def new_token() -> str:
    return "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)


def check_response_type(record: InteractionRecord, response_type: Any) -> None:
    allowed = list(ALLOWED_RESPONSES.get(record.type, ()))
    if response_type not in allowed:
        errors = FormErrors()
        errors.add(
            ["type"],
            "INTERACTION_RESPONSE_TYPE_INVALID",
            f"Interaction response type {response_type} is not valid for an interaction of "
            f"type {record.type}; expected one of {tuple(allowed)}",
        )
        errors.raise_if_any()


def focused_option_type(record: InteractionRecord) -> int | None:
    """The type of the option an autocomplete interaction is for (the ``focused`` one)."""
    options = (record.payload.get("data") or {}).get("options") or []
    while options:
        focused = next((o for o in options if o.get("focused")), None)
        if focused is not None:
            return focused.get("type")
        options = next((o.get("options") or [] for o in options if o.get("type") in (1, 2)), [])
    return None


def check_can_respond(record: InteractionRecord | None, now: float) -> InteractionRecord:
    if record is None:
        raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction")
    if record.acknowledged:
        raise ApiError(400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
    if now - record.created > RESPONSE_DEADLINE:
        raise ApiError(404, UNKNOWN_INTERACTION, "Unknown interaction")
    return record


def check_token_usable(record: InteractionRecord | None, now: float) -> InteractionRecord:
    """Followups and ``@original`` edits: a live token, and only after the initial response."""
    if record is None or now - record.created > TOKEN_LIFETIME:
        raise ApiError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
    if not record.acknowledged:
        raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
    return record


def original_message_id(record: InteractionRecord) -> int:
    """The message ``@original`` means for this interaction."""
    created = record.response_type in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE)
    updated = record.response_type in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE)
    if created and record.original_message_id is not None:
        return record.original_message_id
    if updated and record.source_message_id is not None:
        return record.source_message_id
    raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")


def callback_body(
    record: InteractionRecord, message: dict[str, Any] | None, ephemeral: bool
) -> dict[str, Any]:
    """The interaction callback response (``?with_response=true``)."""
    interaction: dict[str, Any] = {"id": str(record.id), "type": record.type}
    answered = record.response_type in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, UPDATE_MESSAGE)
    if answered and message is not None:
        interaction["response_message_id"] = message["id"]
        interaction["response_message_loading"] = record.response_type == DEFERRED_CHANNEL_MESSAGE
        interaction["response_message_ephemeral"] = ephemeral
    resource: dict[str, Any] = {"type": record.response_type}
    if message is not None and record.response_type in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
        # "message: only present if type is either CHANNEL_MESSAGE_WITH_SOURCE or
        # UPDATE_MESSAGE" (a deferral only reports the loading message's id above).
        resource["message"] = message
    return {"interaction": interaction, "resource": resource}
