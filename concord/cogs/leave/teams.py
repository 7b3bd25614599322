"""/leave team … and /leave blackout … (issue 20): teams with their own approvers and a limit
on how many may be out at once, and blackout days. A mixin of the Leave cog (discord.py
collects the groups from every class of the cog); managers only, checked again in the write."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from concord.cogs.common import acknowledge_later, actor_of, answer, guild_config, require_manager
from concord.cogs.leave.embeds import NameOf, paginate
from concord.cogs.leave.views import desk_of, send_embed_pages
from concord.core.dates import parse_date
from concord.core.teams import Blackout, Team, describe_span
from concord.core.text import clip, escape_markdown, plural
from concord.db.leave import TeamEdit
from concord.errors import UserError

if TYPE_CHECKING:
    from concord.cogs.leave.cards import LeaveDesk
    from concord.db.leave import LeaveManager

log = logging.getLogger(__name__)
DATE_HELP = "YYYY-MM-DD, today, tomorrow, fri or 3 Dec"
# At most 18 ASCII digits: SQLite's integers stop at 2**63.
BLACKOUT_ID: re.Pattern[str] = re.compile(r"#?([0-9]{1,18})")


async def team_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    if interaction.guild_id is None:
        return []
    teams = await desk_of(interaction).leave.teams(interaction.guild_id)
    words = current.strip().lower()
    return [
        app_commands.Choice(name=clip(t.name, 100), value=t.name)
        for t in teams
        if words in t.name.lower()
    ][:25]


async def blackout_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    if interaction.guild_id is None:
        return []
    desk = desk_of(interaction)
    config = await guild_config(interaction)
    blackouts = await desk.leave.blackouts(interaction.guild_id, since=desk.today(config))
    words = current.strip().lower().lstrip("#")
    choices = []
    for blackout in blackouts:
        label = blackout_line(blackout, markdown=False)
        if words in label.lower():
            choices.append(app_commands.Choice(name=clip(label, 100), value=str(blackout.id)))
    return choices[:25]


def blackout_line(blackout: Blackout, *, markdown: bool = True) -> str:
    reason = escape_markdown(blackout.reason) if markdown else blackout.reason
    where = escape_markdown(blackout.where()) if markdown else blackout.where()
    return (
        f"#{blackout.id} · {describe_span(blackout.start, blackout.end)} "
        f"{blackout.start.year} · {where} · {reason}"
    )


def team_line(team: Team, name_of: NameOf) -> str:
    approvers = [name_of(u) for u in team.approvers]
    if team.approver_role_id is not None:
        approvers.append(f"<@&{team.approver_role_id}>")
    members = [name_of(u) for u in team.members]
    limit = f"at most {team.max_out} out at once" if team.max_out else "no limit"
    return (
        f"**{escape_markdown(team.name)}** · approvers: "
        f"{escape_markdown(', '.join(approvers)) or 'none (the managers decide)'} · {limit}\n"
        f"members ({len(members)}): {escape_markdown(', '.join(members)) or 'none yet'}"
    )


def describe_team(team: Team) -> str:
    parts = []
    if team.approver_role_id is not None:
        parts.append(f"approver role <@&{team.approver_role_id}>")
    parts.append(
        f"at most {team.max_out} out at once" if team.max_out else "no limit on who is out"
    )
    return ", ".join(parts)


class TeamCommands(commands.Cog):
    """The ``team`` and ``blackout`` subgroups of /leave (a base of the Leave cog, never
    loaded on its own)."""

    bot: discord.Client
    leave: LeaveManager
    desk: LeaveDesk

    team = app_commands.Group(
        name="team", description="Managers: teams with their own approvers and limits"
    )
    blackout = app_commands.Group(
        name="blackout", description="Days on which members' leave is refused"
    )

    # -- teams ---------------------------------------------------------------------------------
    @team.command(name="create", description="Managers: create a team")
    @app_commands.describe(
        name="The team's name, e.g. Support",
        approver_role="Members of this role approve the team's leave (or add approvers by name)",
        max_out="At most this many of the team out at once (default: no limit)",
    )
    async def team_create(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, 40],
        approver_role: discord.Role | None = None,
        max_out: app_commands.Range[int, 1, 1000] | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        config = await require_manager(interaction)
        team = await self.leave.create_team(
            config.guild_id,
            name,
            approver_role_id=approver_role.id if approver_role else None,
            max_out=max_out,
            actor=actor_of(config, interaction.user),
            now=self.desk.now(),
        )
        await answer(
            interaction,
            f"Created team **{escape_markdown(team.name)}** ({describe_team(team)}). Add people "
            f"with `/leave team add team:{team.name} member:` (`approver:True` for an approver).",
        )

    @team.command(name="edit", description="Managers: change a team's limit, role or name")
    @app_commands.describe(
        team="The team",
        max_out="At most this many out at once; 0 = no limit",
        approver_role="A new approver role",
        clear_approver_role="True: the team has no approver role any more",
        rename="A new name",
    )
    @app_commands.autocomplete(team=team_choices)
    async def team_edit(
        self,
        interaction: discord.Interaction,
        team: str,
        max_out: app_commands.Range[int, 0, 1000] | None = None,
        approver_role: discord.Role | None = None,
        clear_approver_role: bool | None = None,
        rename: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        config = await require_manager(interaction)
        edit = TeamEdit(
            max_out=max_out or None,
            clear_max_out=max_out == 0,
            approver_role_id=approver_role.id if approver_role else None,
            clear_approver_role=bool(clear_approver_role),
            rename=rename,
        )
        changed = await self.leave.edit_team(
            config.guild_id,
            team,
            edit,
            actor=actor_of(config, interaction.user),
            now=self.desk.now(),
        )
        await answer(
            interaction,
            f"Team **{escape_markdown(changed.name)}**: {describe_team(changed)}.",
        )

    @team.command(name="add", description="Managers: add a member (or an approver) to a team")
    @app_commands.describe(
        team="The team",
        member="Who",
        approver="True: they approve the team's leave (they need not be a member)",
    )
    @app_commands.autocomplete(team=team_choices)
    async def team_add(
        self,
        interaction: discord.Interaction,
        team: str,
        member: discord.Member,
        approver: bool = False,
    ) -> None:
        await acknowledge_later(interaction)
        config = await require_manager(interaction)
        if member.bot:
            raise UserError("Bots are in no team; pick a person.")
        changed = await self.leave.add_team_member(
            config.guild_id,
            team,
            member.id,
            as_approver=approver,
            actor=actor_of(config, interaction.user),
            now=self.desk.now(),
        )
        what = "an approver" if approver else "a member"
        await answer(
            interaction,
            f"{escape_markdown(member.display_name)} is now {what} of "
            f"**{escape_markdown(changed.name)}** ({plural(len(changed.members), 'member')}, "
            f"{plural(len(changed.approvers), 'approver')} by name).",
        )

    @team.command(name="remove", description="Managers: take someone out of a team")
    @app_commands.describe(team="The team", member="Who (as a member and as an approver)")
    @app_commands.autocomplete(team=team_choices)
    async def team_remove(
        self, interaction: discord.Interaction, team: str, member: discord.Member
    ) -> None:
        await acknowledge_later(interaction)
        config = await require_manager(interaction)
        changed, was = await self.leave.remove_team_member(
            config.guild_id,
            team,
            member.id,
            actor=actor_of(config, interaction.user),
            now=self.desk.now(),
        )
        await answer(
            interaction,
            f"{escape_markdown(member.display_name)} is no longer {' or '.join(was)} of "
            f"**{escape_markdown(changed.name)}**.",
        )

    @team.command(name="list", description="Teams, their approvers, limits and members")
    async def team_list(self, interaction: discord.Interaction) -> None:
        await acknowledge_later(interaction)
        config = await guild_config(interaction)
        teams = await self.leave.teams(config.guild_id)
        name_of = self.desk.name_of(config.guild_id)
        pages = paginate(
            f"Teams ({len(teams)})",
            [team_line(t, name_of) for t in teams],
            empty="No teams yet: a manager creates one with `/leave team create`.",
            per_page=8,
        )
        await send_embed_pages(interaction, pages)

    @team.command(name="delete", description="Managers: delete a team (its blackouts go too)")
    @app_commands.describe(team="The team")
    @app_commands.autocomplete(team=team_choices)
    async def team_delete(self, interaction: discord.Interaction, team: str) -> None:
        await acknowledge_later(interaction)
        config = await require_manager(interaction)
        gone, blackouts = await self.leave.delete_team(
            config.guild_id, team, actor=actor_of(config, interaction.user), now=self.desk.now()
        )
        text = (
            f"Deleted team **{escape_markdown(gone.name)}** "
            f"({plural(len(gone.members), 'member')}). Its members' leave now goes to the managers"
            " (or their other teams' approvers); links to its calendar feed stop working."
        )
        if blackouts:
            text += f" Its {plural(blackouts, 'blackout')} went with it."
        await answer(interaction, text)

    # -- blackouts -----------------------------------------------------------------------------
    @blackout.command(name="add", description="Managers: days on which members' leave is refused")
    @app_commands.describe(
        start=f"First day: {DATE_HELP}",
        end="Last day",
        team="Only this team (default: the whole office)",
        reason="Why, shown to whoever asks for leave then (e.g. launch week)",
    )
    @app_commands.autocomplete(team=team_choices)
    async def blackout_add(
        self,
        interaction: discord.Interaction,
        start: str,
        end: str,
        team: str | None = None,
        reason: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        config = await require_manager(interaction)
        today = self.desk.today(config)
        added = await self.leave.add_blackout(
            config.guild_id,
            team=team,
            start=parse_date(start, today),
            end=parse_date(end, today),
            reason=reason,
            actor=actor_of(config, interaction.user),
            now=self.desk.now(),
        )
        await answer(
            interaction,
            f"Blackout {blackout_line(added)}. Members' leave on those days is refused with that "
            "reason; a manager can still file it with `override_note:`.",
        )

    @blackout.command(name="remove", description="Managers: remove blackout days")
    @app_commands.describe(blackout="The blackout, e.g. #3")
    @app_commands.autocomplete(blackout=blackout_choices)
    async def blackout_remove(self, interaction: discord.Interaction, blackout: str) -> None:
        await acknowledge_later(interaction)
        config = await require_manager(interaction)
        number = BLACKOUT_ID.fullmatch(blackout.strip())
        if number is None:
            raise UserError(
                f"`{escape_markdown(blackout[:50])}` is not a blackout number; pick one from "
                "the list, e.g. `#3`."
            )
        gone = await self.leave.remove_blackout(
            config.guild_id,
            int(number[1]),
            actor=actor_of(config, interaction.user),
            now=self.desk.now(),
        )
        await answer(interaction, f"Removed blackout {blackout_line(gone)}.")

    @blackout.command(name="list", description="Blackout days from today on")
    async def blackout_list(self, interaction: discord.Interaction) -> None:
        await acknowledge_later(interaction)
        config = await guild_config(interaction)
        blackouts = await self.leave.blackouts(config.guild_id, since=self.desk.today(config))
        pages = paginate(
            "Blackout days",
            [blackout_line(b) for b in blackouts],
            empty="No blackout days ahead.",
        )
        await send_embed_pages(interaction, pages)
