"""The module kit: everything the rest of the bot needs to know about a module, declared in one
place (a :class:`Module` named ``MODULE`` in the module's package), and the code that reads it.

The bot finds the built-in modules in ``concord.cogs`` (:func:`builtin_modules`), builds each
cog, gives it a ``/<group> setup`` made from its settings (:func:`setup_command`), registers its
persistent buttons and its scheduled jobs; ``/concord settings`` shows every module's settings;
the sandbox office creates each module's channels and sets it up from its fixtures. Adding a
module is a new package with a ``MODULE`` (docs/ADDING_A_MODULE.md).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Optional

import discord
from discord import app_commands
from discord.ext import commands

from concord.core.settings import GuildConfig, Setting
from concord.core.text import plural
from concord.errors import PermissionDenied, UserError
from concord.scheduler import DailyJob, TickJob

if TYPE_CHECKING:
    from concord.bot import ConcordBot

log = logging.getLogger(__name__)

Job = DailyJob | TickJob


def no_jobs(cog: Any) -> Sequence[Job]:
    return ()


@dataclass(frozen=True)
class Fixtures:
    """What the sandbox office (and the tests built on it) need for a module."""

    # Text channels the office has for this module: (name, topic).
    channels: tuple[tuple[str, str], ...] = ()
    # The usual setup of this module in the office (Sandbox.configure_office): setting name ->
    # value, roles and channels by name, times as text.
    setup: Mapping[str, Any] = field(default_factory=dict)
    # Custom ids of its persistent buttons, with ``{id}`` for the object they act on: the
    # cross-guild test forges each with the other office's ids.
    buttons: tuple[str, ...] = ()
    # Of those, the ones a member may find in a DM (cards the bot sends there): the test
    # also forges them in a DM by someone outside the office.
    dm_buttons: tuple[str, ...] = ()
    # The table whose ``id`` its commands and buttons name (None: it names no objects).
    id_table: str | None = None
    # ``sample(sandbox, marker, manager, other)``: objects of this module named with
    # ``marker``, made in the sandbox's current office (``other`` is a member of staff of that
    # office only). The cross-guild test fills two offices with them. The sandbox (a
    # ``concord.sandbox.driver.Sandbox``) is not named here: it drives the bot, not the
    # other way round.
    sample: Callable[[Any, str, str, str], Awaitable[None]] | None = None


@dataclass(frozen=True)
class Module:
    """One module of the bot, as every shared place reads it."""

    name: str  # its command group: /name
    cog: Callable[[ConcordBot], commands.Cog]
    # Loaded in this order (smaller first); the built-in ones use 10..40.
    order: int = 100
    settings: tuple[Setting, ...] = ()
    # DynamicItem classes: buttons that keep working after a restart.
    persistent: tuple[type[discord.ui.DynamicItem[Any]], ...] = ()
    # The cog once built -> its scheduled jobs (daily at a guild-local time, or every pass).
    jobs: Callable[[Any], Sequence[Job]] = no_jobs
    fixtures: Fixtures = field(default_factory=Fixtures)
    # Whether the bot adds /<name> setup for the settings (/concord builds its own).
    setup_command: bool = True


def imported(path: str) -> Any:
    """Import a module's package; a failure is logged with its name and stops the start (a
    half bot is worse than none)."""
    try:
        return importlib.import_module(path)
    except Exception:
        log.exception("failed to load module %s", path)
        raise


def builtin_modules() -> tuple[str, ...]:
    """The import paths of the modules in ``concord.cogs`` (every package or module there with
    a ``MODULE``), in their load order."""
    import concord.cogs

    found: list[tuple[int, str]] = []
    for info in pkgutil.iter_modules(concord.cogs.__path__, "concord.cogs."):
        module = getattr(imported(info.name), "MODULE", None)
        if isinstance(module, Module):
            found.append((module.order, info.name))
    return tuple(name for _, name in sorted(found))


def module_at(path: str) -> Module:
    """The descriptor of the module at ``path`` (``concord.cogs.leave``, ``tests.kudos``)."""
    module = getattr(imported(path), "MODULE", None)
    if not isinstance(module, Module):
        raise TypeError(f"{path} declares no MODULE")
    return module


async def install(bot: ConcordBot, module: Module) -> commands.Cog:
    """Build the module's cog with its setup command, and register its buttons and jobs."""
    cog = module.cog(bot)
    group = cog.app_command if isinstance(cog, commands.GroupCog) else None
    if module.settings and module.setup_command:
        if group is None:
            raise TypeError(f"module {module.name}: settings need a GroupCog for /setup")
        group.add_command(setup_command(bot, module.settings, module.name))
    await bot.add_cog(cog)
    if module.persistent:
        bot.add_dynamic_items(*module.persistent)
    for job in module.jobs(cog):
        bot.scheduler.add(job)
    return cog


# -- /<module> setup --------------------------------------------------------------------------
def option_type(setting: Setting) -> Any:
    """The annotation discord.py turns into the setting's slash-command option."""
    kind = setting.kind
    low, high = setting.minimum, setting.maximum
    bounded = low is not None or high is not None
    if kind == "role":
        return Optional[discord.Role]  # noqa: UP045 (a runtime annotation for discord.py)
    if kind == "channel":
        return Optional[discord.TextChannel]  # noqa: UP045
    if kind == "integer":
        base: Any = app_commands.Range[int, low, high] if bounded else int
        return Optional[base]  # noqa: UP045
    if kind == "number":
        base = app_commands.Range[float, low, high] if bounded else float
        return Optional[base]  # noqa: UP045
    if kind == "choice":
        return Optional[Literal[setting.choices]]  # noqa: UP045
    return Optional[str]  # noqa: UP045


def suggester(
    suggest: Callable[[str], list[str]],
) -> Callable[[discord.Interaction, str], Any]:
    async def autocomplete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in suggest(current)[:25]]

    return autocomplete


def setup_command(
    bot: ConcordBot,
    settings: Sequence[Setting],
    group: str,
    *,
    moved: Mapping[str, str] | None = None,
) -> app_commands.Command[Any, ..., None]:
    """``setup`` with one optional option per setting. ``moved``: option name -> the command
    that now takes it (kept here for one release, with a note in the answer)."""
    moved = moved or {}

    async def setup(interaction: discord.Interaction, **options: Any) -> None:
        given = {name: value for name, value in options.items() if value is not None}
        await apply_setup(bot, interaction, settings, given, group=group, moved=moved)

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    parameters += [
        inspect.Parameter(
            s.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=option_type(s)
        )
        for s in settings
    ]
    setup.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    setup.__discord_app_commands_param_description__ = {  # type: ignore[attr-defined]
        s.name: s.description for s in settings
    }
    setup.__discord_app_commands_param_autocomplete__ = {  # type: ignore[attr-defined]
        s.name: suggester(s.suggest) for s in settings if s.suggest is not None
    }
    return app_commands.Command(
        name="setup",
        description="Configure Concord Desk for this server (Manage Server)"
        if group == "concord"
        else f"Settings of /{group} (Manage Server)",
        callback=setup,
    )


def parsed_value(setting: Setting, value: Any) -> Any:
    """The option's value as the setting stores it; raises UserError for a bad one."""
    if setting.kind == "role":
        if value.is_default():
            raise UserError("Pick a real role, not @everyone (leave the option out instead).")
        return setting.parse(value.id)
    if setting.kind == "channel":
        return setting.parse(value.id)
    return setting.parse(value)


async def apply_setup(
    bot: ConcordBot,
    interaction: discord.Interaction,
    settings: Sequence[Setting],
    given: Mapping[str, Any],
    *,
    group: str,
    moved: Mapping[str, str],
) -> None:
    member = interaction.user
    if interaction.guild_id is None:
        raise UserError("That only works inside a server, not in DMs.")
    if not isinstance(member, discord.Member) or not (
        member.guild_permissions.manage_guild or member.guild.owner_id == member.id
    ):
        raise PermissionDenied("You need the Manage Server permission to change the setup.")
    columns: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    # Validate everything before saving anything.
    for setting in settings:
        if setting.name in given:
            value = parsed_value(setting, given[setting.name])
            if setting.field is not None:
                columns[setting.field] = value
            else:
                extras[setting.name] = value
    if not columns and not extras:
        config = await bot.guild_settings.get(interaction.guild_id)
        await interaction.response.send_message(
            "Nothing to change: give at least one option. Current settings:",
            embed=settings_embed(bot, config),
            ephemeral=True,
        )
        return
    config = await bot.guild_settings.update(
        interaction.guild_id, member.id, columns, extras=extras, now=bot.clock.now()
    )
    log.info(
        "guild %s settings changed by %s: %s",
        interaction.guild_id,
        member.id,
        sorted([*columns, *extras]),
    )
    text = f"Saved {plural(len(columns) + len(extras), 'setting')}."
    text += moved_note(group, [name for name in given if name in moved], moved)
    await interaction.response.send_message(text, embed=settings_embed(bot, config), ephemeral=True)


def moved_note(group: str, names: Sequence[str], moved: Mapping[str, str]) -> str:
    """A line telling where options given to ``/<group> setup`` now belong, or ''."""
    if not names:
        return ""
    where: dict[str, list[str]] = {}
    for name in names:
        where.setdefault(moved[name], []).append(f"`{name}`")
    places = "; ".join(f"{command}: {', '.join(found)}" for command, found in where.items())
    return (
        f"\nNote: these options moved to their module's setup ({places}); `/{group} setup`"
        " takes them until the next release."
    )


# -- /concord settings ------------------------------------------------------------------------
def settings_lines(modules: Iterable[Module], config: GuildConfig) -> list[tuple[str, str]]:
    """(label, value) for every setting of every module, in load order."""
    return [(s.label, s.shown(config)) for module in modules for s in module.settings]


def settings_embed(
    bot: ConcordBot, config: GuildConfig, title: str = "Concord Desk settings"
) -> discord.Embed:
    embed = discord.Embed(title=title, colour=discord.Colour.blurple())
    for label, value in settings_lines(bot.modules, config)[:25]:
        embed.add_field(name=label, value=value, inline=True)
    return embed
