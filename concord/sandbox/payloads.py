"""Interaction data as the Discord client builds it: slash command options checked against the
synced definitions (names for members, channels and roles, with ``resolved``), select menu
values, modal submissions and context menu targets."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from concord.sandbox.emulator import Emulator
from concord.sandbox.emulator import commands as cmd
from concord.sandbox.emulator.world import ADMINISTRATOR, DM, Channel, Role, User
from concord.sandbox.errors import UsageError
from concord.sandbox.office import Actor, ChannelRef, Office
from concord.sandbox.views import Modal, ModalField


class Payloads:
    def __init__(self, emulator: Emulator, office: Office) -> None:
        self.emulator = emulator
        self.office = office

    def visible_commands(self, user: User, channel: Channel) -> list[cmd.StoredCommand]:
        registry = self.emulator.commands
        if channel.type == DM:
            found = [
                c
                for c in registry.list(None)
                if (
                    c.definition.get("contexts") is None
                    and c.definition.get("dm_permission") is not False
                )
                or 1 in (c.definition.get("contexts") or [])
            ]
        else:
            found = [
                c
                for c in registry.visible_in(channel.guild_id)
                if c.definition.get("contexts") is None or 0 in c.definition["contexts"]
            ]
            permissions = self.office.guild.channel_permissions(user.id, channel.id)
            found = [c for c in found if _permitted(c, permissions)]
        return found

    def find_command(self, user: User, channel: Channel, name: str, kind: int) -> cmd.StoredCommand:
        visible = [c for c in self.visible_commands(user, channel) if c.type == kind]
        for command in visible:
            if command.name == name:
                return command
        shown = ", ".join(sorted(c.name for c in visible)) or "none"
        where = self.office.channel_label(channel.id)
        raise UsageError(f"{user.username} has no command {name!r} in {where} (synced: {shown})")

    def command_options(
        self, member: Actor, path: str, *, channel: ChannelRef | None = None
    ) -> list[dict[str, Any]]:
        """The option definitions of ``/path`` as synced (for the console's parsing)."""
        user = self.office.member(member)
        return self.resolve_command(user, self.office.where(user, channel), path)[2]

    def slash_commands(
        self, member: Actor, *, channel: ChannelRef | None = None
    ) -> list[cmd.StoredCommand]:
        user = self.office.member(member)
        commands = self.visible_commands(user, self.office.where(user, channel))
        return [c for c in commands if c.type == cmd.CHAT_INPUT]

    def resolve_command(
        self, user: User, channel: Channel, path: str
    ) -> tuple[cmd.StoredCommand, list[dict[str, Any]], list[dict[str, Any]]]:
        """(command, subcommand chain, leaf option definitions) for ``/a b c``."""
        parts = path.strip().lstrip("/").split()
        if not parts:
            raise UsageError("empty command")
        command = self.find_command(user, channel, parts[0], cmd.CHAT_INPUT)
        definitions: list[dict[str, Any]] = command.definition.get("options") or []
        chain: list[dict[str, Any]] = []
        for part in parts[1:]:
            nested = next(
                (
                    o
                    for o in definitions
                    if o.get("name") == part
                    and o.get("type") in (cmd.SUB_COMMAND, cmd.SUB_COMMAND_GROUP)
                ),
                None,
            )
            if nested is None:
                subs = [o["name"] for o in definitions if o.get("type") in (1, 2)]
                raise UsageError(f"/{' '.join(parts)}: no subcommand {part!r} (has: {subs})")
            chain.append(nested)
            definitions = nested.get("options") or []
        if any(o.get("type") in (cmd.SUB_COMMAND, cmd.SUB_COMMAND_GROUP) for o in definitions):
            subs = [o["name"] for o in definitions]
            raise UsageError(f"/{' '.join(parts)} needs a subcommand: {subs}")
        return command, chain, definitions

    def command_data(
        self,
        user: User,
        channel: Channel,
        path: str,
        given: dict[str, Any],
        *,
        focused: str | None,
    ) -> dict[str, Any]:
        command, chain, definitions = self.resolve_command(user, channel, path)
        resolved: dict[str, Any] = {}
        values = self._option_values(path, definitions, given, channel, resolved, focused)
        for nested in reversed(chain):
            values = [{"type": nested["type"], "name": nested["name"], "options": values}]
        data: dict[str, Any] = {
            "id": str(command.id),
            "name": command.name,
            "type": cmd.CHAT_INPUT,
            "options": values,
        }
        if resolved:
            data["resolved"] = resolved
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        return data

    def _option_values(
        self,
        path: str,
        definitions: list[dict[str, Any]],
        given: dict[str, Any],
        channel: Channel,
        resolved: dict[str, Any],
        focused: str | None,
    ) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in definitions}
        by_key = {**{n.replace("-", "_"): o for n, o in by_name.items()}, **by_name}
        options: list[dict[str, Any]] = []
        used: set[str] = set()
        for key, value in given.items():
            definition = by_key.get(key)
            if definition is None:
                raise UsageError(f"/{path} has no option {key!r} (options: {sorted(by_name)})")
            name = definition["name"]
            used.add(name)
            if value is None:
                continue
            if name == focused or (focused is not None and focused.replace("-", "_") == key):
                options.append(
                    {"type": definition["type"], "name": name, "value": str(value), "focused": True}
                )
                continue
            options.append(
                {
                    "type": definition["type"],
                    "name": name,
                    "value": self._option_value(path, definition, value, channel, resolved),
                }
            )
        missing = [o["name"] for o in definitions if o.get("required") and o["name"] not in used]
        if missing and focused is None:
            raise UsageError(f"/{path} is missing required option(s): {', '.join(missing)}")
        return options

    def _option_value(
        self,
        path: str,
        definition: dict[str, Any],
        value: Any,
        channel: Channel,
        resolved: dict[str, Any],
    ) -> Any:
        kind = definition["type"]
        name = definition["name"]
        where = f"/{path} {name}"
        if kind in (cmd.STRING, cmd.INTEGER, cmd.NUMBER):
            value = self._choice_value(where, definition, value)
        if kind == cmd.STRING:
            text = str(value)
            low, high = definition.get("min_length"), definition.get("max_length")
            if (
                (low is not None and len(text) < low)
                or (high is not None and len(text) > high)
                or len(text) > 6000
            ):
                raise UsageError(
                    f"{where}: Discord only accepts {low or 0}-{high or 6000} characters"
                )
            return text
        if kind in (cmd.INTEGER, cmd.NUMBER):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (kind == cmd.INTEGER and not float(value).is_integer())
            ):
                raise UsageError(f"{where}: Discord only sends a number here, not {value!r}")
            number = int(value) if kind == cmd.INTEGER else float(value)
            low, high = definition.get("min_value"), definition.get("max_value")
            if (low is not None and number < low) or (high is not None and number > high):
                raise UsageError(f"{where}: Discord only accepts values from {low} to {high}")
            return number
        if kind == cmd.BOOLEAN:
            if not isinstance(value, bool):
                raise UsageError(f"{where}: expects True or False")
            return value
        if kind == cmd.USER_OPTION:
            user = self.office.member(value)
            _merge(resolved, self.resolve_users([user], channel))
            return str(user.id)
        if kind == cmd.ROLE:
            role = self.office.role(value)
            _merge(resolved, {"roles": {str(role.id): role.payload()}})
            return str(role.id)
        if kind == cmd.CHANNEL:
            target = self.office.channel(value)
            allowed = definition.get("channel_types")
            if allowed and target.type not in allowed:
                raise UsageError(f"{where}: #{target.name} is not an allowed channel type")
            data = target.payload()
            data["permissions"] = str(
                self.office.guild.channel_permissions(self.emulator.bot_user.id, target.id)
            )
            _merge(resolved, {"channels": {str(target.id): data}})
            return str(target.id)
        if kind == cmd.MENTIONABLE:
            try:
                role = self.office.role(value)
            except UsageError:
                user = self.office.member(value)
                _merge(resolved, self.resolve_users([user], channel))
                return str(user.id)
            _merge(resolved, {"roles": {str(role.id): role.payload()}})
            return str(role.id)
        if kind == cmd.ATTACHMENT:
            if not (isinstance(value, tuple) and len(value) == 2):
                raise UsageError(f"{where}: pass a (filename, bytes) pair")
            filename, content = value
            upload = self.emulator.upload(str(filename), bytes(content))
            data = upload.payload(self.emulator.base_url, channel.id)
            data["ephemeral"] = True
            _merge(resolved, {"attachments": {str(upload.id): data}})
            return str(upload.id)
        raise UsageError(f"{where}: unsupported option type {kind}")

    @staticmethod
    def _choice_value(where: str, definition: dict[str, Any], value: Any) -> Any:
        choices = definition.get("choices")
        if not choices:
            return value
        for choice in choices:
            if choice.get("value") == value:
                return value
        # Then by name or value, whatever the case (`format:CSV`, `status:done`).
        for choice in choices:
            for key in ("name", "value"):
                if str(choice.get(key)).lower() == str(value).lower():
                    return choice.get("value")
        names = [c.get("name") for c in choices]
        raise UsageError(f"{where}: {value!r} is not one of the choices {names}")

    def resolve_users(self, users: list[User], channel: Channel) -> dict[str, Any]:
        resolved: dict[str, Any] = {"users": {}, "members": {}}
        for user in users:
            resolved["users"][str(user.id)] = user.payload()
            member = self.office.guild.members.get(user.id) if channel.type != DM else None
            if member is not None:
                data = member.payload(user, with_user=False)
                data["permissions"] = str(
                    self.office.guild.channel_permissions(user.id, channel.id)
                )
                resolved["members"][str(user.id)] = data
        if not resolved["members"]:
            del resolved["members"]
        return resolved

    def select_values(
        self,
        kind: int,
        options: list[tuple[str, str]],
        min_values: int,
        max_values: int,
        values: Sequence[Any],
        channel: Channel,
    ) -> dict[str, Any]:
        if not min_values <= len(values) <= max_values:
            raise UsageError(
                f"this select menu takes {min_values} to {max_values} values, not {len(values)}"
            )
        if kind == 3:
            chosen: list[str] = []
            for value in values:
                match = next((v for label, v in options if v == str(value)), None) or next(
                    (v for label, v in options if label.lower() == str(value).lower()), None
                )
                if match is None:
                    raise UsageError(
                        f"{value!r} is not an option ({[label for label, _ in options]})"
                    )
                chosen.append(match)
            return {"values": chosen}
        resolved: dict[str, Any] = {}
        ids: list[str] = []
        for value in values:
            target_id, part = self._select_target(kind, value, channel)
            _merge(resolved, part)
            ids.append(str(target_id))
        return {"values": ids, "resolved": resolved}

    def _select_target(self, kind: int, value: Any, channel: Channel) -> tuple[int, dict[str, Any]]:
        """A user (5), role (6), mentionable (7) or channel (8) select value: a name, an id or
        the object; returns the id and its ``resolved`` entry."""
        text = str(value.id if isinstance(value, User | Role | Channel) else value)
        key: str | int = int(text) if text.isdigit() else text
        if kind in (5, 7):
            user = self.emulator.world.users.get(key) if isinstance(key, int) else None
            if user is None and isinstance(key, str):
                with contextlib.suppress(UsageError):
                    user = self.office.member(key)
            if user is not None and user.id in self.office.guild.members:
                return user.id, self.resolve_users([user], channel)
        if kind in (6, 7):
            role = self.office.guild.roles.get(key) if isinstance(key, int) else None
            if role is None and isinstance(key, str):
                with contextlib.suppress(UsageError):
                    role = self.office.role(key)
            if role is not None:
                return role.id, {"roles": {str(role.id): role.payload()}}
        if kind == 8:
            target = self.office.guild.channels.get(key) if isinstance(key, int) else None
            if target is None and isinstance(key, str):
                with contextlib.suppress(UsageError):
                    target = self.office.channel(key)
            if target is not None:
                data = target.payload()
                data["permissions"] = str(
                    self.office.guild.channel_permissions(self.emulator.bot_user.id, target.id)
                )
                return target.id, {"channels": {str(target.id): data}}
        raise UsageError(f"{value!r} cannot be chosen in this select menu")

    def modal_component(self, item: ModalField, value: Any, channel: Channel) -> dict[str, Any]:
        if item.kind == 4:
            text = "" if value is None else str(value)
            if item.required and not text:
                raise UsageError(f"the modal field {item.label!r} is required")
            if text and item.min_length is not None and len(text) < item.min_length:
                raise UsageError(f"{item.label!r} needs at least {item.min_length} characters")
            limit = item.max_length if item.max_length is not None else 4000
            if len(text) > limit:
                raise UsageError(f"{item.label!r} takes at most {limit} characters")
            inner: dict[str, Any] = {"type": 4, "custom_id": item.custom_id, "value": text}
        else:
            chosen = (
                []
                if value is None
                else (list(value) if isinstance(value, list | tuple) else [value])
            )
            if item.required and not chosen:
                raise UsageError(f"the modal field {item.label!r} is required")
            values = (
                self.select_values(item.kind, item.options, 0, 25, chosen, channel)["values"]
                if chosen
                else []
            )
            inner = {"type": item.kind, "custom_id": item.custom_id, "values": values}
        if item.component_id is not None:
            inner["id"] = item.component_id
        outer: dict[str, Any] = (
            {"type": 18, "component": inner}
            if item.in_label
            else {"type": 1, "components": [inner]}
        )
        if item.container_id is not None:
            outer["id"] = item.container_id
        return outer

    def modal_resolved(
        self, modal: Modal, given: dict[str, Any], channel: Channel
    ) -> dict[str, Any]:
        resolved: dict[str, Any] = {}
        for item in modal.fields:
            if item.kind in (5, 6, 7, 8) and given.get(item.custom_id):
                raw = given[item.custom_id]
                chosen = list(raw) if isinstance(raw, list | tuple) else [raw]
                part = (
                    self.select_values(item.kind, [], 0, 25, chosen, channel).get("resolved") or {}
                )
                _merge(resolved, part)
        return resolved


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        into.setdefault(key, {}).update(value)


def _permitted(command: cmd.StoredCommand, permissions: int) -> bool:
    """Discord shows a command when the member has every bit of its default permissions;
    "0" means administrators only (the owner always has every permission)."""
    required = command.definition.get("default_member_permissions")
    if required is None or permissions & ADMINISTRATOR:
        return True
    needed = int(required)
    return needed != 0 and permissions & needed == needed
