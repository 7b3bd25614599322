"""Payload validation with Discord's documented limits.

The emulator must never accept what Discord would refuse, so every body the bot sends goes
through these checks first; problems are collected in a :class:`FormErrors` tree and answered
with 400 / 50035, the way Discord answers them. Limits are from Discord's developer
documentation (resources/message, resources/channel embed limits, interactions/message
components, interactions/receiving-and-responding).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from concord.sandbox.emulator.errors import EMPTY_MESSAGE, ApiError, FormErrors

CONTENT_LIMIT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_AUTHOR = 256
EMBED_TOTAL = 6000
CUSTOM_ID_LIMIT = 100
ACTION_ROWS = 5
BUTTONS_PER_ROW = 5
BUTTON_LABEL = 80
BUTTON_URL = 512
SELECT_OPTIONS = 25
SELECT_PLACEHOLDER = 150
SELECT_OPTION_TEXT = 100
V2_COMPONENTS = 40
V2_TEXT_TOTAL = 4000
MODAL_TITLE = 45
MODAL_COMPONENTS = 5
MODAL_LABEL = 45
LABEL_DESCRIPTION = 100
TEXT_INPUT_LENGTH = 4000
TEXT_INPUT_PLACEHOLDER = 100
AUTOCOMPLETE_CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100
ALLOWED_MENTION_IDS = 100

FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_COMPONENTS_V2 = 1 << 15
# Flags a bot may set when creating a message (channel message / interaction response).
CREATE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2
INTERACTION_FLAGS = CREATE_FLAGS | FLAG_EPHEMERAL
EDIT_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_COMPONENTS_V2
ANY_FLAGS = -1  # every bit accepted (and the unsupported ones ignored)

ACTION_ROW = 1
BUTTON = 2
STRING_SELECT = 3
TEXT_INPUT = 4
AUTO_SELECTS = (5, 6, 7, 8)  # user, role, mentionable, channel
SECTION = 9
TEXT_DISPLAY = 10
THUMBNAIL = 11
MEDIA_GALLERY = 12
FILE = 13
SEPARATOR = 14
CONTAINER = 17
LABEL = 18
FILE_UPLOAD = 19
SELECT_TYPES = (STRING_SELECT, *AUTO_SELECTS)
LINK_STYLE = 5
PREMIUM_STYLE = 6

Path = list[str | int]


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def check_text(
    errors: FormErrors,
    path: Path,
    value: Any,
    limit: int,
    *,
    required: bool = False,
    minimum: int = 0,
) -> int:
    """Check an optional/required string against Discord's length rules; returns its length."""
    if value is None:
        if required:
            errors.required(path)
        return 0
    if not _is_str(value):
        errors.bad_type(path, "string")
        return 0
    if len(value) > limit:
        if minimum:
            errors.length_between(path, minimum, limit)
        else:
            errors.max_length(path, limit)
    elif len(value) < minimum:
        errors.length_between(path, minimum, limit)
    return len(value)


def check_url(
    errors: FormErrors, path: Path, value: Any, *, required: bool = False, limit: int = 2048
) -> None:
    if value is None:
        if required:
            errors.required(path)
        return
    if not _is_str(value):
        errors.bad_type(path, "string")
        return
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https", "attachment") or not (
        parsed.netloc or parsed.scheme == "attachment"
    ):
        errors.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")
    elif len(value) > limit:
        errors.max_length(path, limit)


def check_int(
    errors: FormErrors,
    path: Path,
    value: Any,
    *,
    low: int,
    high: int,
    required: bool = False,
) -> None:
    if value is None:
        if required:
            errors.required(path)
        return
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
        return
    if value < low:
        errors.add(path, "NUMBER_TYPE_MIN", f"Int value should be greater than or equal to {low}.")
    elif value > high:
        errors.add(path, "NUMBER_TYPE_MAX", f"Int value should be less than or equal to {high}.")


# -- embeds -----------------------------------------------------------------------------------
def check_embed(errors: FormErrors, path: Path, embed: Any) -> int:
    """Validate one embed; returns the characters it counts toward the 6000 total."""
    if not isinstance(embed, dict):
        errors.bad_type(path, "dict")
        return 0
    total = check_text(errors, [*path, "title"], embed.get("title"), EMBED_TITLE)
    total += check_text(errors, [*path, "description"], embed.get("description"), EMBED_DESCRIPTION)
    check_url(errors, [*path, "url"], embed.get("url"))
    color = embed.get("color")
    if color is not None:
        check_int(errors, [*path, "color"], color, low=0, high=0xFFFFFF)
    timestamp = embed.get("timestamp")
    if timestamp is not None:
        try:
            datetime.fromisoformat(str(timestamp))
        except ValueError:
            errors.add([*path, "timestamp"], "DATE_TYPE_PARSE", "Could not parse timestamp.")
    footer = embed.get("footer")
    if footer is not None:
        total += check_text(
            errors, [*path, "footer", "text"], footer.get("text"), EMBED_FOOTER, required=True
        )
        check_url(errors, [*path, "footer", "icon_url"], footer.get("icon_url"))
    author = embed.get("author")
    if author is not None:
        total += check_text(
            errors, [*path, "author", "name"], author.get("name"), EMBED_AUTHOR, required=True
        )
        check_url(errors, [*path, "author", "url"], author.get("url"))
        check_url(errors, [*path, "author", "icon_url"], author.get("icon_url"))
    for key in ("image", "thumbnail"):
        media = embed.get(key)
        if media is not None:
            check_url(errors, [*path, key, "url"], media.get("url"), required=True)
    fields = embed.get("fields") or []
    if len(fields) > EMBED_FIELDS:
        errors.add(
            [*path, "fields"],
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {EMBED_FIELDS} or fewer in length.",
        )
    for index, field in enumerate(fields):
        field_path: Path = [*path, "fields", index]
        total += check_text(
            errors,
            [*field_path, "name"],
            field.get("name"),
            EMBED_FIELD_NAME,
            required=True,
            minimum=1,
        )
        total += check_text(
            errors,
            [*field_path, "value"],
            field.get("value"),
            EMBED_FIELD_VALUE,
            required=True,
            minimum=1,
        )
    return total


def check_embeds(errors: FormErrors, path: Path, embeds: Any) -> None:
    if embeds is None:
        return
    if not isinstance(embeds, list):
        errors.bad_type(path, "array")
        return
    if len(embeds) > EMBEDS_PER_MESSAGE:
        errors.max_length(path, EMBEDS_PER_MESSAGE)
    total = sum(check_embed(errors, [*path, index], embed) for index, embed in enumerate(embeds))
    if total > EMBED_TOTAL:
        errors.add(
            path, "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL}"
        )


# -- message components -----------------------------------------------------------------------
class ComponentWalk:
    """State shared while walking one message's components (ids must be unique)."""

    def __init__(self, errors: FormErrors) -> None:
        self.errors = errors
        self.custom_ids: set[str] = set()
        self.count = 0
        self.text_total = 0

    def custom_id(self, path: Path, value: Any, *, required: bool = True) -> None:
        check_text(self.errors, path, value, CUSTOM_ID_LIMIT, required=required, minimum=1)
        if _is_str(value):
            if value in self.custom_ids:
                self.errors.add(
                    path,
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                )
            self.custom_ids.add(value)


def check_button(walk: ComponentWalk, path: Path, button: dict[str, Any]) -> None:
    errors = walk.errors
    style = button.get("style")
    if style not in (1, 2, 3, 4, 5, 6):
        errors.add(
            [*path, "style"], "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4, 5, 6)."
        )
        return
    check_text(errors, [*path, "label"], button.get("label"), BUTTON_LABEL)
    if style == LINK_STYLE:
        check_url(errors, [*path, "url"], button.get("url"), required=True, limit=BUTTON_URL)
        if button.get("custom_id") is not None:
            errors.add(
                [*path, "custom_id"],
                "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                "A custom id cannot be specified for a link button",
            )
    elif style == PREMIUM_STYLE:
        if button.get("sku_id") is None:
            errors.required([*path, "sku_id"])
    else:
        walk.custom_id([*path, "custom_id"], button.get("custom_id"))
        if button.get("url") is not None:
            errors.add(
                [*path, "url"],
                "BUTTON_COMPONENT_URL_NOT_ALLOWED",
                "A url can only be specified for a link button",
            )
    if style != PREMIUM_STYLE and not button.get("label") and not button.get("emoji"):
        errors.add(
            path,
            "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED",
            "A label or emoji must be specified",
        )


def check_select(walk: ComponentWalk, path: Path, select: dict[str, Any]) -> None:
    errors = walk.errors
    walk.custom_id([*path, "custom_id"], select.get("custom_id"))
    check_text(errors, [*path, "placeholder"], select.get("placeholder"), SELECT_PLACEHOLDER)
    min_values = select.get("min_values", 1)
    max_values = select.get("max_values", 1)
    check_int(errors, [*path, "min_values"], min_values, low=0, high=SELECT_OPTIONS)
    check_int(errors, [*path, "max_values"], max_values, low=1, high=SELECT_OPTIONS)
    if isinstance(min_values, int) and isinstance(max_values, int) and min_values > max_values:
        errors.add(
            [*path, "min_values"],
            "SELECT_COMPONENT_MIN_VALUES_TOO_LARGE",
            "min_values must be less than or equal to max_values",
        )
    if select.get("type") != STRING_SELECT:
        return
    options = select.get("options")
    if not options:
        errors.required([*path, "options"])
        return
    if len(options) > SELECT_OPTIONS:
        errors.max_length([*path, "options"], SELECT_OPTIONS)
    if isinstance(min_values, int) and min_values > len(options):
        errors.add(
            [*path, "min_values"],
            "SELECT_COMPONENT_MIN_VALUES_TOO_LARGE",
            "min_values must be less than or equal to the number of options",
        )
    values: set[str] = set()
    for index, option in enumerate(options):
        option_path: Path = [*path, "options", index]
        check_text(
            errors,
            [*option_path, "label"],
            option.get("label"),
            SELECT_OPTION_TEXT,
            required=True,
            minimum=1,
        )
        check_text(
            errors,
            [*option_path, "value"],
            option.get("value"),
            SELECT_OPTION_TEXT,
            required=True,
            minimum=1,
        )
        check_text(
            errors, [*option_path, "description"], option.get("description"), SELECT_OPTION_TEXT
        )
        value = option.get("value")
        if _is_str(value):
            if value in values:
                errors.add(
                    [*option_path, "value"],
                    "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                    "Select component option values must be unique",
                )
            values.add(value)


def check_action_row(walk: ComponentWalk, path: Path, row: dict[str, Any]) -> None:
    errors = walk.errors
    children = row.get("components")
    if not children:
        errors.required([*path, "components"])
        return
    kinds = {child.get("type") for child in children}
    if kinds & set(SELECT_TYPES):
        if len(children) != 1:
            errors.add(
                [*path, "components"],
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
    elif len(children) > BUTTONS_PER_ROW:
        errors.max_length([*path, "components"], BUTTONS_PER_ROW)
    for index, child in enumerate(children):
        walk.count += 1
        child_path: Path = [*path, "components", index]
        kind = child.get("type")
        if kind == BUTTON:
            check_button(walk, child_path, child)
        elif kind in SELECT_TYPES:
            check_select(walk, child_path, child)
        else:
            errors.add(
                [*child_path, "type"],
                "UNION_TYPE_CHOICES",
                f'Value of field "type" must be one of ({BUTTON}, {STRING_SELECT}, 5, 6, 7, 8).',
            )


def _check_v2_component(walk: ComponentWalk, path: Path, component: dict[str, Any]) -> None:
    errors = walk.errors
    walk.count += 1
    kind = component.get("type")
    if kind == ACTION_ROW:
        check_action_row(walk, path, component)
    elif kind == TEXT_DISPLAY:
        walk.text_total += check_text(
            errors, [*path, "content"], component.get("content"), V2_TEXT_TOTAL, required=True
        )
    elif kind == SECTION:
        texts = component.get("components") or []
        if not 1 <= len(texts) <= 3:
            errors.length_between([*path, "components"], 1, 3)
        for index, text in enumerate(texts):
            _check_v2_component(walk, [*path, "components", index], text)
        accessory = component.get("accessory")
        if accessory is None:
            errors.required([*path, "accessory"])
        elif accessory.get("type") == BUTTON:
            walk.count += 1
            check_button(walk, [*path, "accessory"], accessory)
        elif accessory.get("type") == THUMBNAIL:
            walk.count += 1
        else:
            errors.add([*path, "accessory", "type"], "UNION_TYPE_CHOICES", "Invalid accessory")
    elif kind == CONTAINER:
        children = component.get("components") or []
        for index, child in enumerate(children):
            if child.get("type") not in (
                ACTION_ROW,
                TEXT_DISPLAY,
                SECTION,
                MEDIA_GALLERY,
                FILE,
                SEPARATOR,
            ):
                errors.add(
                    [*path, "components", index, "type"],
                    "UNION_TYPE_CHOICES",
                    "Component type not allowed in a container",
                )
                continue
            _check_v2_component(walk, [*path, "components", index], child)
    elif kind in (MEDIA_GALLERY, FILE, SEPARATOR, THUMBNAIL):
        if kind == MEDIA_GALLERY:
            items = component.get("items") or []
            if not 1 <= len(items) <= 10:
                errors.length_between([*path, "items"], 1, 10)
    else:
        errors.add([*path, "type"], "UNION_TYPE_CHOICES", "Invalid component type")


def check_component_ids(errors: FormErrors, path: Path, components: list[Any]) -> None:
    """``id`` is an optional 32-bit integer, unique within the message (0 means "none")."""
    seen: set[int] = set()
    for component in walk_components([c for c in components if isinstance(c, dict)]):
        value = component.get("id")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
            errors.add([*path], "NUMBER_TYPE_COERCE", f'Component id "{value}" is not int32.')
        elif value and value in seen:
            errors.add(
                [*path],
                "COMPONENT_ID_DUPLICATED",
                f"Component id {value} is used more than once in this message",
            )
        seen.add(value)


def number_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every component without an ``id`` (or with 0) the next free one, as Discord does
    when it stores a message or a modal ("generated sequentially if left empty")."""
    numbered = copy.deepcopy(components)
    taken = {c.get("id") for c in walk_components(numbered) if c.get("id")}
    counter = 0
    for component in walk_components(numbered):
        if component.get("id"):
            continue
        counter += 1
        while counter in taken:
            counter += 1
        component["id"] = counter
    return numbered


def check_components(errors: FormErrors, path: Path, components: Any, *, v2: bool) -> None:
    if components is None:
        return
    if not isinstance(components, list):
        errors.bad_type(path, "array")
        return
    check_component_ids(errors, path, components)
    walk = ComponentWalk(errors)
    if v2:
        for index, component in enumerate(components):
            _check_v2_component(walk, [*path, index], component)
        if walk.count > V2_COMPONENTS:
            errors.add(
                path,
                "COMPONENT_MAX_TOTAL_COMPONENTS_EXCEEDED",
                f"The maximum number of components ({V2_COMPONENTS}) was exceeded",
            )
        if walk.text_total > V2_TEXT_TOTAL:
            errors.add(
                path,
                "COMPONENT_MAX_TEXT_DISPLAY_LENGTH_EXCEEDED",
                f"Text display content must be {V2_TEXT_TOTAL} or fewer characters in total",
            )
        return
    if len(components) > ACTION_ROWS:
        errors.max_length(path, ACTION_ROWS)
    for index, row in enumerate(components):
        if row.get("type") != ACTION_ROW:
            errors.add(
                [*path, index, "type"],
                "UNION_TYPE_CHOICES",
                "Top-level components must be action rows unless the message uses components v2",
            )
            continue
        check_action_row(walk, [*path, index], row)


# -- whole messages ---------------------------------------------------------------------------
def check_allowed_mentions(errors: FormErrors, path: Path, value: Any) -> None:
    if value is None:
        return
    parse = value.get("parse") or []
    for index, item in enumerate(parse):
        if item not in ("users", "roles", "everyone"):
            errors.add(
                [*path, "parse", index],
                "BASE_TYPE_CHOICES",
                "Value must be one of ('roles', 'users', 'everyone').",
            )
    for key in ("users", "roles"):
        ids = value.get(key)
        if ids:
            if key in parse:
                errors.add(
                    [*path, "parse"],
                    "SET_TYPE_ALREADY_CONTAINS_VALUE",
                    f'parse:["{key}"] and {key}: [ids...] are mutually exclusive.',
                )
            if len(ids) > ALLOWED_MENTION_IDS:
                errors.max_length([*path, key], ALLOWED_MENTION_IDS)


def check_message(
    errors: FormErrors,
    path: Path,
    body: dict[str, Any],
    *,
    allowed_flags: int,
    existing_flags: int = 0,
) -> None:
    """A message create/edit body (channel message, interaction response, followup)."""
    flags = body.get("flags")
    if flags is not None:
        if isinstance(flags, bool) or not isinstance(flags, int):
            errors.bad_type([*path, "flags"], "integer")
            flags = 0
        elif flags & ~allowed_flags:
            errors.add(
                [*path, "flags"],
                "MESSAGE_FLAGS_INVALID",
                f"Flags {flags & ~allowed_flags} cannot be set on this message",
            )
    v2 = bool(((flags or 0) | existing_flags) & FLAG_COMPONENTS_V2)
    content = body.get("content")
    check_text(errors, [*path, "content"], content, CONTENT_LIMIT)
    check_embeds(errors, [*path, "embeds"], body.get("embeds"))
    check_components(errors, [*path, "components"], body.get("components"), v2=v2)
    check_allowed_mentions(errors, [*path, "allowed_mentions"], body.get("allowed_mentions"))
    if v2:
        if content:
            errors.add(
                [*path, "content"],
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'content' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
            )
        if body.get("embeds"):
            errors.add(
                [*path, "embeds"],
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'embeds' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
            )
    attachments = body.get("attachments")
    if attachments is not None:
        for index, attachment in enumerate(attachments):
            check_text(
                errors,
                [*path, "attachments", index, "description"],
                attachment.get("description"),
                1024,
            )


def check_not_empty(body: dict[str, Any], file_count: int) -> None:
    """A new message needs content, an embed, a component, a file, a sticker or a poll."""
    if not (
        str(body.get("content") or "").strip()
        or body.get("embeds")
        or body.get("components")
        or file_count
        or body.get("sticker_ids")
        or body.get("poll")
    ):
        raise ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")


# -- modals and autocomplete ------------------------------------------------------------------
def check_text_input(walk: ComponentWalk, path: Path, component: dict[str, Any]) -> None:
    """A text input inside a label (the only place the docs allow one)."""
    errors = walk.errors
    walk.custom_id([*path, "custom_id"], component.get("custom_id"))
    if component.get("style") not in (1, 2):
        errors.add([*path, "style"], "BASE_TYPE_CHOICES", "Value must be one of (1, 2).")
    if component.get("label") is not None:
        # discord.py 2.7 sends "label": null here, which Discord reads as no label.
        errors.add(
            [*path, "label"],
            "TEXT_INPUT_LABEL_NOT_ALLOWED",
            "A text input inside a label component cannot have its own label",
        )
    min_length = component.get("min_length")
    max_length = component.get("max_length")
    check_int(errors, [*path, "min_length"], min_length, low=0, high=TEXT_INPUT_LENGTH)
    check_int(errors, [*path, "max_length"], max_length, low=1, high=TEXT_INPUT_LENGTH)
    check_text(errors, [*path, "value"], component.get("value"), TEXT_INPUT_LENGTH)
    check_text(errors, [*path, "placeholder"], component.get("placeholder"), TEXT_INPUT_PLACEHOLDER)
    if (
        isinstance(min_length, int)
        and isinstance(max_length, int)
        and not isinstance(min_length, bool)
        and min_length > max_length
    ):
        errors.add(
            [*path, "min_length"],
            "TEXT_INPUT_MIN_LENGTH_TOO_LARGE",
            "min_length must be less than or equal to max_length",
        )


def check_modal(errors: FormErrors, path: Path, data: Any) -> None:
    if not isinstance(data, dict):
        errors.required(path)
        return
    walk = ComponentWalk(errors)
    check_text(errors, [*path, "title"], data.get("title"), MODAL_TITLE, required=True, minimum=1)
    walk.custom_id([*path, "custom_id"], data.get("custom_id"))
    components = data.get("components") or []
    check_component_ids(errors, [*path, "components"], components)
    if not 1 <= len(components) <= MODAL_COMPONENTS:
        errors.length_between([*path, "components"], 1, MODAL_COMPONENTS)
    for index, component in enumerate(components):
        component_path: Path = [*path, "components", index]
        kind = component.get("type")
        if kind == ACTION_ROW:
            # Current docs: a text input "must be placed inside a Label"; an action row holds
            # only buttons and selects, and "Action Row with Text Inputs in modals are now
            # deprecated". Discord still takes the old form today; a bot built on it breaks
            # when Discord drops it, so the emulator refuses it.
            errors.add(
                [*component_path, "type"],
                "MODAL_ACTION_ROW_DEPRECATED",
                "Put modal fields in a Label component (type 18): text inputs in action rows "
                "are deprecated",
            )
        elif kind == LABEL:
            check_text(
                errors,
                [*component_path, "label"],
                component.get("label"),
                MODAL_LABEL,
                required=True,
                minimum=1,
            )
            check_text(
                errors,
                [*component_path, "description"],
                component.get("description"),
                LABEL_DESCRIPTION,
            )
            inner = component.get("component")
            inner_path: Path = [*component_path, "component"]
            if not isinstance(inner, dict):
                errors.required(inner_path)
            elif inner.get("type") == TEXT_INPUT:
                check_text_input(walk, inner_path, inner)
            elif inner.get("type") in SELECT_TYPES:
                check_select(walk, inner_path, inner)
                if inner.get("disabled"):
                    # "Using disabled in a modal will result in an error."
                    errors.add(
                        [*inner_path, "disabled"],
                        "COMPONENT_DISABLED_NOT_ALLOWED",
                        "Modals can not have disabled components",
                    )
            elif inner.get("type") == FILE_UPLOAD:
                walk.custom_id([*inner_path, "custom_id"], inner.get("custom_id"))
            else:
                errors.add(
                    [*inner_path, "type"],
                    "UNION_TYPE_CHOICES",
                    "A label holds a text input, a select menu or a file upload",
                )
        elif kind == TEXT_DISPLAY:
            check_text(
                errors,
                [*component_path, "content"],
                component.get("content"),
                V2_TEXT_TOTAL,
                required=True,
            )
        else:
            errors.add(
                [*component_path, "type"],
                "UNION_TYPE_CHOICES",
                "Modal components must be action rows, labels or text displays",
            )


def check_choices(
    errors: FormErrors, path: Path, data: Any, option_type: int | None = None
) -> None:
    """Autocomplete choices: at most 25, names and string values 1-100 characters, values of
    the focused option's type (3 string, 4 integer, 10 number)."""
    choices = (data or {}).get("choices")
    if choices is None:
        errors.required([*path, "choices"])
        return
    if len(choices) > AUTOCOMPLETE_CHOICES:
        errors.max_length([*path, "choices"], AUTOCOMPLETE_CHOICES)
    for index, choice in enumerate(choices):
        choice_path: Path = [*path, "choices", index]
        check_text(
            errors,
            [*choice_path, "name"],
            choice.get("name"),
            CHOICE_NAME,
            required=True,
            minimum=1,
        )
        value = choice.get("value")
        if value is None:
            errors.required([*choice_path, "value"])
        elif option_type == 3 and not _is_str(value):
            errors.bad_type([*choice_path, "value"], "string")
        elif option_type in (4, 10) and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (option_type == 4 and not isinstance(value, int))
        ):
            errors.bad_type([*choice_path, "value"], "integer" if option_type == 4 else "number")
        elif _is_str(value):
            check_text(errors, [*choice_path, "value"], value, CHOICE_VALUE)


def walk_components(components: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every component in a tree (rows, containers, sections, labels), depth first."""
    found: list[dict[str, Any]] = []
    for component in components:
        found.append(component)
        children = component.get("components")
        if isinstance(children, list):
            found.extend(walk_components(children))
        for key in ("accessory", "component"):
            inner = component.get(key)
            if isinstance(inner, dict):
                found.extend(walk_components([inner]))
    return found
