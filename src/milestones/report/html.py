"""The report as one self-contained HTML file a manager can open or attach to an email.

Everything is inline: the style sheet, the SVG charts (``svg``), the tables. No
script, font, image or style is fetched from anywhere, so the file renders offline and in
mail clients that block remote content. Each rep gets the same sections, folded under
their name.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from milestones.report.accounts import account_html
from milestones.report.likelihood.html import likelihood_html
from milestones.report.model import Report, View
from milestones.report.plays import plays_html
from milestones.report.svg import ages_svg, funnel_svg, times_svg
from milestones.report.text import days, money, percent

STYLE = """
:root { --ink: #1f2328; --muted: #656d76; --line: #d0d7de; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 980px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 8px; border-bottom: 1px solid var(--line);
     padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.muted, .hint { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px;
        min-width: 140px; background: var(--soft); }
.card b { display: block; font-size: 22px; }
table { border-collapse: collapse; margin: 6px 0 12px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; }
th { background: var(--soft); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
svg.chart { max-width: 100%; height: auto; display: block; margin: 8px 0; }
svg text { font-size: 13px; fill: var(--ink); }
svg text.on-bar { fill: #fff; font-weight: 600; }
svg text.beside-bar { font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg text.rate, svg text.small { font-size: 11px; fill: var(--muted); }
details { border: 1px solid var(--line); border-radius: 8px; padding: 6px 14px;
          margin: 10px 0; }
summary { cursor: pointer; font-weight: 600; }
@media print { details { page-break-inside: avoid; } }
"""


def render_html(report: Report) -> str:
    """The whole report as one HTML document."""
    period = f"since {report.since}" if report.since else "all time"
    title = f"Milestone report, {report.today}"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">{escape(period)}; generated {escape(report.generated_at)}; '
        f"clients at risk after {report.settings.silent_days} days without two-way contact; "
        f"advocates flagged {report.settings.lapse_window_days} days before they lapse.</p>",
    ]
    if report.not_derived:
        parts.append(
            f'<p class="hint">{report.not_derived} people are not derived yet; '
            "run <code>milestones sync</code>.</p>"
        )
    parts.append(_cards(report.overall))
    parts.append(render_view(report.overall, label=report.owner_label))
    if report.accounts is not None:
        parts.append(account_html(report.accounts, report.owner_label))
    if report.owners:
        parts.append('<h2 id="owners">By owner</h2>')
        parts.append(_ownerstable(report))
        for owner in report.owners:
            parts.append(
                f'<details data-owner="{escape(owner.owner)}">'
                f"<summary>{escape(report.owner_label(owner.owner))}: "
                f"{owner.view.people} people</summary>"
            )
            parts.append(render_view(owner.view, f"owners.{owner.owner}.", 3, report.owner_label))
            parts.append("</details>")
    parts.append(plays_html(report))
    if report.likelihood is not None:
        parts.append(likelihood_html(report.likelihood))
    parts.append("</body></html>")
    return "\n".join(parts)


def _cards(view: View) -> str:
    funnel = {s.milestone: s for s in view.funnel}
    a = view.advocacy
    cards = [
        ("people", str(view.people), "people"),
        ("clients now", str(funnel["client"].now + funnel["advocate"].now), "clients"),
        ("advocates", str(a.advocates), "advocacy.advocates"),
        ("won through advocates", money(a.won_amount), "advocacy.won_amount"),
        ("clients at risk", str(view.at_risk.silent_clients), "at_risk.silent_clients"),
        (
            "idle targets",
            str(view.idle_targets.untouched + view.idle_targets.outbound_only),
            "idle",
        ),
    ]
    items = "".join(
        f'<div class="card"><b data-key="{key}">{escape(value)}</b>{escape(label)}</div>'
        for label, value, key in cards
    )
    return f'<div class="cards">{items}</div>'


def table(head: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    """A table of already-escaped cells; columns in ``numeric`` align right."""
    if not rows:
        return '<p class="muted">None.</p>'

    def cell(tag: str, i: int, text: str) -> str:
        cls = ' class="n"' if i in numeric else ""
        return f"<{tag}{cls}>{text}</{tag}>"

    out = ["<table><tr>", *(cell("th", i, escape(h)) for i, h in enumerate(head)), "</tr>"]
    for row in rows:
        out += ["<tr>", *(cell("td", i, c) for i, c in enumerate(row)), "</tr>"]
    out.append("</table>")
    return "".join(out)


def _num(key: str, text: str) -> str:
    return f'<span data-key="{escape(key)}">{escape(text)}</span>'


def render_view(
    view: View, prefix: str = "", level: int = 2, label: Callable[[str], str] = str
) -> str:
    """Every section for one population (everyone, or one owner); ``label`` names owners."""
    h = f"h{level}"
    p = prefix
    dq = view.disqualified
    a = view.advocacy
    r = view.at_risk
    i = view.idle_targets
    return "\n".join(
        [
            f"<{h}>Funnel</{h}>",
            '<p class="hint">Bars: people who reached each milestone; the arrow gives the share '
            "that went on to the next; \u201cnow\u201d counts who stands there today.</p>",
            funnel_svg(view.funnel, p),
            f"<{h}>Time between milestones</{h}>",
            times_svg(view, p),
            table(
                ["step", "people", "median", "90th percentile"],
                [
                    [
                        escape(f"{t.from_milestone} \u2192 {t.to_milestone}"),
                        str(t.count),
                        escape(days(t.median_days)),
                        escape(days(t.p90_days)),
                    ]
                    for t in view.times
                ],
                {1, 2, 3},
            ),
            f"<{h}>Disqualified: {_num(p + 'disqualified.total', str(dq.total))}</{h}>",
            table(
                ["kept milestone", "people"],
                [[escape(m), str(n)] for m, n in dq.by_milestone.items() if n],
                {1},
            ),
            table(
                ["reason", "people"], [[escape(x.reason), str(x.count)] for x in dq.reasons], {1}
            ),
            f"<{h}>Advocacy: advocates fuel your pipeline</{h}>",
            f"<p>{_num(p + 'advocacy.advocates', str(a.advocates))} advocates "
            f"({a.current_advocates} current); {_num(p + 'advocacy.referrals', str(a.referrals))} "
            f"referrals from {a.referrers} people, {a.advocate_referrals} of them by advocates. "
            f"Advocates' referrals brought in {_num(p + 'advocacy.won_deals', str(a.won_deals))} "
            f"won deals worth {_num(p + 'advocacy.won_amount', money(a.won_amount))} and "
            f"{a.open_deals} open deals worth {money(a.open_amount)}.</p>",
            table(
                ["top referrers", "milestone", "referrals", "people", "won", "open", "owner"],
                [
                    [
                        escape(f"{x.name} ({x.id})"),
                        escape(x.milestone),
                        str(x.referrals),
                        str(x.referred_people),
                        money(x.won_amount),
                        money(x.open_amount),
                        escape(label(x.owner)),
                    ]
                    for x in a.top_referrers
                ],
                {2, 3, 4, 5},
            ),
            f"<{h}>Clients at risk of being forgotten: "
            f"{_num(p + 'at_risk.silent_clients', str(r.silent_clients))}</{h}>",
            f'<p class="hint">No two-way contact for over {r.silent_days} days '
            "(a won deal counts as contact). Longest silent first.</p>",
            table(
                ["client", "milestone", "last contact", "silent", "owner"],
                [
                    [
                        escape(f"{s.name} ({s.id})"),
                        escape(s.milestone),
                        escape(s.last_contact or "-"),
                        escape(days(s.days_silent)),
                        escape(label(s.owner)),
                    ]
                    for s in r.silent
                ],
                {3},
            ),
            f"<{h}>Advocates about to lapse: "
            f"{_num(p + 'at_risk.lapsing_advocates', str(r.lapsing_advocates))}</{h}>",
            f'<p class="hint">Their evidence stops counting within {r.lapse_window_days} days: '
            "ask for a referral, a review or a survey answer.</p>",
            table(
                ["advocate", "lapses on", "days left", "owner"],
                [
                    [
                        escape(f"{x.name} ({x.id})"),
                        escape(x.lapses_on),
                        str(x.days_left),
                        escape(label(x.owner)),
                    ]
                    for x in r.lapsing
                ],
                {2},
            ),
            f"<{h}>Monthly cohorts</{h}>",
            '<p class="hint">Of those who became prospects in a month, how many reached each '
            "later milestone.</p>",
            _cohorts(view),
            f"<{h}>Targets nobody acts on</{h}>",
            f"<p>Targets: {i.targets}. Never touched: "
            f"{_num(p + 'idle_targets.untouched', str(i.untouched))} (median wait "
            f"{escape(days(i.median_untouched_days))}). Touched only one way, with no answer: "
            f"{_num(p + 'idle_targets.outbound_only', str(i.outbound_only))} (median wait "
            f"{escape(days(i.median_outbound_only_days))}). Disqualified targets are left out."
            "</p>",
            ages_svg(i.untouched_ages, i.outbound_only_ages, p),
            table(
                ["longest waiting", "touches", "since", "waiting", "last touch", "owner"],
                [
                    [
                        escape(f"{t.name} ({t.id})"),
                        str(t.touches),
                        escape(t.waiting_since or "-"),
                        escape(days(t.waiting_days)),
                        escape(t.last_touch or "-"),
                        escape(label(t.owner)),
                    ]
                    for t in i.longest_waiting
                ],
                {1, 3},
            ),
        ]
    )


def _cohorts(view: View) -> str:
    rows = []
    for c in view.cohorts:
        row = [escape(c.month), str(c.prospects)]
        for n in (c.opportunity, c.client, c.advocate):
            share = n / c.prospects if c.prospects else 0
            row.append(
                f'<span style="display:inline-block;min-width:64px;padding:0 4px;'
                f'background:rgba(38,162,105,{share * 0.6:.2f})">{n} ({share * 100:.0f}%)</span>'
            )
        rows.append(row)
    return table(["became prospect", "prospects", "opportunity", "client", "advocate"], rows, {1})


def _ownerstable(report: Report) -> str:
    head = ["owner", "people", *(s.milestone for s in report.overall.funnel)]
    head += ["T\u2192P", "P\u2192O", "O\u2192C", "C\u2192A", "disqualified", "at risk", "idle"]
    rows = []
    for o in report.owners:
        v = o.view
        rows.append(
            [
                escape(report.owner_label(o.owner)),
                str(v.people),
                *(_num(f"owners.{o.owner}.funnel.{s.milestone}.now", str(s.now)) for s in v.funnel),
                *(escape(percent(s.conversion)) for s in v.funnel[:-1]),
                str(v.disqualified.total),
                str(v.at_risk.silent_clients),
                str(v.idle_targets.untouched + v.idle_targets.outbound_only),
            ]
        )
    return table(head, rows, set(range(1, len(head))))
