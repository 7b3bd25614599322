"""LeaveDesk: everything leave does in Discord besides answering a command: approval cards
(posted, edited in place), decisions from buttons and the reject modal, DMs to the requester,
notes to the managers, and the daily reminder of requests still pending."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import discord

from concord.cogs import approvals
from concord.cogs.common import (
    acknowledge_later,
    actor_of,
    answer,
    answer_in_time,
    edit_clicked,
    guild_config,
    member_is_manager,
)
from concord.cogs.handover import add_tasks_field, offer_hand_over, tasks_due_while_away
from concord.cogs.leave.embeds import (
    FIELD_LIMIT,
    STATUS_COLOURS,
    CardContext,
    NameOf,
    card_embed,
    paginate,
    pending_lines,
)
from concord.cogs.leave.views import card_view, pending_view, reject_modal
from concord.core.actor import Actor
from concord.core.jobs import notification_nonce
from concord.core.leave import (
    AlreadyDecided,
    LeaveRequest,
    RequestStatus,
    already_decided,
    away_all_day,
    describe_dates,
    format_amount,
)
from concord.core.settings import GuildConfig
from concord.core.teams import LimitReached, Routing, blackout_sentence
from concord.core.text import clip, escape_markdown, plural
from concord.db.leave import Decision, LeaveManager, RequestYear
from concord.errors import PermissionDenied, UserError

if TYPE_CHECKING:
    from concord.bot import ConcordBot

log = logging.getLogger(__name__)
Years = Sequence[RequestYear]  # a request's years with their balances (cards)
PENDING_PER_PAGE = 4  # one row of buttons each, the fifth row for the page buttons
REMINDER_KIND = "leave.reminder"
NO_CHANNEL_KIND = "leave.no_channel"
NO_MENTIONS = discord.AllowedMentions.none()
MAX_PINGS = 25  # approvers named and pinged on a card (the rest still decide)


class LeaveDesk:
    def __init__(self, bot: ConcordBot, leave: LeaveManager) -> None:
        self.bot = bot
        self.leave = leave

    # -- time and names ------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.bot.clock.now()

    def today(self, config: GuildConfig) -> date:
        return self.now().astimezone(config.tz).date()

    def name_of(self, guild_id: int) -> NameOf:
        guild = self.bot.get_guild(guild_id)

        def name(user_id: int | None) -> str:
            if user_id is None:
                return "nobody"
            member = guild.get_member(user_id) if guild else None
            return member.display_name if member else f"<@{user_id}>"

        return name

    def already_message(self, error: AlreadyDecided, config: GuildConfig) -> str:
        """``Request #7 was already approved by alice at 10:02.`` in the guild's time."""
        return approvals.already_message(error, config, self.name_of(config.guild_id))

    # -- cards ---------------------------------------------------------------------------------
    async def render_card(
        self, request: LeaveRequest, config: GuildConfig, years: Years | None = None
    ) -> discord.Embed:
        return (await self._render(request, config, years)).embed

    async def _render(
        self, request: LeaveRequest, config: GuildConfig, years: Years | None = None
    ) -> Card:
        """The card, its buttons (only while pending; Approve anyway when approving would take
        a team over its limit) and whom it is for. ``years``: the request's balances from the
        write that just changed it (``request_years()`` of its result), else read again."""
        today = self.today(config)
        name_of = self.name_of(config.guild_id)
        if years is None:
            years = await self.leave.request_balances(request, today=today)
        absences = await self.leave.absences(
            config.guild_id, request.start, request.end, statuses=("approved", "pending")
        )
        context = CardContext(
            requester=name_of(request.user_id),
            name_of=name_of,
            tz=config.tz,
            today=today,
            years=years,
            also_out=[a for a in absences if a.user_id != request.user_id and a.is_away],
        )
        embed = card_embed(request, context)
        pending = request.status is RequestStatus.PENDING
        over, approvers = (
            await self._add_team_fields(embed, request, config) if pending else (False, NOBODY)
        )
        if request.override_note:
            embed.add_field(
                name="Filed over a blackout or team limit",
                value=clip(escape_markdown(request.override_note), FIELD_LIMIT),
                inline=False,
            )
        if request.status in (RequestStatus.PENDING, RequestStatus.APPROVED):
            # Leave × Tasks: what falls due while the requester is away.
            tasks = await tasks_due_while_away(
                self.bot, config.guild_id, request.user_id, request.start, request.end
            )
            add_tasks_field(embed, tasks)
        view = card_view(request.id, over_limit=over) if pending else None
        return Card(embed, view, approvers)

    async def _add_team_fields(
        self, embed: discord.Embed, request: LeaveRequest, config: GuildConfig
    ) -> tuple[bool, Approvers]:
        """Who decides (the requester's teams' approvers) and the warnings for them: a team
        limit approving would go over (returns whether it would), blackout days touched."""
        route, over, blackouts = await self.leave.card_team_reads(request)
        approvers = self._approvers_of(route, request, config)
        if approvers.text:
            embed.add_field(name="Approvers", value=clip(approvers.text, FIELD_LIMIT), inline=False)
        if over is not None:
            embed.add_field(
                name="⚠️ Team limit",
                value=f"{escape_markdown(over.sentence())}. Approve anyway to go over it.",
                inline=False,
            )
        if blackouts:
            embed.add_field(
                name="⚠️ Blackout days",
                value=clip(
                    "\n".join(escape_markdown(blackout_sentence(b)) for b in blackouts),
                    FIELD_LIMIT,
                ),
                inline=False,
            )
        return over is not None, approvers

    async def approvers(self, request: LeaveRequest, config: GuildConfig) -> Approvers:
        """Whom a pending request goes to: the approvers of the requester's teams (people
        named, members of approver roles; never the requester), or the managers when the
        requester's teams have no approver but them; nobody in particular (no pings, as
        before teams) when the requester is in no team."""
        route = await self.leave.routing(config.guild_id, request.user_id)
        return self._approvers_of(route, request, config)

    def _approvers_of(
        self, route: Routing, request: LeaveRequest, config: GuildConfig
    ) -> Approvers:
        if not route.teams:
            return NOBODY
        guild = self.bot.get_guild(config.guild_id)
        people = set(route.approver_ids)
        if guild is not None:
            for role_id in route.approver_role_ids:
                role = guild.get_role(role_id)
                people.update(m.id for m in (role.members if role else ()) if not m.bot)
        people.discard(request.user_id)
        teams = ", ".join(t.name for t in route.teams)
        if not people:
            roles = () if config.manager_role_id is None else (config.manager_role_id,)
            who = "".join(f"<@&{r}> " for r in roles) or "the managers"
            return Approvers(
                (),
                roles,
                f"{who.strip()} (no approver in {escape_markdown(teams)} but the requester)",
            )
        ordered = tuple(sorted(people))[:MAX_PINGS]
        return Approvers(
            ordered,
            (),
            f"{' '.join(f'<@{u}>' for u in ordered)} ({escape_markdown(teams)}); managers can "
            "always decide",
        )

    def _approvals_channel(self, config: GuildConfig) -> discord.abc.Messageable | None:
        if config.approvals_channel_id is None:
            return None
        channel = self.bot.get_channel(config.approvals_channel_id)
        return channel if isinstance(channel, discord.abc.Messageable) else None

    def has_card_channel(self, config: GuildConfig) -> bool:
        """Whether the approvals channel is set and known (post_card has somewhere to post)."""
        return self._approvals_channel(config) is not None

    async def post_card(
        self, request: LeaveRequest, config: GuildConfig, years: Years | None = None
    ) -> str | None:
        """Post the approval card (or, for auto-approved leave, an information card); returns
        a note for the requester when no card could be posted. ``years`` as for _render."""
        pending = request.status is RequestStatus.PENDING
        channel = self._approvals_channel(config)
        if channel is None:
            if not pending:
                return None
            await self.warn_owner_no_channel(config, request)
            return (
                f"{channel_problem(config)}, so no approval card was posted. A manager needs to run "
                "`/leave setup approvals_channel:`. Your request is saved as pending and "
                "managers can decide it with `/leave pending`."
            )
        card = await self._render(request, config, years)
        embed, view, route = card.embed, card.view, card.approvers
        # The approvers of the requester's teams are named and pinged, nobody else.
        pings = discord.AllowedMentions(
            everyone=False,
            users=[discord.Object(u) for u in route.users],
            roles=[discord.Object(r) for r in route.roles],
        )
        content = f"For {route.text}" if route.text else None
        try:
            if view is not None:
                message = await channel.send(
                    content, embed=embed, view=view, allowed_mentions=pings
                )
            else:
                message = await channel.send(embed=embed, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning(
                "could not post the card of leave request #%s in channel %s",
                request.id,
                config.approvals_channel_id,
                exc_info=True,
            )
            if not pending:
                return None
            return (
                f"I could not post the approval card in <#{config.approvals_channel_id}> "
                "(do I have permission to send messages there?). Your request is saved as "
                "pending; managers can decide it with `/leave pending`."
            )
        await self.leave.set_card(config.guild_id, request.id, message.channel.id, message.id)
        return None

    async def refresh_card(
        self, request: LeaveRequest, config: GuildConfig, years: Years | None = None
    ) -> None:
        """Edit the request's card in place to its current state (buttons only while pending;
        ``years`` as for _render)."""
        if request.card_channel_id is None or request.card_message_id is None:
            return
        card = await self._render(request, config, years)
        await approvals.edit_card(
            self.bot,
            request.card_channel_id,
            request.card_message_id,
            embed=card.embed,
            view=card.view,
            what=f"leave request #{request.id}",
        )

    async def edit_card_copy(
        self, message: discord.Message, request: LeaveRequest, config: GuildConfig
    ) -> None:
        """Edit another public card of ``request`` (one the bot sent) to its current state."""
        embed = await self.render_card(request, config)
        try:
            await message.edit(embed=embed, view=None)
        except discord.HTTPException:
            log.warning("could not update a card of leave request #%s", request.id, exc_info=True)

    # -- messages to people --------------------------------------------------------------------
    async def dm(self, user_id: int, *, embed: discord.Embed, nonce: str | None = None) -> bool:
        """DM a member; closed DMs (or a member who left) are logged, never an error."""
        return await approvals.dm(self.bot, user_id, embed=embed, nonce=nonce)

    async def tell_requester(
        self, request: LeaveRequest, actor_id: int, config: GuildConfig, *, credited: bool = False
    ) -> None:
        if request.user_id == actor_id:
            return
        name_of = self.name_of(config.guild_id)
        verb = {
            RequestStatus.APPROVED: "approved",
            RequestStatus.REJECTED: "rejected",
            RequestStatus.CANCELLED: "cancelled",
            RequestStatus.PENDING: "filed",
        }[request.status]
        guild = self.bot.get_guild(config.guild_id)
        embed = discord.Embed(
            title=f"Your leave request #{request.id} was {verb}",
            description=(
                f"{request.leave_type} · {describe_dates(request.start, request.end)} · "
                f"{request.span.portion_text()} · {format_amount(request.amount)}"
            ),
            colour=STATUS_COLOURS[request.status],
        )
        embed.add_field(name="By", value=name_of(actor_id))
        if guild is not None:
            embed.add_field(name="Server", value=clip(guild.name, FIELD_LIMIT))
        if request.decision_note and request.status is RequestStatus.REJECTED:
            embed.add_field(
                name="Reason", value=clip(request.decision_note, FIELD_LIMIT), inline=False
            )
        if credited:
            embed.add_field(
                name="Balance", value="The days are back in your balance.", inline=False
            )
        await self.dm(request.user_id, embed=embed)

    async def tell_managers_cancelled(
        self, request: LeaveRequest, actor_id: int, config: GuildConfig, *, credited: bool
    ) -> None:
        """A member cancelled: say so in the approvals channel (the card changes silently)."""
        channel = self._approvals_channel(config)
        if channel is None:
            return
        name = self.name_of(config.guild_id)(actor_id)
        text = (
            f"↩️ {name} cancelled leave request #{request.id} "
            f"({request.leave_type}, {describe_dates(request.start, request.end)}, "
            f"{request.span.portion_text()})."
        )
        if credited:
            text += f" {format_amount(request.amount)} went back to their balance."
        try:
            await channel.send(text[:2000], allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning("could not tell the managers about cancelled request #%s", request.id)

    async def warn_owner_no_channel(self, config: GuildConfig, request: LeaveRequest) -> None:
        """Tell the server owner, once a day, that requests wait with no approvals channel."""
        guild = self.bot.get_guild(config.guild_id)
        if guild is None or guild.owner_id is None:
            return
        now = self.now()
        key = now.astimezone(config.tz).date().isoformat()
        nonce = await self.bot.job_ledger.claim_delivery(config.guild_id, NO_CHANNEL_KIND, key, now)
        if nonce is None:
            return
        embed = discord.Embed(
            title="Leave requests have nowhere to go",
            description=(
                f"{self.name_of(config.guild_id)(request.user_id)} requested leave (#{request.id}) "
                f"in **{guild.name}**, but {channel_problem(config, lower=True)}. Run "
                "`/leave setup approvals_channel:` to choose one; until then managers can "
                "decide requests with `/leave pending`."
            ),
            colour=discord.Colour.orange(),
        )
        await self.dm(guild.owner_id, embed=embed, nonce=nonce)
        # Sent, or the owner's DMs are closed (logged): either way it is not tried again today.
        await self.bot.job_ledger.delivered(config.guild_id, NO_CHANNEL_KIND, key)

    # -- decisions from buttons and the modal --------------------------------------------------
    async def decide_from_button(
        self, interaction: discord.Interaction, request_id: int, *, override: bool = False
    ) -> None:
        # Deciding is a write and the card several reads: the clicked message is edited
        # directly (UPDATE_MESSAGE) when that is done within the answer budget, else the click
        # is acknowledged first (DEFERRED_UPDATE_MESSAGE) and the message edited through the
        # interaction. A click Discord no longer takes an answer for is still decided.
        answered = await answer_in_time(acknowledge_later(interaction, thinking=False))
        config = await guild_config(interaction)
        decision = await self._decide(
            interaction, config, request_id, approve=True, note=None, override=override
        )
        await self._answer_decision(interaction, config, decision, answered=answered)

    async def open_reject_modal(self, interaction: discord.Interaction, request_id: int) -> None:
        """Check first what the rejection will check, so nobody fills in a form in vain."""
        config = await guild_config(interaction)
        actor = actor_of(config, interaction.user)
        request = await self.leave.get_request(config.guild_id, request_id)
        if request.user_id == interaction.user.id:
            raise PermissionDenied(
                f"Nobody decides their own leave: another manager has to reject request #{request_id}."
            )
        route = await self.leave.routing(config.guild_id, request.user_id)
        if not route.may_decide(
            actor.user_id,
            is_manager=actor.is_manager,
            decides_leave=actor.decides_leave,
            role_ids=actor.role_ids,
        ):
            raise PermissionDenied(route.refusal(request_id))
        if request.status is not RequestStatus.PENDING:
            raise UserError(self.already_message(already_decided(request), config))
        await interaction.response.send_modal(reject_modal(request_id))

    async def reject_from_modal(
        self, interaction: discord.Interaction, request_id: int, note: str | None
    ) -> None:
        # A modal submit may not update a message (UPDATE_MESSAGE is "only valid for
        # component-based interactions"): answer privately, the card is edited by REST.
        answered = await answer_in_time(acknowledge_later(interaction))
        config = await guild_config(interaction)
        decision = await self._decide(interaction, config, request_id, approve=False, note=note)
        await self._answer_decision(interaction, config, decision, answered=answered)

    async def _decide(
        self,
        interaction: discord.Interaction,
        config: GuildConfig,
        request_id: int,
        *,
        approve: bool,
        note: str | None,
        override: bool = False,
    ) -> Decision:
        # Deciding is the managers', and the approvers' of the requester's teams (or, for
        # members in no team, the leave approver role's): checked in the write.
        actor = actor_of(config, interaction.user)
        try:
            if approve:
                return await self.leave.approve(
                    config.guild_id,
                    request_id,
                    actor=actor,
                    now=self.now(),
                    override=override,
                )
            return await self.leave.reject(
                config.guild_id,
                request_id,
                actor=actor,
                note=note,
                now=self.now(),
            )
        except AlreadyDecided as error:
            raise UserError(self.already_message(error, config)) from None
        except LimitReached:
            # The card may predate the approvals that filled the team: show the warning and
            # Approve anyway on it now.
            await self.refresh_card(
                await self.leave.get_request(config.guild_id, request_id), config
            )
            raise

    async def _answer_decision(
        self,
        interaction: discord.Interaction,
        config: GuildConfig,
        decision: Decision,
        *,
        answered: bool,
    ) -> None:
        """Show the decision where it was made, then DM the requester. A click (already
        deferred) edits the message it came from: the card, or the manager's ephemeral
        pending list, which is refreshed. A modal submit (answered with a private "thinking"
        message) edits the card by its stored id and says what happened in that answer.
        When Discord no longer takes an answer, the card is still edited through the channel
        and the requester still told."""
        request = decision.request
        years = decision.request_years()  # the card's balances, as the decision left them
        verb = "Approved" if request.status is RequestStatus.APPROVED else "Rejected"
        done = f"{verb} request #{request.id}."
        message = interaction.message
        clicked = interaction.type is discord.InteractionType.component
        if message is not None and message.flags.ephemeral:
            if answered:
                embed, view = await self.pending_page(config, 0, actor_of(config, interaction.user))
                answered = await answer_in_time(
                    edit_clicked(interaction, content=done, embed=embed, view=view)
                    if clicked
                    else answer(interaction, done, embed=embed, view=view)
                )
            await self.refresh_card(request, config, years)
        elif message is not None and clicked:
            if answered:
                embed = await self.render_card(request, config, years)
                answered = await answer_in_time(edit_clicked(interaction, embed=embed, view=None))
            if not answered or message.id != request.card_message_id:
                await self.refresh_card(request, config, years)
        else:
            await self.refresh_card(request, config, years)
            if message is not None and message.id != request.card_message_id:
                await self.edit_card_copy(message, request, config)
            if answered:
                answered = await answer_in_time(answer(interaction, done))
        log.info("leave request #%s %s by %s", request.id, verb.lower(), interaction.user.id)
        await self.tell_requester(request, interaction.user.id, config)
        # Handing tasks over is a manager's; a leave approver only decides the request.
        if (
            answered
            and request.status is RequestStatus.APPROVED
            and member_is_manager(config, interaction.user)
        ):
            await offer_hand_over(interaction, request)  # a followup: needs the answer

    # -- the pending list ----------------------------------------------------------------------
    async def require_pending_reader(
        self, interaction: discord.Interaction
    ) -> tuple[GuildConfig, Actor]:
        """The config and who is asking, or PermissionDenied for someone who decides no leave
        (managers, the leave approver role and the teams' approvers do)."""
        config = await guild_config(interaction)
        actor = actor_of(config, interaction.user)
        if not await self.leave.may_see_pending(config.guild_id, actor):
            raise PermissionDenied(
                "You need the Manager role, the leave approver role or to approve for a team "
                "(or Manage Server) to do that."
            )
        return config, actor

    async def pending_page(
        self, config: GuildConfig, page: int, actor: Actor | None = None
    ) -> tuple[discord.Embed, discord.ui.View | None]:
        """A page of the pending requests ``actor`` may decide (all without an actor). All of
        them: one page is read (what a manager sees, bench/bench_interactions.py); a team
        approver's are the pending requests filtered by their teams."""
        if actor is None or actor.is_manager:
            total, page, shown = await self.leave.pending_page(
                config.guild_id, page, PENDING_PER_PAGE
            )
        else:
            requests = await self.leave.pending_requests(config.guild_id, actor=actor)
            total = len(requests)
            page = max(0, min(page, -(-total // PENDING_PER_PAGE) - 1))
            shown = requests[page * PENDING_PER_PAGE : (page + 1) * PENDING_PER_PAGE]
        pages = max(1, -(-total // PENDING_PER_PAGE))
        name_of = self.name_of(config.guild_id)
        embed = paginate(
            f"Leave requests waiting for approval ({total})",
            pending_lines(shown, name_of, self.now()),
            colour=discord.Colour.gold(),
            empty="Nothing is waiting for approval.",
            per_page=PENDING_PER_PAGE,
        )[0]  # at most PENDING_PER_PAGE short lines: always one page
        if pages > 1:
            embed.set_footer(text=f"Page {page + 1}/{pages} · oldest first")
        view = pending_view([r.id for r in shown], page, pages) if shown else None
        return embed, view

    async def show_pending_page(self, interaction: discord.Interaction, page: int) -> None:
        """Replace the pending list the click came from with ``page`` (fresh data; the click
        is acknowledged first only when that takes longer than the answer budget)."""
        await acknowledge_later(interaction, thinking=False)
        config, actor = await self.require_pending_reader(interaction)
        embed, view = await self.pending_page(config, page, actor)
        await edit_clicked(interaction, content=None, embed=embed, view=view)

    # -- reminders -----------------------------------------------------------------------------
    async def _backups(
        self, config: GuildConfig, today: date, requests: list[LeaveRequest], now: datetime
    ) -> tuple[list[int], str]:
        """Who else hears of pending requests, and why: when every manager and approver is
        away all day (or there is none), or nobody answered within another
        ``leave_reminder_hours`` after the first reminder, members with Manage Server and
        the owner (those not away, and not already reminded by role)."""
        guild = self.bot.get_guild(config.guild_id)
        if guild is None:
            return [], ""
        approvers = approvers_of(guild, config)
        away = away_all_day(await self.leave.absences(config.guild_id, today, today))
        waited = timedelta(hours=2 * config.leave_reminder_hours)
        if not approvers - away:
            why = "Every manager is on leave today" if approvers else "There is no manager"
        elif any(r.created_at <= now - waited for r in requests):
            why = f"Nobody has answered for {2 * config.leave_reminder_hours} h"
        else:
            return [], ""
        admins = [
            m.id
            for m in guild.members
            if not m.bot and (m.guild_permissions.manage_guild or m.id == guild.owner_id)
        ]
        backups = [u for u in admins if u not in approvers and u not in away]
        if not backups and guild.owner_id is not None:
            backups = [guild.owner_id]  # the last resort, even when away
        return backups, why

    async def guilds_to_remind(self, now: datetime) -> set[int]:
        """The guilds :meth:`remind_pending` may have work in: a request pending for at least
        the shortest reminder delay (1 h)."""
        return await self.leave.guilds_with_pending(created_before=now - timedelta(hours=1))

    async def remind_pending(self, config: GuildConfig, now: datetime) -> None:
        """Tick job: requests pending longer than ``leave_reminder_hours`` are reminded to the
        manager role (and the approver role) in the approvals channel once a day each, on
        working days from the manager digest time (never at night, never twice a day, across
        restarts); when nobody of those can answer, also to the server's admins (_backups)."""
        channel = self._approvals_channel(config)
        if channel is None:
            return
        local = now.astimezone(config.tz)
        if local.weekday() not in config.workdays or local.time() < config.digest:
            return
        threshold = now - timedelta(hours=config.leave_reminder_hours)
        overdue = await self.leave.overdue_requests(config.guild_id, created_before=threshold)
        if not overdue:
            return
        day = local.date().isoformat()
        claimed = [
            request
            for request in overdue
            if await self.bot.job_ledger.claim_delivery(
                config.guild_id, REMINDER_KIND, f"{request.id}:{day}", now
            )
            is not None
        ]
        if not claimed:
            return
        keys = [f"{request.id}:{day}" for request in claimed]
        # One message for these claims: its nonce is theirs together, so a process that takes
        # the same claims again after a crash sends the same nonce.
        nonce = notification_nonce(config.guild_id, REMINDER_KIND, "+".join(keys))
        roles = [r for r in (config.manager_role_id, config.approver_role_id) if r is not None]
        backups, why = await self._backups(config, local.date(), claimed, now)
        # The approvers of the requesters' teams hear of their teams' requests too.
        team_people: list[int] = []
        for request in claimed:
            for user_id in (await self.approvers(request, config)).users:
                if user_id not in team_people and user_id not in backups:
                    team_people.append(user_id)
        users = [*team_people[:MAX_PINGS], *backups]
        mention = "".join(f"<@&{r}> " for r in roles) + "".join(f"<@{u}> " for u in users)
        count = len(claimed)
        content = (
            f"{mention}{count} leave request{'s have' if count != 1 else ' has'} been waiting "
            f"more than {config.leave_reminder_hours} h. Approve or reject on the cards above or "
            "with `/leave pending`."
        )
        if backups:
            content += f" {why}, so this goes to the server's admins too."
        # Ping exactly the approver roles, team approvers and backups named here, nobody else.
        pings = discord.AllowedMentions(
            everyone=False,
            roles=[discord.Object(r) for r in roles],
            users=[discord.Object(u) for u in users],
        )
        embeds = paginate(
            "Still waiting for approval",
            pending_lines(claimed, self.name_of(config.guild_id), now),
            colour=discord.Colour.gold(),
        )
        if len(embeds) > 1:
            more = plural(len(embeds) - 1, "more page")
            embeds[0].set_footer(text=f"and more on {more}: /leave pending")
        try:
            await channel.send(content[:2000], embed=embeds[0], allowed_mentions=pings, nonce=nonce)
        except discord.HTTPException:
            log.warning(
                "could not post the leave reminder in guild %s", config.guild_id, exc_info=True
            )
            for key in keys:  # give the claims back so the next pass retries
                await self.bot.job_ledger.release_notification(config.guild_id, REMINDER_KIND, key)
            return
        await self.bot.job_ledger.delivered(config.guild_id, REMINDER_KIND, *keys)
        log.info(
            "reminded managers of %d pending leave requests in guild %s", count, config.guild_id
        )


@dataclass(frozen=True)
class Approvers:
    """Whom a card goes to: users and roles to ping, and the line naming them."""

    users: tuple[int, ...]
    roles: tuple[int, ...]
    text: str


NOBODY = Approvers((), (), "")


@dataclass(frozen=True)
class Card:
    embed: discord.Embed
    view: discord.ui.View | None
    approvers: Approvers


def approvers_of(guild: discord.Guild, config: GuildConfig) -> set[int]:
    """Members of the manager role and the leave approver role (people, not bots)."""
    roles = {r for r in (config.manager_role_id, config.approver_role_id) if r is not None}
    return {m.id for m in guild.members if not m.bot and roles & {r.id for r in m.roles}}


def channel_problem(config: GuildConfig, *, lower: bool = False) -> str:
    """Why no card can be posted: no approvals channel, or one the bot cannot see."""
    if config.approvals_channel_id is None:
        return "no approvals channel is set up" if lower else "No approvals channel is set up"
    return (
        f"I cannot see the approvals channel <#{config.approvals_channel_id}> "
        "(deleted, or I lack access)"
    )
