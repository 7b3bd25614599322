"""``/leave feed``: a member's private links to a calendar feed and the wall chart, both served
by ``concord web`` (``concord/web/``), and the member events that keep the web side's names and
privacy right (a name change, a role change, someone leaving).

One token serves both addresses: ``<CONCORD_PUBLIC_URL>/feed/<token>.ics`` to subscribe to in
Google Calendar or Outlook and ``<CONCORD_PUBLIC_URL>/chart/<token>`` to look at. The token is
shown once, when it is made; only its hash is stored, so asking again says a link exists, and
``revoke:True`` replaces it (the old link answers 404 from then on)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from concord.cogs.common import (
    acknowledge_later,
    actor_of,
    answer,
    guild_config,
    member_is_manager,
)
from concord.core.schedule import discord_time
from concord.core.text import escape_markdown, plural
from concord.db.leave.feeds import FeedKind, FeedManager, IssuedFeed

if TYPE_CHECKING:
    from concord.bot import ConcordBot

log: logging.Logger = logging.getLogger(__name__)

KIND_CHOICES = [
    app_commands.Choice(name="personal: my own leave, with types", value=FeedKind.PERSONAL.value),
    app_commands.Choice(name="team: who of a team is out", value=FeedKind.TEAM.value),
    app_commands.Choice(name="office: who is out", value=FeedKind.OFFICE.value),
]
NOT_SERVED = (
    "Calendar feeds are not switched on for this bot: the operator must run `concord web` "
    "(with `CONCORD_WEB_ADDR`) and set `CONCORD_PUBLIC_URL` to the address members reach it at "
    "(see deploy/README.md). Nothing was created."
)


def _names(guild: discord.Guild) -> list[tuple[int, str]]:
    return [(m.id, m.display_name) for m in guild.members if not m.bot]


def feed_links(public_url: str, token: str) -> tuple[str, str]:
    return f"{public_url}/feed/{token}.ics", f"{public_url}/chart/{token}"


def describe(issued: IssuedFeed, public_url: str) -> str:
    feed = issued.feed
    what = {
        FeedKind.PERSONAL: "your own leave, with types and reasons",
        FeedKind.TEAM: f"who of {escape_markdown(feed.team_name or '')} is out",
        FeedKind.OFFICE: "who is out in the office",
    }[feed.kind]
    if feed.kind is not FeedKind.PERSONAL:
        what += (
            ", with types and reasons (you are a manager)"
            if feed.manager
            else " (types and reasons stay private; yours show in full)"
        )
    if issued.token is None:
        return (
            f"You already have {'an' if feed.kind is FeedKind.OFFICE else 'a'} "
            f"{feed.kind.value} feed link ({what}), made "
            f"{discord_time(feed.created_at, 'R')}. It is shown only once; run "
            "`/leave feed` again with `revoke:True` for a new link (the old one stops working)."
        )
    calendar, chart = feed_links(public_url, issued.token)
    replaced = " The previous link no longer works." if issued.revoked else ""
    return (
        f"**{escape_markdown(feed.title)}**: {what}, with public holidays.{replaced}\n"
        f"Subscribe (Google Calendar: Other calendars → From URL; Outlook: Add calendar → "
        f"Subscribe from web):\n<{calendar}>\n"
        f"Wall chart in the browser:\n<{chart}>\n"
        "Anyone with these links can read them: keep them to yourself. `revoke:True` replaces "
        "them."
    )


async def team_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    bot: ConcordBot = interaction.client  # type: ignore[assignment]
    if interaction.guild_id is None:
        return []
    typed = current.strip().casefold()
    names = await FeedManager(bot.db).team_names(interaction.guild_id)
    return [app_commands.Choice(name=n, value=n) for n in names if typed in n.casefold()][:25]


class FeedCommands(commands.Cog):
    """A base of the Leave cog: ``/leave feed`` and its listeners (commands and listeners of a
    cog's bases are the cog's own)."""

    bot: ConcordBot

    @property
    def feeds(self) -> FeedManager:
        return FeedManager(self.bot.db)

    @app_commands.command(
        name="feed", description="A private calendar feed and wall chart link (subscribe to it)"
    )
    @app_commands.describe(
        kind="personal (default): your leave; team: a team's; office: everyone's",
        team="With kind team: the team's name",
        revoke="True: replace your link with a new one (the old one stops working)",
    )
    @app_commands.choices(kind=KIND_CHOICES)
    @app_commands.autocomplete(team=team_choices)
    async def feed(
        self,
        interaction: discord.Interaction,
        kind: app_commands.Choice[str] | None = None,
        team: app_commands.Range[str, 1, 100] | None = None,
        revoke: bool = False,
    ) -> None:
        public_url = self.bot.settings.public_url
        if public_url is None:
            await answer(interaction, NOT_SERVED)
            return
        await acknowledge_later(interaction)
        config = await guild_config(interaction)
        actor = actor_of(config, interaction.user)
        now = self.bot.clock.now()
        guild = interaction.guild
        issued = await self.feeds.issue(
            config.guild_id,
            actor,
            FeedKind(kind.value if kind else FeedKind.PERSONAL.value),
            team,
            now=now,
            rotate=revoke,
            # The web process shows names from the database: brought up to date with the link.
            names=_names(guild) if guild is not None else (),
        )
        await answer(interaction, describe(issued, public_url))

    # -- what the web side needs to stay right -------------------------------------------------
    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        if not member.bot:
            await self.feeds.store_names(
                member.guild.id, [(member.id, member.display_name)], now=self.bot.clock.now()
            )

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        if after.bot:
            return
        now = self.bot.clock.now()
        if before.display_name != after.display_name:
            await self.feeds.store_names(after.guild.id, [(after.id, after.display_name)], now=now)
        if before.roles != after.roles:
            config = await self.bot.guild_settings.get(after.guild.id)
            await self.feeds.set_member_role(
                after.guild.id, after.id, member_is_manager(config, after), now=now
            )

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        revoked = await self.feeds.forget_member(
            payload.guild_id, payload.user.id, now=self.bot.clock.now()
        )
        if revoked:
            log.info("revoked %s of a member who left", plural(revoked, "feed link"))
