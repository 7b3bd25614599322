"""Helpers every cog shares: one safe way to reply, and the manager check at the point of use."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import discord

from concord.core.actor import Actor
from concord.core.settings import GuildConfig, can_approve_leave, is_manager
from concord.errors import PermissionDenied, UserError
from concord.telemetry import TOO_LATE, mark_outcome

if TYPE_CHECKING:
    from concord.bot import ConcordBot

log = logging.getLogger(__name__)
MANAGER_ONLY = "You need the Manager role (or Manage Server) to do that."
APPROVERS_ONLY = (
    "Only managers can do that (the Manager role or the leave approver role, "
    "Manage Server or the owner)."
)
# Discord's answers when an interaction can no longer be answered: Unknown interaction (its
# 3 seconds passed, e.g. while the bot was reconnecting), Unknown Webhook and Invalid Webhook
# Token (its token expired).
INTERACTION_GONE = frozenset({10062, 10015, 50027})
SHORT_VIEW_TIMEOUT = 600.0
DISABLEABLE = (
    discord.ui.Button,
    discord.ui.Select,
    discord.ui.UserSelect,
    discord.ui.RoleSelect,
    discord.ui.MentionableSelect,
    discord.ui.ChannelSelect,
)


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """The one way a view, form or dynamic item hands an error to the bot's error path
    (``ConcordBot.report_error``: a message for a ``UserError``, an apology with an id else)."""
    bot: ConcordBot = interaction.client  # type: ignore[assignment]
    await bot.report_error(interaction, error)


async def forward_errors(interaction: discord.Interaction, action: Awaitable[None]) -> None:
    """Run a component's action; any error goes to the bot's one error path."""
    try:
        await action
    except Exception as error:
        await report_error(interaction, error)


ANSWERED = "concord.answered"  # in Interaction.extras: the loading message was replaced
HELD = "concord.held"  # in Interaction.extras: the deferral held back (acknowledge_later)
MAYBE_LATE = "concord.maybe_late"  # in Interaction.extras: replayed after a reconnect (bot.py)
# Discord waits 3 s for the first answer. Work done within this budget is answered directly, in
# one REST call; past it, the interaction is deferred ("thinking…" or a silent click
# acknowledgement) and answered by an edit, the second call, as before.
ANSWER_BUDGET = 1.5


class HeldDeferral:
    """The deferral :func:`acknowledge_later` holds back. Its lock orders the first answer and
    the deferral, so exactly one of them is the interaction's initial response."""

    def __init__(
        self, interaction: discord.Interaction, *, ephemeral: bool, thinking: bool
    ) -> None:
        self.interaction = interaction
        self.ephemeral = ephemeral
        self.thinking = thinking
        self.lock = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None
        self.timer = asyncio.get_running_loop().call_later(ANSWER_BUDGET, self._fire)

    def _fire(self) -> None:
        self.task = asyncio.create_task(self._defer())

    async def _defer(self) -> None:
        async with self.lock:
            if self.interaction.response.is_done():
                return
            try:
                await self.interaction.response.defer(
                    ephemeral=self.ephemeral, thinking=self.thinking
                )
            except discord.HTTPException as error:
                # The answer that follows meets the same error, and the error path decides.
                log.warning("could not defer interaction %s: %s", self.interaction.id, error.text)


async def acknowledge_later(
    interaction: discord.Interaction, *, ephemeral: bool = True, thinking: bool = True
) -> None:
    """Instead of deferring at once: defer only if the interaction is still unanswered after
    ANSWER_BUDGET seconds. Answer through :func:`answer`, :func:`edit_clicked` or
    :func:`safe_reply`, which answer directly while the deferral is still held back. A click
    is acknowledged with ``thinking=False`` (DEFERRED_UPDATE_MESSAGE). With no budget at all
    (0), or for an interaction replayed after a reconnect (which may be past its 3 seconds:
    then the deferral fails and the command does nothing), this defers at once."""
    if interaction.response.is_done() or HELD in interaction.extras:
        return
    if ANSWER_BUDGET <= 0 or interaction.extras.get(MAYBE_LATE):
        await interaction.response.defer(ephemeral=ephemeral, thinking=thinking)
        return
    interaction.extras[HELD] = HeldDeferral(interaction, ephemeral=ephemeral, thinking=thinking)


_NO_LOCK = contextlib.nullcontext()


def _held(interaction: discord.Interaction) -> HeldDeferral | None:
    held = interaction.extras.get(HELD)
    return held if isinstance(held, HeldDeferral) else None


def _stored_by_send(view: discord.ui.View | None) -> bool:
    """Whether sending ``view`` as an initial response would store a persistent view (with
    dynamic items) under a 15-minute timeout: discord.py stores any unfinished view there,
    and dropping it later would unregister the dynamic items bot-wide."""
    return view is not None and view.timeout is None and not view.is_finished()


def still_thinking(interaction: discord.Interaction) -> bool:
    """Whether the interaction was deferred with a "thinking…" message not yet replaced."""
    return (
        interaction.response.type is discord.InteractionResponseType.deferred_channel_message
        and not interaction.extras.get(ANSWERED, False)
    )


async def answer(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    embeds: Sequence[discord.Embed] | None = None,
    view: discord.ui.View | None = None,
    file: discord.File | None = None,
    ephemeral: bool = True,
) -> discord.Message:
    """Answer an interaction, whatever its state. Unanswered (or its deferral held back by
    :func:`acknowledge_later`), this is the initial response. The first answer after a thinking
    deferral replaces the loading message through Edit Original Interaction Response (which
    keeps the deferral's ephemerality); a followup would do the same, but the docs deprecate
    that. Any later answer is a followup message."""
    kwargs: dict[str, Any] = {}
    if content is not None:
        kwargs["content"] = content
    if embed is not None:
        kwargs["embed"] = embed
    if embeds is not None:
        kwargs["embeds"] = list(embeds)
    if view is not None:
        kwargs["view"] = view
    if not interaction.response.is_done():
        first = await _first_answer(interaction, kwargs, file, ephemeral=ephemeral)
        if first is not None:
            return first
    if still_thinking(interaction):
        if file is not None:
            kwargs["attachments"] = [file]
        message = await interaction.edit_original_response(**kwargs)
        interaction.extras[ANSWERED] = True
        return message
    if file is not None:
        kwargs["file"] = file
    return await interaction.followup.send(ephemeral=ephemeral, wait=True, **kwargs)


async def _first_answer(
    interaction: discord.Interaction,
    kwargs: dict[str, Any],
    file: discord.File | None,
    *,
    ephemeral: bool,
) -> discord.Message | None:
    """The initial response, sent directly (one REST call); None when the interaction was
    acknowledged meanwhile (the deferral fired) or had to be, and the caller edits or follows
    up as usual."""
    held = _held(interaction)
    async with held.lock if held is not None else _NO_LOCK:
        if interaction.response.is_done():
            return None
        if held is not None:
            held.timer.cancel()
        if _stored_by_send(kwargs.get("view")):
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            return None
        if file is not None:
            kwargs = {**kwargs, "file": file}
        sent = await interaction.response.send_message(ephemeral=ephemeral, **kwargs)
    if isinstance(sent.resource, discord.InteractionMessage):
        return sent.resource
    return await interaction.original_response()


async def safe_reply(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    ephemeral: bool = True,
) -> None:
    """Reply whether or not the interaction was already answered; never raises."""
    text = content[:2000] if content is not None else None
    try:
        await answer(interaction, text, embed=embed, ephemeral=ephemeral)
    except discord.HTTPException:
        log.warning("could not deliver a reply to interaction %s", interaction.id, exc_info=True)


async def edit_clicked(interaction: discord.Interaction, **changes: Any) -> None:
    """Edit the message whose button was clicked: directly (UPDATE_MESSAGE) while the
    acknowledgement is held back (:func:`acknowledge_later`), else through the interaction."""
    held = _held(interaction)
    if held is not None and not interaction.response.is_done():
        async with held.lock:
            if not interaction.response.is_done():
                held.timer.cancel()
                await interaction.response.edit_message(**changes)
                return
    await interaction.edit_original_response(**changes)


async def answer_in_time(answer: Awaitable[object]) -> bool:
    """Send an interaction's answer; False when Discord no longer takes one. A button's action
    is saved by then, so its other effects (card edits, DMs, the next card) must go on
    without the answer rather than stop with it."""
    try:
        await answer
    except discord.HTTPException as error:
        if error.code not in INTERACTION_GONE:
            raise
        mark_outcome(TOO_LATE)
        log.warning("an interaction expired before it was answered (%s); carrying on", error.text)
        return False
    return True


class FieldInput(discord.ui.TextInput[Any]):
    """A modal's text field, placed in a :func:`modal_field` label. Current docs: a text input
    "must be placed inside a Label" (action rows of text inputs are deprecated) and may not
    carry a label of its own there; discord.py 2.7 would still send ``"label": null``."""

    def to_component_dict(self) -> Any:
        payload = dict(super().to_component_dict())
        if payload.get("label") is None:
            payload.pop("label", None)
        return payload


def modal_field(
    text: str, *, description: str | None = None, **options: Any
) -> discord.ui.Label[Any]:
    """A labelled text field for a modal: ``options`` are :class:`discord.ui.TextInput`'s."""
    return discord.ui.Label(text=text, description=description, component=FieldInput(**options))


def field_input(label: discord.ui.Label[Any]) -> discord.ui.TextInput[Any]:
    """The text input inside a :func:`modal_field` (to prefill ``default`` or read ``value``)."""
    component = label.component
    if not isinstance(component, discord.ui.TextInput):
        raise TypeError(f"the modal field {label.text!r} holds no text input")
    return component


def actor_of(config: GuildConfig, user: discord.abc.User) -> Actor:
    """Who is acting in the config's guild, as the managers' permission checks take it. A
    plain user (a click in a DM, someone who left) holds no role there."""
    if not isinstance(user, discord.Member) or user.guild.id != config.guild_id:
        return Actor(user.id)
    return Actor.in_guild(
        config,
        user.id,
        role_ids=[role.id for role in user.roles],
        manage_guild=user.guild_permissions.manage_guild,
        is_owner=user.guild.owner_id == user.id,
    )


def _member_passes(
    rule: Callable[..., bool], config: GuildConfig, member: discord.Member | discord.User
) -> bool:
    """A core permission rule applied to a member's roles, Manage Server and ownership (a user
    outside a guild passes none)."""
    if not isinstance(member, discord.Member):
        return False
    return rule(
        config,
        role_ids=[role.id for role in member.roles],
        manage_guild=member.guild_permissions.manage_guild,
        is_owner=member.guild.owner_id == member.id,
    )


def member_is_manager(config: GuildConfig, member: discord.Member | discord.User) -> bool:
    return _member_passes(is_manager, config, member)


def guild_id_of(interaction: discord.Interaction) -> int:
    if interaction.guild_id is None:
        raise UserError("That only works inside a server, not in DMs.")
    return interaction.guild_id


async def guild_config(interaction: discord.Interaction) -> GuildConfig:
    bot: ConcordBot = interaction.client  # type: ignore[assignment]
    return await bot.guild_settings.get(guild_id_of(interaction))


def member_can_approve(config: GuildConfig, member: discord.Member | discord.User) -> bool:
    """A manager, or a member of the leave approver role (``/leave setup approver_role``)."""
    return _member_passes(can_approve_leave, config, member)


async def require_approver(interaction: discord.Interaction) -> GuildConfig:
    """The guild's config, or PermissionDenied when the user may not decide leave."""
    config = await guild_config(interaction)
    if not member_can_approve(config, interaction.user):
        raise PermissionDenied(
            "You need the Manager role or the leave approver role (or Manage Server) to do that."
        )
    return config


async def require_manager(interaction: discord.Interaction) -> GuildConfig:
    """The guild's config, or PermissionDenied when the user is not a manager."""
    config = await guild_config(interaction)
    if not member_is_manager(config, interaction.user):
        raise PermissionDenied(MANAGER_ONLY)
    return config


class OwnerView(discord.ui.View):
    """A short-lived view only its owner may use; its buttons go grey when it expires."""

    refusal: str = "These buttons belong to whoever ran the command."

    def __init__(self, owner_id: int, timeout: float = SHORT_VIEW_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.message: discord.Message | None = None

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(self.refusal, ephemeral=True)
        return False

    def disable(self) -> None:
        for item in self.children:
            if isinstance(item, DISABLEABLE):
                item.disabled = True

    async def on_timeout(self) -> None:
        self.disable()
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException:
                log.debug("could not disable an expired view", exc_info=True)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await report_error(interaction, error)


class PageButton(discord.ui.Button["PagerView"]):
    """One of a pager's two buttons: turns ``step`` pages."""

    def __init__(self, label: str, custom_id: str, step: int) -> None:
        super().__init__(label=label, style=discord.ButtonStyle.secondary, custom_id=custom_id)
        self.step = step

    async def callback(self, interaction: discord.Interaction) -> None:
        if self.view is not None:
            await self.view.turn(interaction, self.step)


class PagerView(OwnerView):
    """◀ Previous / Next ▶ through ``count`` pages of one embed each (``render(index)``), for
    whoever ran the command. Custom ids ``<module>:page:previous|next``; not persistent (after a
    restart a click is answered "open it again")."""

    refusal = "These pages belong to whoever ran the command; run it yourself to turn them."

    def __init__(
        self,
        owner_id: int,
        count: int,
        render: Callable[[int], discord.Embed],
        *,
        module: str,
        timeout: float = SHORT_VIEW_TIMEOUT,
    ) -> None:
        super().__init__(owner_id, timeout)
        self.count = max(1, count)
        self.render = render
        self.index = 0
        self.previous = PageButton("◀ Previous", f"{module}:page:previous", -1)
        self.following = PageButton("Next ▶", f"{module}:page:next", 1)
        self.add_item(self.previous)
        self.add_item(self.following)
        self._sync_buttons()

    @classmethod
    def of_embeds(
        cls,
        owner_id: int,
        pages: Sequence[discord.Embed],
        *,
        module: str,
        timeout: float = SHORT_VIEW_TIMEOUT,
    ) -> PagerView:
        """A pager over embeds rendered up front."""
        return cls(owner_id, len(pages), list(pages).__getitem__, module=module, timeout=timeout)

    def embed(self) -> discord.Embed:
        return self.render(self.index)

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.index == 0
        self.following.disabled = self.index >= self.count - 1

    async def turn(self, interaction: discord.Interaction, step: int) -> None:
        self.index = max(0, min(self.index + step, self.count - 1))
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self)
