"""The report in a terminal: readable tables with bars, one section per question.

Sections follow the report model: the funnel, time between milestones, disqualified,
advocacy, clients at risk, cohorts and idle targets, then one line per owner. Bars are
scaled to the largest value of their table; numbers are printed beside them so the bars
only help the eye.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence

from milestones.report.accounts import account_lines
from milestones.report.likelihood.text import likelihood_lines
from milestones.report.model import Report, View
from milestones.report.plays import plays_lines
from milestones.text import NAME_LIMIT, printable

Label = Callable[[str], str]  # owner id -> what to print for it
BAR_WIDTH = 28
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(value: float, largest: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``value`` against ``largest``, in eighths of a character."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / largest * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def percent(rate: float | None) -> str:
    """``0.7143`` as ``71.4 %``; a dash when there is no rate."""
    return "-" if rate is None else f"{rate * 100:.1f} %"


def days(value: float | None) -> str:
    """Days as ``20 d`` (``55.5 d`` for a half), a dash when unknown."""
    if value is None:
        return "-"
    return f"{value:g} d"


def money(amount: float) -> str:
    """An amount with thousands separators and no currency (the CRM's own)."""
    return f"{amount:,.0f}"


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide (CJK) characters two, combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * max(width - display_width(text), 0)
    return fill + text if right else text + fill


def table(rows: Sequence[Sequence[str]], right: Iterable[int] = ()) -> list[str]:
    """Columns padded to their widest cell; columns in ``right`` align right.

    Cells hold names, labels and ids from the CRM: each is made ``printable`` and cut
    before it is measured, so a hostile or huge name neither escapes nor widens the table.
    """
    if not rows:
        return []
    rows = [[printable(cell, NAME_LIMIT) for cell in row] for row in rows]
    aligned = set(right)
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [_pad(cell, widths[i], i in aligned) for i, cell in enumerate(row)]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def render_lines(report: Report, owner: str | None = None) -> list[str]:
    """The whole report (or one owner's view) as lines of text."""
    view = report.overall
    title = "everyone"
    if owner is not None:
        view = next(o.view for o in report.owners if o.owner == owner)
        title = f"owner {printable(report.owner_label(owner), NAME_LIMIT)}"
    period = f"since {report.since}" if report.since else "all time"
    lines = [
        f"Milestone report, {report.today} ({period}): {title}, {view.people} people",
    ]
    if report.not_derived:
        lines.append(f"  ({report.not_derived} people not derived yet: run `milestones sync`)")
    if view.gone_people:
        lines.append(
            f"  (reached counts and times include {view.gone_people} people since deleted from "
            "the CRM: their milestone history only, no personal data)"
        )
    for section in (_funnel, _times, _disqualified, _advocacy, _at_risk, _cohorts, _idle):
        lines.append("")
        lines.extend(section(view, report.owner_label))
    if owner is None and report.accounts is not None:
        lines.append("")
        lines.extend(account_lines(report.accounts, report.owner_label))
    if owner is None and report.owners:
        lines.append("")
        lines.extend(_owners(report))
    if owner is None and report.plays:
        lines.append("")
        lines.extend(plays_lines(report))
    if owner is None and report.likelihood is not None:
        lines.append("")
        lines.extend(likelihood_lines(report.likelihood))
    return lines


def _funnel(view: View, label: Label = str) -> list[str]:
    largest = max((s.now for s in view.funnel), default=0)
    rows = [["milestone", "now", "", "reached", "to next"]]
    for step in view.funnel:
        rows.append(
            [
                step.milestone,
                str(step.now),
                bar(step.now, largest),
                str(step.reached),
                percent(step.conversion) if step.to_next is not None else "",
            ]
        )
    return ["FUNNEL: where people stand now, and how many go on", *table(rows, (1, 3, 4))]


def _times(view: View, label: Label = str) -> list[str]:
    largest = max((t.p90_days or 0 for t in view.times), default=0)
    rows = [["", "people", "median", "p90", ""]]
    for t in view.times:
        rows.append(
            [
                f"{t.from_milestone} -> {t.to_milestone}",
                str(t.count),
                days(t.median_days),
                days(t.p90_days),
                bar(t.median_days or 0, largest),
            ]
        )
    return [
        "TIME BETWEEN MILESTONES (days; bar: median against the largest p90)",
        *table(rows, (1, 2, 3)),
    ]


def _disqualified(view: View, label: Label = str) -> list[str]:
    dq = view.disqualified
    where = ", ".join(f"{m} {n}" for m, n in dq.by_milestone.items() if n)
    lines = [f"DISQUALIFIED: {dq.total}" + (f" (kept milestone: {where})" if where else "")]
    largest = max((r.count for r in dq.reasons), default=0)
    lines += table([[r.reason, str(r.count), bar(r.count, largest)] for r in dq.reasons], (1,))
    return lines


def _advocacy(view: View, label: Label = str) -> list[str]:
    a = view.advocacy
    lines = [
        "ADVOCACY: advocates fuel your pipeline",
        f"  advocates {a.advocates} ({a.current_advocates} current), "
        f"referrals {a.referrals} from {a.referrers} people ({a.advocate_referrals} by advocates)",
        f"  advocates' referrals brought in: {a.won_deals} won deals, {money(a.won_amount)}; "
        f"{a.open_deals} open, {money(a.open_amount)}",
    ]
    if a.top_referrers:
        rows = [["top referrers", "milestone", "referrals", "won", "open", "owner"]]
        rows += [
            [
                f"{r.name} ({r.id})",
                r.milestone,
                str(r.referrals),
                money(r.won_amount),
                money(r.open_amount),
                label(r.owner),
            ]
            for r in a.top_referrers
        ]
        lines += table(rows, (2, 3, 4))
    return lines


def _at_risk(view: View, label: Label = str) -> list[str]:
    r = view.at_risk
    lines = [
        f"CLIENTS AT RISK OF BEING FORGOTTEN: {r.silent_clients} with no two-way contact "
        f"for over {r.silent_days} days"
    ]
    rows = [
        [
            f"{s.name} ({s.id})",
            s.milestone,
            f"last {s.last_contact or '-'}",
            days(s.days_silent),
            label(s.owner),
        ]
        for s in r.silent
    ]
    lines += table(rows, (3,))
    lines.append(
        f"ADVOCATES ABOUT TO LAPSE: {r.lapsing_advocates} within {r.lapse_window_days} days"
    )
    rows = [
        [f"{a.name} ({a.id})", f"lapses {a.lapses_on}", days(a.days_left), label(a.owner)]
        for a in r.lapsing
    ]
    lines += table(rows, (2,))
    return lines


def _cohorts(view: View, label: Label = str) -> list[str]:
    rows = [["became prospect", "prospects", "opportunity", "client", "advocate"]]
    for c in view.cohorts:
        rows.append(
            [
                c.month,
                str(c.prospects),
                *(
                    f"{n} ({n / c.prospects * 100:.0f}%)"
                    for n in (c.opportunity, c.client, c.advocate)
                ),
            ]
        )
    return [
        "MONTHLY COHORTS: of those who became prospects in a month, how many went on",
        *table(rows, (1, 2, 3, 4)),
    ]


def _idle(view: View, label: Label = str) -> list[str]:
    i = view.idle_targets
    lines = [
        f"TARGETS NOBODY ACTS ON (targets: {i.targets}): never touched {i.untouched} "
        f"(median wait {days(i.median_untouched_days)}), touched only one way "
        f"{i.outbound_only} (median wait {days(i.median_outbound_only_days)})"
    ]
    rows = [["waiting", "untouched", "", "outbound only", ""]]
    largest = max((b.count for b in (*i.untouched_ages, *i.outbound_only_ages)), default=0)
    for untouched, outbound in zip(i.untouched_ages, i.outbound_only_ages, strict=True):
        rows.append(
            [
                untouched.label,
                str(untouched.count),
                bar(untouched.count, largest, 14),
                str(outbound.count),
                bar(outbound.count, largest, 14),
            ]
        )
    lines += table(rows, (1, 3))
    if i.longest_waiting:
        rows = [["longest waiting", "touches", "since", "days", "owner"]]
        rows += [
            [
                f"{t.name} ({t.id})",
                str(t.touches),
                t.waiting_since or "-",
                days(t.waiting_days),
                label(t.owner),
            ]
            for t in i.longest_waiting
        ]
        lines += table(rows, (1, 3))
    return lines


def _owners(report: Report) -> list[str]:
    head = "owner people tgt pro opp cli adv T>P P>O O>C C>A dq silent idle"
    rows = [head.split()]
    for o in report.owners:
        v = o.view
        rows.append(
            [
                report.owner_label(o.owner),
                str(v.people),
                *(str(s.now) for s in v.funnel),
                *(percent(s.conversion) for s in v.funnel[:-1]),
                str(v.disqualified.total),
                str(v.at_risk.silent_clients),
                str(v.idle_targets.untouched + v.idle_targets.outbound_only),
            ]
        )
    return [
        "BY OWNER: each rep's funnel and conversions (one rep: milestones report --owner ID)",
        *table(rows, range(1, 14)),
    ]
