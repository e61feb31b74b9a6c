"""The report's plays section: per owner, the tasks plays opened and what followed.

``opened`` counts tasks created in the report's period; ``done`` the ones their owner closed;
``cleared`` the ones the worker completed because the situation cleared (the target replied);
``advanced`` the people who hold a later milestone now than when their play opened.
"""

from __future__ import annotations

from html import escape

from milestones.report.model import PlaysRow, Report
from milestones.text import NAME_LIMIT, printable

_HEAD = ("owner", "opened", "open", "done", "cleared", "advanced", "plays")


def plays_lines(report: Report) -> list[str]:
    """The section as text lines (empty when no play ever opened a task)."""
    if not report.plays:
        return []
    rows = [list(_HEAD)] + [_cells(report, row) for row in report.plays]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEAD))]
    lines = ["PLAYS: tasks opened per owner, done, and who moved on since (milestones plays)"]
    for row in rows:
        cells = [
            row[i].ljust(widths[i]) if i in (0, 6) else row[i].rjust(widths[i])
            for i in range(len(row))
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def plays_html(report: Report) -> str:
    """The section as HTML (empty when no play ever opened a task)."""
    if not report.plays:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in _HEAD)
    body = []
    for row in report.plays:
        cells = _cells(report, row)
        key = f"plays.{row.owner}."
        tds = [f"<td>{escape(cells[0])}</td>"]
        for name, text in zip(_HEAD[1:6], cells[1:6], strict=True):
            tds.append(f'<td class="n"><span data-key="{escape(key + name)}">{text}</span></td>')
        tds.append(f"<td>{escape(cells[6])}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (
        '<h2 id="plays">Plays</h2><p class="hint">Tasks the plays opened for each owner, how '
        "many the owner closed, how many the worker completed because the situation cleared, "
        "and how many of those people hold a later milestone now.</p>"
        f"<table><tr>{head}</tr>{''.join(body)}</table>"
    )


def _cells(report: Report, row: PlaysRow) -> list[str]:
    plays = ", ".join(f"{name} {n}" for name, n in sorted(row.by_play.items()))
    return [
        printable(report.owner_label(row.owner), NAME_LIMIT),
        str(row.opened),
        str(row.open),
        str(row.done),
        str(row.cleared),
        str(row.advanced),
        plays,
    ]
