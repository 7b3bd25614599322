"""``concord web``'s app on a seeded office (tests/web/office.py): the feeds read back with
vobject (a second iCalendar parser, not used at run time), the privacy rule, conditional GETs,
404 for unknown and revoked links after the same work, and the per-link rate limit."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

import pytest
import vobject
from flask.testing import FlaskClient

import concord.db.leave.feeds as feeds_module
from concord.clock import ManualClock
from concord.core.actor import Actor
from concord.db.leave import LeaveManager
from concord.db.leave.feeds import FeedKind, FeedManager, feed_content
from concord.web.app import create_app
from concord.web.cache import BodyCache
from concord.web.ratelimit import RateLimiter
from concord.web.store import ReadOnlyStore
from tests.web.office import BOB, GUILD, MANAGER, NOW, Office


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(office: Office, *, limit: int = 1000, ticks: Ticks | None = None) -> FlaskClient:
    limiter = RateLimiter(limit, monotonic=Ticks() if ticks is None else ticks)
    app = create_app(ReadOnlyStore(office.db_path), clock=ManualClock(NOW), limiter=limiter)
    return app.test_client()


def events(body: bytes) -> dict[str, Any]:
    calendar = vobject.readOne(body.decode("utf-8"))
    return {event.summary.value: event for event in calendar.vevent_list}


def test_a_members_office_feed_shows_who_is_out_without_types_or_reasons(office: Office) -> None:
    response = client(office).get(f"/feed/{office.member_office}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    calendar = vobject.readOne(response.data.decode("utf-8"))
    assert calendar.x_wr_calname.value == "Leave · office"
    found = events(response.data)
    assert set(found) == {
        "Holiday: Christmas Day",
        "Bob: Out",
        "Bob: Working elsewhere",
        "Carol: Annual (morning half day) (pending)",  # her own: in full
        "Carol: Casual (off duty 14:00–16:00)",
        "Dave: Out (afternoon half day)",
        "Dave: Out (pending)",
    }
    text = response.data.decode("utf-8")
    for secret in ("family visit", "moving house"):
        assert secret not in text
    assert found["Carol: Annual (morning half day) (pending)"].description.value == "dentist"
    assert found["Dave: Out (pending)"].status.value == "TENTATIVE"
    holiday = found["Holiday: Christmas Day"]
    assert holiday.dtstart.value == date(2026, 12, 25)  # an all-day event (VALUE=DATE)
    assert holiday.dtend.value == date(2026, 12, 26)
    off_duty = found["Carol: Casual (off duty 14:00–16:00)"]
    assert off_duty.dtstart.value == datetime(2026, 12, 11, 14, 0, tzinfo=UTC)  # office in UTC


def test_a_managers_office_feed_shows_types_and_reasons(office: Office) -> None:
    found = events(client(office).get(f"/feed/{office.manager_office}.ics").data)
    assert found["Bob: Annual"].description.value == "family visit"
    assert found["Dave: Annual (pending)"].description.value == "moving house"
    assert "Bob: Work from home" in found


def test_a_personal_feed_is_the_members_own_leave(office: Office) -> None:
    found = events(client(office).get(f"/feed/{office.bob_personal}.ics").data)
    assert set(found) == {"Holiday: Christmas Day", "Bob: Annual", "Bob: Work from home"}
    assert found["Bob: Annual"].description.value == "family visit"


def test_unknown_revoked_and_malformed_links_are_the_same_404(office: Office) -> None:
    web = client(office)
    unknown = web.get("/feed/" + "A" * 32 + ".ics")
    assert unknown.status_code == 404
    for path in ("/feed/x.ics", "/feed/" + "B" * 500 + ".ics", "/chart/" + "C" * 32):
        answer = web.get(path)
        assert (answer.status_code, answer.data) == (404, unknown.data)
    assert "Bob" not in unknown.data.decode()


async def test_a_revoked_link_answers_404_and_its_replacement_works(office: Office) -> None:
    web = client(office)
    issued = await FeedManager(office.db).issue(
        GUILD, Actor(BOB), FeedKind.PERSONAL, None, now=NOW, rotate=True
    )
    assert issued.revoked == 1 and issued.token
    assert web.get(f"/feed/{office.bob_personal}.ics").status_code == 404
    assert web.get(f"/chart/{office.bob_personal}").status_code == 404
    assert web.get(f"/feed/{issued.token}.ics").status_code == 200


def test_unknown_and_known_links_do_the_same_work(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No early exit for an unknown token: it is hashed, looked up and compared in constant time
    against a stand-in, exactly as a known one is compared against its row."""
    compared: list[tuple[bytes, bytes]] = []
    real = feeds_module.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(feeds_module.hmac, "compare_digest", spy)
    web = client(office)
    web.get("/feed/" + "A" * 32 + ".ics")
    web.get(f"/feed/{office.bob_personal}.ics")
    assert len(compared) == 2
    (dummy, unknown), (stored, known) = compared
    assert unknown == hashlib.sha256(b"A" * 32).hexdigest().encode()
    assert len(dummy) == len(stored) == 64 and stored == known


async def test_conditional_gets_answer_304_until_something_changes(office: Office) -> None:
    web = client(office)
    path = f"/feed/{office.member_office}.ics"
    first = web.get(path)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and modified.endswith("GMT")
    assert web.get(path).data == first.data  # stable bytes, so the ETag holds
    again = web.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    since = web.get(path, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    later = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    await LeaveManager(office.db).add_holiday(
        GUILD, date(2026, 12, 24), "Christmas Eve", actor=MANAGER, now=later
    )
    changed = web.get(path, headers={"If-None-Match": etag, "If-Modified-Since": modified})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "Holiday: Christmas Eve" in events(changed.data)
    assert changed.headers["Last-Modified"] == "Thu, 03 Dec 2026 11:00:00 GMT"
    etag = changed.headers["ETag"]
    # A name change is no audited event, and shows in the feed: a new tag too.
    await FeedManager(office.db).store_names(GUILD, [(BOB, "Robert")], now=later)
    renamed = web.get(path, headers={"If-None-Match": etag})
    assert renamed.status_code == 200 and "Robert: Out" in events(renamed.data)


def test_a_304_is_answered_without_building_the_feed(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = client(office)
    path = f"/feed/{office.member_office}.ics"
    etag = web.get(path).headers["ETag"]

    built: list[object] = []
    real = feed_content

    def counted(*args: Any) -> Any:
        built.append(args)
        return real(*args)

    monkeypatch.setattr("concord.web.app.feed_content", counted)
    assert web.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert built == []
    # A client without conditional headers gets the bytes built before (same version).
    assert web.get(path).status_code == 200 and built == []


def test_the_body_cache_keeps_to_its_budget() -> None:
    cache = BodyCache(max_bytes=100)
    for n in range(10):
        cache.put(f"tag{n}", b"x" * 30)
    assert cache.size <= 100 and cache.get("tag9") == b"x" * 30 and cache.get("tag0") is None
    cache.put("huge", b"y" * 101)
    assert cache.get("huge") is None


def test_a_link_gets_at_most_n_requests_a_minute(office: Office) -> None:
    ticks = Ticks()
    web = client(office, limit=3, ticks=ticks)
    path = f"/feed/{office.member_office}.ics"
    assert [web.get(path).status_code for _ in range(3)] == [200, 200, 200]
    refused = web.get(path)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert web.get(f"/chart/{office.member_office}").status_code == 429  # per link
    assert web.get(f"/feed/{office.bob_personal}.ics").status_code == 200  # other links go on
    ticks.now += 30
    assert web.get(path).headers["Retry-After"] == "30"
    ticks.now += 30
    assert web.get(path).status_code == 200


def test_the_rate_limiter_stays_bounded() -> None:
    ticks = Ticks()
    limiter = RateLimiter(2, monotonic=ticks, max_keys=100)
    for n in range(1000):
        assert limiter.hit(f"key{n}") is None
    assert len(limiter) <= 101


def test_the_chart_page_is_private_html(office: Office) -> None:
    web = client(office)
    page = web.get(f"/chart/{office.member_office}?month=2026-12")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.data.decode()
    assert 'href="?month=2026-11"' in html and 'href="?month=2027-01"' in html
    assert "family visit" not in html and "Annual" not in html.split("Carol")[0]
    assert web.get(f"/chart/{office.member_office}?month=2026-13").status_code == 400
    assert "December 2026" in web.get(f"/chart/{office.member_office}").data.decode()


def test_the_store_refuses_a_database_before_the_feeds(tmp_path: Any) -> None:
    from concord.db.database import DatabaseError, connect_sync

    conn = connect_sync(tmp_path / "old.db")
    conn.execute("PRAGMA user_version = 11")
    conn.close()
    with pytest.raises(DatabaseError, match="concord db migrate"):
        ReadOnlyStore(tmp_path / "old.db").check()
    with pytest.raises(DatabaseError, match="does not exist"):
        ReadOnlyStore(tmp_path / "missing.db").check()
