"""The survival curves as inline SVG: each step's chance of going on, by days waited.

One line per step (the Aalen-Johansen cumulative incidence), its 95% band shaded, and a
marker at 30, 90 and 180 days carrying ``data-key`` (the figure's path in the JSON report,
e.g. ``likelihood.steps.prospect->opportunity.within_days.90.p``) and ``data-value``, so a
reader or a test can match the picture to the numbers. No script, no external reference.
"""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 150, 12, 30
COLOURS = {
    "target->prospect": "#5b8def",
    "prospect->opportunity": "#7e57c2",
    "opportunity->client": "#26a269",
    "client->advocate": "#e5a50a",
}
MARKS = (30, 90, 180)


def _x(day: float, last: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * day / last


def _y(chance: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - chance)


def curves_svg(view: dict[str, Any]) -> str:
    """The chart for the section's JSON form (its ``curves`` and ``steps``)."""
    curves: dict[str, list[list[float]]] = view["curves"]
    last = max((points[-1][0] for points in curves.values() if points), default=1) or 1
    body = [
        f'<line x1="{LEFT}" y1="{_y(0):.1f}" x2="{_x(last, last):.1f}" y2="{_y(0):.1f}" '
        'stroke="#d0d7de"/>'
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(
            f'<text x="{LEFT - 6}" y="{_y(tick) + 4:.1f}" text-anchor="end" class="small">'
            f"{tick * 100:.0f}%</text>"
        )
    for day in range(0, int(last) + 1, 90):
        body.append(
            f'<text x="{_x(day, last):.1f}" y="{HEIGHT - 10}" text-anchor="middle" '
            f'class="small">{day} d</text>'
        )
    for row, (step, points) in enumerate(curves.items()):
        colour = COLOURS.get(step, "#656d76")
        band = [f"{_x(d, last):.1f},{_y(hi):.1f}" for d, _, _, hi in points]
        band += [f"{_x(d, last):.1f},{_y(lo):.1f}" for d, _, lo, _ in reversed(points)]
        line = " ".join(f"{_x(d, last):.1f},{_y(p):.1f}" for d, p, _, _ in points)
        body.append(f'<polygon points="{" ".join(band)}" fill="{colour}" fill-opacity="0.18"/>')
        body.append(
            f'<polyline data-curve="{escape(step)}" points="{line}" fill="none" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        for day in MARKS:
            if day > last:
                continue
            chance = view["steps"][step]["within_days"][str(day)]["p"]
            key = f"likelihood.steps.{step}.within_days.{day}.p"
            body.append(
                f'<rect class="mark" data-key="{escape(key)}" data-value="{chance:g}" '
                f'x="{_x(day, last) - 3:.1f}" y="{_y(chance) - 3:.1f}" width="6" height="6" '
                f'fill="{colour}"/>'
            )
        body.append(
            f'<text x="{WIDTH - RIGHT + 10}" y="{TOP + 14 + row * 18}" class="small" '
            f'fill="{colour}">{escape(step)}</text>'
        )
    label = "Chance of reaching the next milestone by days since reaching this one"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" class="chart">'
        f"{''.join(body)}</svg>"
    )
