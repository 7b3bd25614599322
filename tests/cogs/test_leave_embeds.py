"""Leave's list pages fit text with the one ``clip`` (``core.text``)."""

from __future__ import annotations

from concord.cogs.leave.embeds import paginate


def test_a_long_line_is_clipped_without_a_space_before_the_ellipsis() -> None:
    line = "x" * 998 + " and the rest of a very long reason"
    [page] = paginate("History", [line])
    assert page.description == "x" * 998 + "…"
