"""The fleet in a terminal and in one HTML page: ``fleet status`` and ``fleet report``.

Tables use the report's own helpers (``text.table``, ``html.table``) and the HTML page the
report's style sheet and funnel chart, so an org's funnel looks the same here as in its own
report. Every cell is made printable (terminal) or escaped (HTML): org names come from files.
"""

from __future__ import annotations

from html import escape

from milestones.report import html, text
from milestones.report.fleet import FleetReport, OrgFunnel
from milestones.report.fleet_status import OrgStatus
from milestones.report.model import FunnelStep
from milestones.report.svg import funnel_svg
from milestones.text import MESSAGE_LIMIT, printable


def age(seconds: int | None) -> str:
    """``42s``, ``17m``, ``5h``, ``3d``; ``never`` when no pull has completed."""
    if seconds is None:
        return "never"
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def status_lines(rows: list[OrgStatus]) -> list[str]:
    """One table row per org, then one line per org that could not be read."""
    table = [
        ["org", "crm", "last run", "outcome", "exit", "cursor age", "waiting", "failed", "people"]
    ]
    for row in rows:
        run = row.last_run
        table.append(
            [
                row.org,
                row.provider or "-",
                run.started_at[:16].replace("T", " ") if run else "never",
                (run.outcome or "-") if run else "-",
                _count(run.exit_code) if run else "-",
                age(row.cursor_age_seconds) if row.state == "ok" else row.state,
                _count(row.writes_pending),
                _count(row.writes_failed),
                _count(row.people),
            ]
        )
    lines = [f"{len(rows)} orgs", *text.table(table, (4, 6, 7, 8))]
    problems = [row for row in rows if row.problem]
    if problems:
        lines.append("")
        lines.append("orgs that could not be read:")
        lines += [f"  {r.org} ({r.state}): {printable(r.problem, MESSAGE_LIMIT)}" for r in problems]
    return lines


def _funnel_row(name: str, people: int, funnel: list[FunnelStep]) -> list[str]:
    cells = [name, str(people)]
    cells += [str(step.now) for step in funnel]
    cells += [text.percent(step.conversion) for step in funnel[:-1]]
    return cells


def _head(report: FleetReport) -> list[str]:
    milestones = [step.milestone for step in report.funnel]
    return ["org", "people", *milestones, "T\u2192P", "P\u2192O", "O\u2192C", "C\u2192A"]


def report_lines(report: FleetReport) -> list[str]:
    """Who stands where now in each org and across them, and the conversion to each next step."""
    period = f"since {report.since}" if report.since else "all time"
    rows = [_head(report)]
    rows += [_funnel_row(org.org, org.people, org.funnel) for org in report.orgs]
    rows.append(_funnel_row("all orgs", report.people, report.funnel))
    right = range(1, len(rows[0]))
    lines = [
        f"Fleet milestone report, {report.today} ({period}): {len(report.orgs)} orgs, "
        f"{report.people} people",
        "",
        "FUNNEL: people at each milestone now; conversion to the next milestone",
        *text.table(rows, right),
    ]
    for org in report.orgs:
        if org.not_derived:
            lines.append(f"  ({org.org}: {org.not_derived} people not derived yet)")
    if report.problems:
        lines += ["", "orgs left out:"]
        lines += [f"  {p.org}: {printable(p.problem, MESSAGE_LIMIT)}" for p in report.problems]
    return lines


def render_fleet_html(report: FleetReport) -> str:
    """The fleet report as one self-contained page: the table, the fleet's funnel, each org's."""
    period = f"since {report.since}" if report.since else "all time"
    title = f"Fleet milestone report, {report.today}"
    rows = [_html_row(org.org, org.people, org.funnel, f"orgs.{org.org}.") for org in report.orgs]
    rows.append(_html_row("all orgs", report.people, report.funnel, "fleet."))
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{html.STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">{escape(period)}; generated {escape(report.generated_at)}; '
        f"{len(report.orgs)} orgs, {report.people} people.</p>",
        "<h2>Orgs</h2>",
        html.table(_head(report), rows, set(range(1, len(_head(report))))),
        "<h2>All orgs</h2>",
        funnel_svg(report.funnel, "fleet."),
    ]
    for org in report.orgs:
        parts.append(_org_section(org))
    if report.problems:
        parts.append("<h2>Orgs left out</h2><ul>")
        parts += [f"<li>{escape(p.org)}: {escape(p.problem)}</li>" for p in report.problems]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_row(name: str, people: int, funnel: list[FunnelStep], prefix: str) -> list[str]:
    cells = [escape(name), _num(f"{prefix}people", str(people))]
    cells += [_num(f"{prefix}funnel.{s.milestone}.now", str(s.now)) for s in funnel]
    cells += [escape(text.percent(s.conversion)) for s in funnel[:-1]]
    return cells


def _num(key: str, value: str) -> str:
    return f'<span data-key="{escape(key)}">{escape(value)}</span>'


def _org_section(org: OrgFunnel) -> str:
    return (
        f'<details data-org="{escape(org.org)}"><summary>{escape(org.org)} '
        f"({escape(org.provider)}): {org.people} people</summary>"
        f"{funnel_svg(org.funnel, f'orgs.{org.org}.')}</details>"
    )
