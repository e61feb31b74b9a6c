"""Inline SVG charts for the HTML report: the funnel, time between milestones, idle ages.

Plain SVG text, no script and no external reference, so the file renders the same in a
browser, a mail client's preview or a PDF printer. Every drawn bar carries ``data-key`` (the
figure's path in the JSON report, e.g. ``funnel.prospect.reached``) and ``data-value``, and
its label prints the same number: a reader (or a test) can match the picture to the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from milestones.report.model import AgeBucket, FunnelStep, View

WIDTH = 640
PALETTE = {
    "target": "#9aa5b1",
    "prospect": "#5b8def",
    "opportunity": "#7e57c2",
    "client": "#26a269",
    "advocate": "#e5a50a",
}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _svg(height: int, body: list[str], label: str, width: int = WIDTH) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'class="chart">{"".join(body)}</svg>'
    )


def _rect(key: str, value: float, x: float, y: float, w: float, h: int, fill: str) -> str:
    return (
        f'<rect class="bar" data-key="{escape(key)}" data-value="{_fmt(value)}" '
        f'x="{x:.1f}" y="{y}" width="{w:.1f}" height="{h}" rx="3" fill="{fill}"/>'
    )


def _text(
    x: float, y: float, text: str, anchor: str = "start", key: str = "", cls: str = ""
) -> str:
    attrs = f' data-key="{escape(key)}"' if key else ""
    attrs += f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y}" text-anchor="{anchor}"{attrs}>{escape(text)}</text>'


def funnel_svg(funnel: Sequence[FunnelStep], prefix: str = "", width: int = WIDTH) -> str:
    """Centred bars, one per milestone, as wide as the people who reached it.

    Beside each bar: who stands there now; between bars: the conversion to the next one.
    """
    row, gap, top = 34, 22, 8
    left, right = 110, 150
    span = width - left - right
    largest = max((s.reached for s in funnel), default=0) or 1
    body: list[str] = []
    y = top
    for index, step in enumerate(funnel):
        w = span * step.reached / largest
        x = left + (span - w) / 2
        key = f"{prefix}funnel.{step.milestone}"
        body.append(_text(left - 10, y + 22, step.milestone, "end", cls="label"))
        body.append(_rect(f"{key}.reached", step.reached, x, y, w, row, PALETTE[step.milestone]))
        label_class = "on-bar" if w >= 8 * len(str(step.reached)) + 12 else "beside-bar"
        body.append(
            _text(
                left + span / 2, y + 22, str(step.reached), "middle", f"{key}.reached", label_class
            )
        )
        body.append(_text(left + span + 12, y + 22, f"now {step.now}", key=f"{key}.now"))
        if index < len(funnel) - 1:
            rate = "-" if step.conversion is None else f"{step.conversion * 100:.1f} %"
            body.append(
                _text(
                    left + span / 2,
                    y + row + 16,
                    f"\u2193 {rate}",
                    "middle",
                    f"{key}.conversion",
                    "rate",
                )
            )
        y += row + gap
    return _svg(y - gap + top, body, "Funnel: people who reached each milestone", width)


def times_svg(view: View, prefix: str = "", width: int = WIDTH) -> str:
    """For each step, a median bar over a lighter 90th-percentile bar, in days."""
    row, gap, top = 14, 20, 8
    left, right = 190, 110
    span = width - left - right
    largest = max((t.p90_days or 0 for t in view.times), default=0) or 1
    body: list[str] = []
    y = top
    for t in view.times:
        key = f"{prefix}times.{t.from_milestone}-{t.to_milestone}"
        fill = PALETTE[t.to_milestone]
        body.append(
            _text(
                left - 10,
                y + row + 4,
                f"{t.from_milestone} \u2192 {t.to_milestone}",
                "end",
                cls="label",
            )
        )
        for offset, name, value, opacity in (
            (0, "median_days", t.median_days, ""),
            (row + 2, "p90_days", t.p90_days, ' fill-opacity="0.4"'),
        ):
            w = span * (value or 0) / largest
            body.append(_rect(f"{key}.{name}", value or 0, left, y + offset, w, row, fill))
            if opacity:
                body[-1] = body[-1].replace("/>", f"{opacity}/>")
            label = f"{_fmt(value)} d {'median' if offset == 0 else 'p90'}"
            body.append(
                _text(left + w + 6, y + offset + 11, label, key=f"{key}.{name}", cls="small")
            )
        y += 2 * row + 2 + gap
    return _svg(y - gap + top, body, "Days between milestones: median and 90th percentile", width)


def ages_svg(untouched: list[AgeBucket], outbound: list[AgeBucket], prefix: str = "") -> str:
    """Idle targets by how long they have waited: untouched and outbound-only side by side."""
    width, height, bottom, top = 520, 190, 40, 18
    largest = max((b.count for b in (*untouched, *outbound)), default=0) or 1
    slot = (width - 40) / max(len(untouched), 1)
    body: list[str] = []
    for index, (u, o) in enumerate(zip(untouched, outbound, strict=True)):
        x0 = 30 + index * slot
        for shift, bucket, name, fill in (
            (0.15, u, "untouched", "#c01c28"),
            (0.5, o, "outbound_only", "#f6a5ad"),
        ):
            h = (height - bottom - top) * bucket.count / largest
            x, y = x0 + slot * shift, height - bottom - h
            key = f"{prefix}idle_targets.{name}_ages.{index}"
            body.append(_vrect(key, bucket.count, x, y, slot * 0.32, h, fill))
            body.append(_text(x + slot * 0.16, y - 4, str(bucket.count), "middle", key, "small"))
        body.append(_text(x0 + slot / 2, height - bottom + 16, u.label, "middle", cls="small"))
    body.append(
        f'<text x="30" y="{height - 6}" class="small"><tspan fill="#c01c28">\u25a0</tspan> '
        'never touched <tspan fill="#f6a5ad">\u25a0</tspan> touched only one way</text>'
    )
    return _svg(height, body, "Idle targets by waiting time", width)


def _vrect(key: str, value: int, x: float, y: float, w: float, h: float, fill: str) -> str:
    return (
        f'<rect class="bar" data-key="{escape(key)}" data-value="{value}" x="{x:.1f}" '
        f'y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"/>'
    )
