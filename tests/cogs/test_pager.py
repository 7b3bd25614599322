"""The one pager view (``cogs.common.PagerView``) that the Leave and Tasks lists share; turning
pages and the owner-only check run end to end in the Leave and Tasks tests."""

from __future__ import annotations

import discord

from concord.cogs.common import PagerView


def labelled(pager: PagerView) -> list[tuple[str | None, str | None, bool]]:
    return [
        (item.label, item.custom_id, item.disabled)
        for item in pager.children
        if isinstance(item, discord.ui.Button)
    ]


async def test_a_pager_names_its_buttons_by_module_and_starts_on_the_first_page() -> None:
    pager = PagerView(7, 3, lambda page: discord.Embed(title=f"page {page + 1}"), module="kudos")
    assert labelled(pager) == [
        ("◀ Previous", "kudos:page:previous", True),
        ("Next ▶", "kudos:page:next", False),
    ]
    assert pager.embed().title == "page 1"
    assert pager.owner_id == 7 and pager.count == 3
    pager.stop()


async def test_a_pager_over_one_embed_has_nowhere_to_go() -> None:
    pager = PagerView.of_embeds(7, [discord.Embed(title="only")], module="leave")
    assert [disabled for *_, disabled in labelled(pager)] == [True, True]
    assert pager.embed().title == "only"
    pager.stop()
