"""Who is acting, as every permission rule needs it: one value built once per interaction
(``cogs.common.actor_of``) and passed to each manager method that decides permission, which
checks it at the moment of the write."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from concord.core.settings import GuildConfig, can_approve_leave, is_manager


@dataclass(frozen=True)
class Actor:
    user_id: int
    # A manager: the configured manager role, Manage Server, or the owner.
    is_manager: bool = False
    role_ids: frozenset[int] = frozenset()
    is_owner: bool = False
    can_manage_guild: bool = False
    # Also decides leave: a manager, or a member of the leave approver role.
    can_approve_leave: bool = False

    @classmethod
    def in_guild(
        cls,
        config: GuildConfig,
        user_id: int,
        *,
        role_ids: Iterable[int] = (),
        manage_guild: bool = False,
        is_owner: bool = False,
    ) -> Actor:
        roles = frozenset(role_ids)
        return cls(
            user_id=user_id,
            is_manager=is_manager(
                config, role_ids=roles, manage_guild=manage_guild, is_owner=is_owner
            ),
            role_ids=roles,
            is_owner=is_owner,
            can_manage_guild=manage_guild,
            can_approve_leave=can_approve_leave(
                config, role_ids=roles, manage_guild=manage_guild, is_owner=is_owner
            ),
        )

    @property
    def decides_leave(self) -> bool:
        return self.is_manager or self.can_approve_leave
