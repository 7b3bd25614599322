"""The README's invite link grants exactly what the sandbox gives the bot, so the end-to-end
tests show the bot working with those permissions and no more."""

from __future__ import annotations

import re
from pathlib import Path

from concord.sandbox.office import BOT_PERMISSIONS

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_invite_grants_what_the_sandbox_bot_has() -> None:
    links = re.findall(r"oauth2/authorize\?[^`\s]*permissions=(\d+)", README.read_text())
    assert links, "no invite link in the README"
    assert {int(p) for p in links} == {BOT_PERMISSIONS}
    assert f"= `{BOT_PERMISSIONS}`" in README.read_text()
