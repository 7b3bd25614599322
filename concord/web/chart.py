"""The wall chart as one HTML page with its CSS inline: members down, days across, each cell
coloured by the kind of leave (full day, morning, afternoon, hours off, working elsewhere),
pending leave hatched, weekends and holidays shaded, today outlined. No JavaScript. The names
column stays put while the days scroll sideways, so it reads on a phone."""

from __future__ import annotations

from datetime import date
from html import escape

from concord.core.wall_chart import CELL_LABELS, CELL_LETTERS, CellKind, ChartCell, MonthChart

# The colours the browser test checks (tests/web/test_chart_browser.py) come from here.
KIND_COLOURS: dict[CellKind, str] = {
    CellKind.FULL: "rgb(217, 83, 79)",
    CellKind.AM: "rgb(240, 173, 78)",
    CellKind.PM: "rgb(91, 146, 229)",
    CellKind.HOURS: "rgb(155, 114, 207)",
    CellKind.ELSEWHERE: "rgb(92, 184, 92)",
}
WEEKEND_COLOUR = "rgb(236, 236, 236)"
HOLIDAY_COLOUR = "rgb(255, 236, 179)"
TODAY_OUTLINE = "rgb(2, 117, 216)"
HATCH = "repeating-linear-gradient(135deg, rgba(255, 255, 255, 0.75) 0 3px, transparent 3px 7px)"

_CSS = f"""
:root {{ color-scheme: light; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; padding: 12px; font: 14px/1.4 system-ui, -apple-system, "Segoe UI",
  Roboto, sans-serif; color: #222; background: #fff; }}
header {{ display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px 16px;
  margin-bottom: 8px; }}
h1 {{ font-size: 1.2rem; margin: 0; }}
nav a {{ display: inline-block; padding: 6px 10px; border: 1px solid #ccc; border-radius: 6px;
  color: #0257a5; text-decoration: none; }}
.scroll {{ overflow-x: auto; -webkit-overflow-scrolling: touch; border: 1px solid #ddd; }}
table {{ border-collapse: separate; border-spacing: 0; font-size: 12px; }}
th, td {{ border-right: 1px solid #e3e3e3; border-bottom: 1px solid #e3e3e3; padding: 0;
  text-align: center; min-width: 28px; height: 28px; }}
th.name {{ position: sticky; left: 0; z-index: 1; background: #fafafa; text-align: left;
  padding: 0 8px; min-width: 7.5rem; max-width: 11rem; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; font-weight: 600; }}
thead th {{ background: #fafafa; font-weight: 500; }}
thead th .dow {{ display: block; font-size: 10px; color: #777; }}
.weekend {{ background-color: {WEEKEND_COLOUR}; }}
.holiday {{ background-color: {HOLIDAY_COLOUR}; }}
.today {{ outline: 2px solid {TODAY_OUTLINE}; outline-offset: -2px; }}
td.leave {{ color: #fff; font-weight: 600; }}
{"".join(f"td.k-{kind.value} {{ background-color: {colour}; }}" for kind, colour in KIND_COLOURS.items())}
td.pending {{ background-image: {HATCH}; color: #111; text-shadow: 0 0 3px #fff, 0 0 2px #fff; }}
.legend {{ display: flex; flex-wrap: wrap; gap: 6px 14px; margin: 10px 0 0; padding: 0;
  list-style: none; font-size: 12px; }}
.legend span {{ display: inline-block; width: 16px; height: 16px; vertical-align: middle;
  margin-right: 4px; border: 1px solid #ccc; }}
.empty {{ color: #666; }}
@media (max-width: 600px) {{ body {{ padding: 6px; }} th, td {{ min-width: 24px; }}
  th.name {{ min-width: 5.5rem; }} }}
"""


def _month_param(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _cell_html(cell: ChartCell) -> str:
    classes = []
    if cell.weekend:
        classes.append("weekend")
    if cell.holiday:
        classes.append("holiday")
    if cell.today:
        classes.append("today")
    if cell.kind is not CellKind.NONE:
        classes += ["leave", f"k-{cell.kind.value}"]
        if cell.pending:
            classes.append("pending")
    attributes = [f'data-day="{cell.day.isoformat()}"', f'data-kind="{cell.kind.value}"']
    if cell.pending:
        attributes.append('data-pending="1"')
    if classes:
        attributes.append(f'class="{" ".join(classes)}"')
    if cell.title:
        attributes.append(f'title="{escape(cell.title)}"')
    letter = CELL_LETTERS[cell.kind]
    return f"<td {' '.join(attributes)}>{escape(letter)}</td>"


def render_chart(chart: MonthChart, *, title: str) -> str:
    month_name = chart.month.strftime("%B %Y")
    head = ['<th class="name" scope="col">Member</th>']
    for day in chart.days:
        classes = []
        if day.weekday() not in chart.workdays:
            classes.append("weekend")
        holiday = chart.holidays.get(day)
        if holiday:
            classes.append("holiday")
        if day == chart.today:
            classes.append("today")
        attributes = [f'data-day="{day.isoformat()}"', 'scope="col"']
        if classes:
            attributes.append(f'class="{" ".join(classes)}"')
        if holiday:
            attributes.append(f'title="{escape(f"Holiday: {holiday}")}"')
        head.append(
            f"<th {' '.join(attributes)}>{day.day}"
            f'<span class="dow">{day.strftime("%a")[:2]}</span></th>'
        )
    body = []
    for row in chart.rows:
        cells = "".join(_cell_html(cell) for cell in row.cells)
        body.append(
            f'<tr data-member="{row.user_id}"><th class="name" scope="row" '
            f'title="{escape(row.name)}">{escape(row.name)}</th>{cells}</tr>'
        )
    if not body:
        body.append(
            f'<tr><td class="empty" colspan="{len(chart.days) + 1}">Nobody to show yet.</td></tr>'
        )
    legend = "".join(
        f'<li><span style="background-color: {KIND_COLOURS[kind]}"></span>{escape(label)}</li>'
        for kind, label in CELL_LABELS.items()
    )
    legend += (
        f'<li><span style="background-color: {KIND_COLOURS[CellKind.FULL]}; '
        f'background-image: {HATCH}"></span>Pending</li>'
        f'<li><span style="background-color: {WEEKEND_COLOUR}"></span>Weekend</li>'
        f'<li><span style="background-color: {HOLIDAY_COLOUR}"></span>Holiday</li>'
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{escape(title)} · {escape(month_name)}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(title)} · {escape(month_name)}</h1><nav>"
        f'<a rel="prev" href="?month={_month_param(chart.previous_month)}">◀ '
        f"{escape(chart.previous_month.strftime('%b'))}</a> "
        f'<a rel="next" href="?month={_month_param(chart.next_month)}">'
        f"{escape(chart.next_month.strftime('%b'))} ▶</a></nav></header>"
        f'<div class="scroll"><table id="chart"><thead><tr>{"".join(head)}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
        f'<ul class="legend">{legend}</ul>'
        "</body></html>\n"
    )
