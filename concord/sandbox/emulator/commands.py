"""Application commands: validation of definitions as Discord does it, and the stored registry.

A bulk overwrite (``PUT .../commands``) replaces the whole set for a scope (global, or one
guild); a command keeps its id when its name and type are unchanged and gets a new ``version``
whenever its definition changes, like Discord.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from concord.sandbox.emulator.errors import FormErrors
from concord.sandbox.emulator.validation import Path, check_text

CHAT_INPUT = 1
USER = 2
MESSAGE = 3
PRIMARY_ENTRY_POINT = 4

SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING = 3
INTEGER = 4
BOOLEAN = 5
USER_OPTION = 6
CHANNEL = 7
ROLE = 8
MENTIONABLE = 9
NUMBER = 10
ATTACHMENT = 11
VALUE_TYPES = (
    STRING,
    INTEGER,
    BOOLEAN,
    USER_OPTION,
    CHANNEL,
    ROLE,
    MENTIONABLE,
    NUMBER,
    ATTACHMENT,
)

NAME_LIMIT = 32
DESCRIPTION_LIMIT = 100
OPTIONS_LIMIT = 25
CHOICES_LIMIT = 25
# Combined characters of names, descriptions and choice values of one command: "a maximum of
# 8000 characters" (interactions/application-commands; older docs said 4000).
COMBINED_LIMIT = 8000
CHAT_INPUT_COMMANDS = 100
CONTEXT_MENU_COMMANDS = 15  # per type (user, message)
MAX_SAFE_NUMBER = 2**53


def valid_chat_name(name: str) -> bool:
    """Discord: ``^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``, lower case where it exists."""
    if not 1 <= len(name) <= NAME_LIMIT:
        return False
    return all((ch.isalnum() or ch in "-_'") and ch == ch.lower() for ch in name)


def _check_name(errors: FormErrors, path: Path, name: Any, *, chat: bool) -> None:
    if not isinstance(name, str):
        errors.required(path)
        return
    if chat:
        if not valid_chat_name(name):
            errors.add(
                path,
                "APPLICATION_COMMAND_INVALID_NAME",
                "Command name is invalid",
            )
    else:
        check_text(errors, path, name, NAME_LIMIT, required=True, minimum=1)


def _check_choices(errors: FormErrors, path: Path, option: dict[str, Any]) -> int:
    choices = option.get("choices")
    if choices is None:
        return 0
    total = 0
    kind = option.get("type")
    if kind not in (STRING, INTEGER, NUMBER):
        errors.add(
            [*path, "choices"],
            "APPLICATION_COMMAND_OPTION_CHOICES_NOT_ALLOWED",
            "Choices are only allowed on string, integer and number options",
        )
    if option.get("autocomplete"):
        errors.add(
            [*path, "autocomplete"],
            "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_WITH_CHOICES",
            "Autocomplete cannot be enabled on an option that has choices",
        )
    if len(choices) > CHOICES_LIMIT:
        errors.max_length([*path, "choices"], CHOICES_LIMIT)
    for index, choice in enumerate(choices):
        choice_path: Path = [*path, "choices", index]
        total += check_text(
            errors, [*choice_path, "name"], choice.get("name"), 100, required=True, minimum=1
        )
        value = choice.get("value")
        if kind == STRING:
            total += check_text(errors, [*choice_path, "value"], value, 100, required=True)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            errors.bad_type([*choice_path, "value"], "number")
        elif kind == INTEGER and not isinstance(value, int):
            errors.bad_type([*choice_path, "value"], "integer")
        else:
            total += len(str(value))
    return total


def _check_option(errors: FormErrors, path: Path, option: dict[str, Any], depth: int) -> int:
    """Validate one option (recursing into subcommands); returns its combined characters."""
    kind = option.get("type")
    if kind not in (SUB_COMMAND, SUB_COMMAND_GROUP, *VALUE_TYPES):
        errors.add([*path, "type"], "BASE_TYPE_CHOICES", "Value must be a valid option type.")
        return 0
    name = option.get("name")
    _check_name(errors, [*path, "name"], name, chat=True)
    total = len(name) if isinstance(name, str) else 0
    total += check_text(
        errors,
        [*path, "description"],
        option.get("description"),
        DESCRIPTION_LIMIT,
        required=True,
        minimum=1,
    )
    if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
        allowed_depth = 1 if kind == SUB_COMMAND_GROUP else 2
        if depth > allowed_depth:
            errors.add(
                path,
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Subcommands and groups cannot be nested this deep",
            )
        children = option.get("options") or []
        if kind == SUB_COMMAND_GROUP and any(c.get("type") != SUB_COMMAND for c in children):
            errors.add(
                [*path, "options"],
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "A subcommand group may only contain subcommands",
            )
        total += _check_options(errors, [*path, "options"], children, depth + 1)
        return total
    if option.get("options"):
        errors.add(
            [*path, "options"],
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Only subcommands and groups can have options",
        )
    total += _check_choices(errors, path, option)
    if kind == STRING:
        for key, low, high in (("min_length", 0, 6000), ("max_length", 1, 6000)):
            value = option.get(key)
            if value is not None and not (isinstance(value, int) and low <= value <= high):
                errors.add([*path, key], "NUMBER_TYPE_MAX", f"Must be between {low} and {high}.")
    if kind in (INTEGER, NUMBER):
        for key in ("min_value", "max_value"):
            value = option.get(key)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or abs(value) > MAX_SAFE_NUMBER
            ):
                errors.add([*path, key], "NUMBER_TYPE_COERCE", "Must be a number within range.")
    return total


def _check_options(errors: FormErrors, path: Path, options: Any, depth: int) -> int:
    if not isinstance(options, list):
        errors.bad_type(path, "array")
        return 0
    if len(options) > OPTIONS_LIMIT:
        errors.max_length(path, OPTIONS_LIMIT)
    names: set[str] = set()
    seen_optional = False
    kinds = {o.get("type") for o in options}
    if kinds & {SUB_COMMAND, SUB_COMMAND_GROUP} and kinds - {SUB_COMMAND, SUB_COMMAND_GROUP}:
        errors.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Subcommands cannot be mixed with other option types",
        )
    total = 0
    for index, option in enumerate(options):
        option_path: Path = [*path, index]
        name = option.get("name")
        if name in names:
            errors.add(
                [*option_path, "name"],
                "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        names.add(name)
        if option.get("type") in VALUE_TYPES:
            if option.get("required"):
                if seen_optional:
                    errors.add(
                        [*option_path, "required"],
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                seen_optional = True
        total += _check_option(errors, option_path, option, depth)
    return total


def check_command(errors: FormErrors, path: Path, command: Any) -> None:
    if not isinstance(command, dict):
        errors.bad_type(path, "object")
        return
    kind = command.get("type", CHAT_INPUT)
    if kind not in (CHAT_INPUT, USER, MESSAGE):
        errors.add([*path, "type"], "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3).")
        return
    chat = kind == CHAT_INPUT
    name = command.get("name")
    _check_name(errors, [*path, "name"], name, chat=chat)
    total = len(name) if isinstance(name, str) else 0
    description = command.get("description")
    if chat:
        total += check_text(
            errors,
            [*path, "description"],
            description,
            DESCRIPTION_LIMIT,
            required=True,
            minimum=1,
        )
        total += _check_options(errors, [*path, "options"], command.get("options") or [], 1)
    else:
        if description:
            errors.add(
                [*path, "description"],
                "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                "Context menu commands cannot have a description",
            )
        if command.get("options"):
            errors.add(
                [*path, "options"],
                "APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS",
                "Context menu commands cannot have options",
            )
    if total > COMBINED_LIMIT:
        errors.add(
            path,
            "APPLICATION_COMMAND_TOO_LARGE",
            f"Command exceeds maximum size ({COMBINED_LIMIT})",
        )


def check_command_set(errors: FormErrors, commands: Any) -> None:
    if not isinstance(commands, list):
        errors.bad_type([], "array")
        return
    seen: set[tuple[int, str]] = set()
    counts = {CHAT_INPUT: 0, USER: 0, MESSAGE: 0}
    for index, command in enumerate(commands):
        check_command(errors, [index], command)
        if not isinstance(command, dict):
            continue
        kind = command.get("type", CHAT_INPUT)
        key = (kind, str(command.get("name")))
        if key in seen:
            errors.add(
                [index, "name"],
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {key[1]}",
            )
        seen.add(key)
        if kind in counts:
            counts[kind] += 1
    if counts[CHAT_INPUT] > CHAT_INPUT_COMMANDS:
        errors.add([], "BASE_TYPE_MAX_LENGTH", f"Must be {CHAT_INPUT_COMMANDS} or fewer in length.")
    for kind in (USER, MESSAGE):
        if counts[kind] > CONTEXT_MENU_COMMANDS:
            errors.add(
                [],
                "APPLICATION_COMMAND_LIMIT_EXCEEDED",
                f"Maximum number of type {kind} commands reached ({CONTEXT_MENU_COMMANDS})",
            )


# Definition keys Discord stores and returns (localizations are kept as sent).
STORED_KEYS = (
    "name",
    "name_localizations",
    "description",
    "description_localizations",
    "options",
    "default_member_permissions",
    "dm_permission",
    "nsfw",
    "integration_types",
    "contexts",
    "type",
)


def _definition(body: dict[str, Any]) -> dict[str, Any]:
    stored = {key: copy.deepcopy(body[key]) for key in STORED_KEYS if key in body}
    stored.setdefault("type", CHAT_INPUT)
    stored.setdefault("description", "")
    stored.setdefault("options", [])
    stored.setdefault("nsfw", False)
    if stored.get("default_member_permissions") is not None:
        stored["default_member_permissions"] = str(stored["default_member_permissions"])
    else:
        stored["default_member_permissions"] = None
    return stored


@dataclass
class StoredCommand:
    id: int
    application_id: int
    guild_id: int | None
    version: int
    definition: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.definition["name"])

    @property
    def type(self) -> int:
        return int(self.definition.get("type", CHAT_INPUT))

    def payload(self) -> dict[str, Any]:
        data = copy.deepcopy(self.definition)
        data["id"] = str(self.id)
        data["application_id"] = str(self.application_id)
        data["version"] = str(self.version)
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if "dm_permission" not in data and self.guild_id is None:
            data["dm_permission"] = True
        return data


@dataclass
class CommandRegistry:
    """Commands per scope: ``None`` is global, an int is a guild."""

    application_id: int
    next_id: Callable[[], int]
    scopes: dict[int | None, list[StoredCommand]] = field(default_factory=dict)
    overwrite_count: int = 0

    def list(self, guild_id: int | None) -> list[StoredCommand]:
        return list(self.scopes.get(guild_id, []))

    def overwrite(self, guild_id: int | None, bodies: list[dict[str, Any]]) -> list[StoredCommand]:
        errors = FormErrors()
        check_command_set(errors, bodies)
        errors.raise_if_any()
        old = {(c.type, c.name): c for c in self.scopes.get(guild_id, [])}
        stored: list[StoredCommand] = []
        for body in bodies:
            definition = _definition(body)
            key = (int(definition["type"]), str(definition["name"]))
            previous = old.get(key)
            if previous is not None and _same(previous.definition, definition):
                stored.append(previous)
                continue
            command_id = previous.id if previous is not None else self.next_id()
            stored.append(
                StoredCommand(command_id, self.application_id, guild_id, self.next_id(), definition)
            )
        self.scopes[guild_id] = stored
        self.overwrite_count += 1
        return stored

    def upsert(self, guild_id: int | None, body: dict[str, Any]) -> tuple[StoredCommand, bool]:
        """Create one command (replacing one with the same name and type); True if new."""
        errors = FormErrors()
        check_command(errors, [], body)
        errors.raise_if_any()
        definition = _definition(body)
        commands = self.scopes.setdefault(guild_id, [])
        for index, existing in enumerate(commands):
            if (existing.type, existing.name) == (definition["type"], definition["name"]):
                replaced = StoredCommand(
                    existing.id, self.application_id, guild_id, self.next_id(), definition
                )
                commands[index] = replaced
                return replaced, False
        created = StoredCommand(
            self.next_id(), self.application_id, guild_id, self.next_id(), definition
        )
        commands.append(created)
        return created, True

    def get(self, guild_id: int | None, command_id: int) -> StoredCommand | None:
        return next((c for c in self.scopes.get(guild_id, []) if c.id == command_id), None)

    def delete(self, guild_id: int | None, command_id: int) -> bool:
        commands = self.scopes.get(guild_id, [])
        remaining = [c for c in commands if c.id != command_id]
        self.scopes[guild_id] = remaining
        return len(remaining) != len(commands)

    def edit(self, guild_id: int | None, command_id: int, changes: dict[str, Any]) -> StoredCommand:
        existing = self.get(guild_id, command_id)
        if existing is None:
            raise KeyError(command_id)
        merged = {**existing.definition, **changes}
        errors = FormErrors()
        check_command(errors, [], merged)
        errors.raise_if_any()
        replaced = StoredCommand(
            existing.id, self.application_id, guild_id, self.next_id(), _definition(merged)
        )
        commands = self.scopes[guild_id]
        commands[commands.index(existing)] = replaced
        return replaced

    def visible_in(self, guild_id: int | None) -> list[StoredCommand]:
        """What a member sees in a guild (guild commands shadow global ones of the same name)."""
        guild = self.scopes.get(guild_id, []) if guild_id is not None else []
        names = {(c.type, c.name) for c in guild}
        global_ = [c for c in self.scopes.get(None, []) if (c.type, c.name) not in names]
        return [*guild, *global_]


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
