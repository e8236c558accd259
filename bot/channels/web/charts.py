"""Small server-rendered SVG charts for the admin console (no chart library, nothing from a CDN)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 24, 22


def _nice_max(value: float) -> float:
    """A round top for the axis (1, 2, 5 × 10ⁿ) at or above `value`."""
    if value <= 0:
        return 1.0
    scale = 1.0
    while scale * 10 <= value:
        scale *= 10
    for step in (1, 2, 5, 10):
        if step * scale >= value:
            return step * scale
    return 10 * scale


def _frame(title: str, top: float, days: Sequence[date], unit: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    out = [
        f'<text x="{LEFT}" y="14" class="chart-title">{html.escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" class="axis"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 4}" class="tick" text-anchor="end">{top:g}{unit}</text>',
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" class="tick" text-anchor="end">0</text>',
    ]
    if days:
        out.append(f'<text x="{LEFT}" y="{HEIGHT - 6}" class="tick">{days[0].isoformat()}</text>')
        out.append(
            f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" class="tick" text-anchor="end">'
            f"{days[-1].isoformat()}</text>"
        )
    return out


def _svg(parts: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{html.escape(label, quote=True)}" class="chart">' + "".join(parts) + "</svg>"
    )


def bar_chart(title: str, days: Sequence[date], series: Sequence[tuple[str, Sequence[int], str]]) -> str:
    """Side-by-side bars per day, one colour (CSS class) per series, with a legend."""
    top = _nice_max(max((v for _, values, _ in series for v in values), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(days))
    bar = max(1.0, (slot * 0.8) / max(1, len(series)))
    parts = _frame(title, top, days, "")
    for s, (label, values, css) in enumerate(series):
        for i, value in enumerate(values):
            if value <= 0:
                continue
            h = plot_h * value / top
            x = LEFT + i * slot + slot * 0.1 + s * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'class="{css}"><title>{days[i].isoformat()}: {value} {html.escape(label)}</title></rect>'
            )
    legend_x = WIDTH - RIGHT
    for label, _, css in reversed(series):
        legend_x -= 9 + 7 * len(label) + 14
        parts.append(f'<rect x="{legend_x}" y="5" width="9" height="9" class="{css}"/>')
        parts.append(f'<text x="{legend_x + 12}" y="14" class="tick">{html.escape(label)}</text>')
    total = ", ".join(f"{label} {sum(values)}" for label, values, _ in series)
    return _svg(parts, f"{title}: {total}")


def line_chart(title: str, days: Sequence[date], values: Sequence[float | None], unit: str, css: str) -> str:
    """One line over the days; days without a value break the line."""
    top = _nice_max(max((v for v in values if v is not None), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(days) - 1)
    parts = _frame(title, top, days, unit)
    points: list[str] = []
    segments: list[list[str]] = [points]
    for i, value in enumerate(values):
        if value is None:
            points = []
            segments.append(points)
            continue
        x, y = LEFT + i * step, TOP + plot_h - plot_h * value / top
        points.append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" class="{css}">'
            f"<title>{days[i].isoformat()}: {value:.0f}{unit}</title></circle>"
        )
    for segment in segments:
        if len(segment) > 1:
            parts.append(f'<polyline points="{" ".join(segment)}" class="{css} line"/>')
    known = [v for v in values if v is not None]
    summary = f"latest {known[-1]:.0f}{unit}" if known else "no data"
    return _svg(parts, f"{title}: {summary}")
