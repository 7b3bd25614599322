"""The wall chart in a real browser: ``concord web``'s app under waitress on loopback, headless
Chromium (Debian's package, driven by Playwright through ``executable_path``; `.ci/install-chromium`
installs it) looking at December 2026 of the seeded office (tests/web/office.py) as a person
would: which cells are coloured how, the holiday and weekends shaded, today outlined, what
hovering shows to a member and to a manager, the month links, and a phone-sized screen.

Without Chromium these tests skip with one line, except under CI=true (or
CONCORD_REQUIRE_CHROMIUM=1, which `.ci/run` sets), where they fail. A
screenshot of each run is saved under the test's tmp_path (and copied to
``$CONCORD_CHART_SCREENSHOT`` when that is set)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from concord.clock import ManualClock
from concord.core.wall_chart import CellKind
from concord.web.app import create_app
from concord.web.chart import HOLIDAY_COLOUR, KIND_COLOURS, TODAY_OUTLINE, WEEKEND_COLOUR
from concord.web.cli import build_server
from concord.web.store import ReadOnlyStore
from tests.web.office import ALICE, BOB, CAROL, DAVE, NOW, Office

playwright_api = pytest.importorskip("playwright.async_api")


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    why = "Chromium not found (apt-get install chromium, or run .ci/install-chromium)"
    if os.environ.get("CI", "").lower() == "true" or os.environ.get("CONCORD_REQUIRE_CHROMIUM"):
        pytest.fail(f"{why}: the wall chart's browser tests must run under CI (.ci/run)")
    pytest.skip(why)


@pytest.fixture
def server(office: Office) -> Iterator[str]:
    """``concord web``'s app under the production server (waitress) on a free loopback port."""
    app = create_app(ReadOnlyStore(office.db_path), clock=ManualClock(NOW))
    waitress = build_server(app, "127.0.0.1", 0)
    port = waitress.effective_port  # type: ignore[union-attr]
    thread = threading.Thread(target=waitress.run, name="chart-waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        # As tests/webhook does: close from the server's own loop, then stop its workers.
        waitress.trigger.pull_trigger(waitress.close)  # type: ignore[union-attr]
        thread.join(10)
        waitress.task_dispatcher.shutdown()  # type: ignore[union-attr]


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    executable = chromium_path()
    async with playwright_api.async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


CELL = 'tr[data-member="{member}"] td[data-day="{day}"]'
STYLE = "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.backgroundImage]; }"


async def style_of(page: object, member: int, day: str) -> tuple[str, str]:
    color, image = await page.eval_on_selector(CELL.format(member=member, day=day), STYLE)  # type: ignore[attr-defined]
    return color, image


async def test_a_member_sees_the_month_coloured_by_kind_without_types(
    server: str, browser: object, office: Office, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 420})  # type: ignore[attr-defined]
    await page.goto(f"{server}/chart/{office.member_office}?month=2026-12")
    assert await page.title() == "Leave · office · December 2026"
    names = await page.locator("tbody th.name").all_inner_texts()
    assert names == ["Alice", "Bob", "Carol", "Dave"]
    # What each seeded request looks like.
    expected = {
        (BOB, "2026-12-07"): (KIND_COLOURS[CellKind.FULL], False),
        (BOB, "2026-12-08"): (KIND_COLOURS[CellKind.FULL], False),
        (CAROL, "2026-12-09"): (KIND_COLOURS[CellKind.AM], True),
        (DAVE, "2026-12-10"): (KIND_COLOURS[CellKind.PM], False),
        (CAROL, "2026-12-11"): (KIND_COLOURS[CellKind.HOURS], False),
        (BOB, "2026-12-14"): (KIND_COLOURS[CellKind.ELSEWHERE], False),
        (DAVE, "2026-12-15"): (KIND_COLOURS[CellKind.FULL], True),
    }
    for (member, day), (colour, hatched) in expected.items():
        background, image = await style_of(page, member, day)
        assert background == colour, (member, day)
        assert ("repeating-linear-gradient" in image) is hatched, (member, day)
    # Nobody else is out: an ordinary working day is left white (transparent).
    assert await style_of(page, ALICE, "2026-12-07") == ("rgba(0, 0, 0, 0)", "none")
    # Weekends and the holiday are shaded for everyone; leave never lands on them.
    assert (await style_of(page, BOB, "2026-12-12"))[0] == WEEKEND_COLOUR
    for member in (ALICE, BOB, CAROL, DAVE):
        assert (await style_of(page, member, "2026-12-25"))[0] == HOLIDAY_COLOUR
    holiday_head = page.locator('thead th[data-day="2026-12-25"]')
    assert await holiday_head.get_attribute("title") == "Holiday: Christmas Day"
    # Today (3 December in the office's zone) is outlined.
    today = page.locator('thead th[data-day="2026-12-03"]')
    assert await today.evaluate("e => getComputedStyle(e).outlineColor") == TODAY_OUTLINE
    # Hovering shows the portion to a member, never another member's type or reason.
    bob_cell = page.locator(CELL.format(member=BOB, day="2026-12-07"))
    await bob_cell.hover()
    assert await bob_cell.get_attribute("title") == "Out (full day)"
    dave_cell = page.locator(CELL.format(member=DAVE, day="2026-12-15"))
    assert await dave_cell.get_attribute("title") == "Out (full day) — pending"
    carol_own = page.locator(CELL.format(member=CAROL, day="2026-12-09"))
    assert await carol_own.get_attribute("title") == "Annual (morning) — pending: dentist"
    html = await page.content()
    for private in ("family visit", "moving house", "Work from home"):
        assert private not in html
    shot = tmp_path / "chart-member.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("CONCORD_CHART_SCREENSHOT"):
        shutil.copy(shot, os.environ["CONCORD_CHART_SCREENSHOT"])
    # The month links.
    await page.click("a[rel=next]")
    assert page.url.endswith("?month=2027-01")
    assert await page.title() == "Leave · office · January 2027"
    await page.click("a[rel=prev]")
    await page.click("a[rel=prev]")
    assert page.url.endswith("?month=2026-11")


async def test_a_managers_link_shows_types_and_reasons_on_hover(
    server: str, browser: object, office: Office
) -> None:
    page = await browser.new_page()  # type: ignore[attr-defined]
    await page.goto(f"{server}/chart/{office.manager_office}?month=2026-12")
    cell = page.locator(CELL.format(member=BOB, day="2026-12-07"))
    await cell.hover()
    assert await cell.get_attribute("title") == "Annual (full day): family visit"
    dave = page.locator(CELL.format(member=DAVE, day="2026-12-15"))
    assert await dave.get_attribute("title") == "Annual (full day) — pending: moving house"
    wfh = page.locator(CELL.format(member=BOB, day="2026-12-14"))
    assert await wfh.get_attribute("title") == "Work from home (full day)"


async def test_on_a_phone_the_names_stay_and_the_days_scroll(
    server: str, browser: object, office: Office, tmp_path: Path
) -> None:
    context = await browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    page = await context.new_page()
    await page.goto(f"{server}/chart/{office.bob_personal}?month=2026-12")
    assert await page.locator("tbody th.name").all_inner_texts() == ["Bob"]
    # The page itself does not scroll sideways; the table does, inside its box.
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth,"
        " document.querySelector('.scroll').scrollWidth,"
        " document.querySelector('.scroll').clientWidth]"
    )
    page_width, window_width, table_width, box_width = widths
    assert page_width <= window_width and table_width > box_width
    name = page.locator("tbody th.name")
    assert await name.evaluate("e => getComputedStyle(e).position") == "sticky"
    await page.evaluate("document.querySelector('.scroll').scrollLeft = 400")
    box = await name.bounding_box()
    assert box is not None and box["x"] < 20  # still at the left edge after scrolling
    font = await page.locator("h1").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert font >= 16
    await page.screenshot(path=str(tmp_path / "chart-phone.png"))
    await context.close()
