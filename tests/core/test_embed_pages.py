"""Packing fields and buttons into messages that Discord accepts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from concord.core.embed_pages import (
    BUTTONS_PER_MESSAGE,
    EMBEDS_PER_MESSAGE,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    MESSAGE_EMBED_CHARS,
    TITLE_MAX,
    ButtonSpec,
    EmbedSpec,
    FieldSpec,
    Item,
    MessageSpec,
    chunk_lines,
    first_lines,
    pack,
    pack_sections,
    split_text,
)
from concord.core.text import clip


def assert_within_limits(messages: list[MessageSpec]) -> None:
    for message in messages:
        assert 1 <= len(message.embeds) <= EMBEDS_PER_MESSAGE
        assert message.size <= MESSAGE_EMBED_CHARS
        assert len(message.buttons) <= BUTTONS_PER_MESSAGE
        for embed in message.embeds:
            assert len(embed.fields) <= FIELDS_MAX
            assert len(embed.title or "") <= TITLE_MAX
            for field in embed.fields:
                assert len(field.value) <= FIELD_VALUE_MAX
                assert field.name and field.value


def test_clip_marks_the_cut() -> None:
    assert clip("hello", 10) == "hello"
    assert clip("hello world", 6) == "hello…"
    assert len(clip("x" * 5000, 1024)) == 1024
    assert clip("abc", 0) == ""


def test_clip_trims_the_spaces_the_cut_leaves() -> None:
    assert clip("a long title", 8) == "a long…"
    assert clip("line one\n  line two", 11) == "line one…"


def test_first_lines_skips_blank_lines_and_marks_more() -> None:
    assert first_lines("a\n\nb\nc\nd", 2, 100) == "a\nb\n…"
    assert first_lines("one", 3, 100) == "one"


def test_chunk_lines_never_splits_a_line() -> None:
    lines = [f"<@{1000 + i}>" for i in range(300)]
    chunks = chunk_lines(lines, 100, ", ")
    assert all(len(c) <= 100 for c in chunks)
    assert ", ".join(chunks).split(", ") == lines


def test_one_small_message() -> None:
    items = [Item(FieldSpec("a", "b"))]
    [message] = pack("Title", "desc", items)
    assert message.embeds[0].title == "Title"
    assert message.embeds[0].description == "desc"
    assert message.embeds[0].fields == (FieldSpec("a", "b"),)


def test_three_hundred_reports_page_with_counters_and_buttons_follow_their_fields() -> None:
    items = [
        Item(
            FieldSpec(f"member {i}", "did things\n" * 30),
            ButtonSpec(f"dar:blocker:{i}", f"Make task: member {i}") if i % 2 else None,
        )
        for i in range(300)
    ]
    messages = pack("Daily reports — Tue 1 Dec 2026", "**250 / 300** filed", items)
    assert len(messages) > 1
    assert_within_limits(messages)
    assert messages[0].embeds[0].title.endswith(f"(1/{len(messages)})")
    assert "continued" in (messages[1].embeds[0].title or "")
    placed = [f.name for m in messages for e in m.embeds for f in e.fields]
    assert placed == [f"member {i}" for i in range(300)]
    for message in messages:
        names = {f.name for e in message.embeds for f in e.fields}
        for button in message.buttons:
            assert f"member {button.custom_id.rsplit(':', 1)[1]}" in names


def test_buttons_alone_force_a_new_message() -> None:
    items = [
        Item(FieldSpec(f"m{i}", "x"), ButtonSpec(f"dar:blocker:{i}", "Make")) for i in range(60)
    ]
    messages = pack("T", None, items)
    assert [len(m.buttons) for m in messages] == [25, 25, 10]
    assert_within_limits(messages)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=0, max_size=300), st.text(min_size=0, max_size=1500), st.booleans()
        ),
        max_size=120,
    ),
    st.text(max_size=300),
)
def test_any_items_pack_within_limits_in_order(
    raw: list[tuple[str, str, bool]], title: str
) -> None:
    items = [
        Item(FieldSpec(name, value), ButtonSpec(f"x:{i}", "b") if button else None)
        for i, (name, value, button) in enumerate(raw)
    ]
    messages = pack(title or "T", "d", items)
    assert_within_limits(messages)
    placed = [f for m in messages for e in m.embeds for f in e.fields]
    assert placed == [i.field for i in items]


def test_split_text_cuts_at_line_ends() -> None:
    text = "\n".join(f"line {i:04d} " + "x" * 40 for i in range(200))
    pieces = split_text(text, 4096)
    assert all(len(p) <= 4096 for p in pieces)
    assert "\n".join(pieces) == text
    assert split_text("", 10) == [""]
    assert split_text("y" * 25, 10) == ["y" * 10, "y" * 10, "y" * 5]


def test_pack_sections_splits_long_documents_across_messages() -> None:
    head = EmbedSpec(title="Report", description="facts")
    messages = pack_sections(
        head, [("Done", "d" * 4000), ("Plan", "p" * 4000), ("Blockers", "b" * 1000)]
    )
    assert_within_limits(messages)
    assert len(messages) == 2
    titles = [e.title for m in messages for e in m.embeds]
    assert titles == ["Report", "Done", "Plan", "Blockers"]
    long = pack_sections(head, [("Done", "word " * 2000)])
    assert [e.title for m in long for e in m.embeds] == [
        "Report",
        "Done",
        "Done (cont.)",
        "Done (cont.)",
    ]
