"""The cash-flow forecast as a server-rendered SVG bar chart: no JavaScript, no charting library.

Twelve months fit in a few dozen elements, so the chart is written by hand as
SVG markup (Jinja2 escapes nothing here: every text is escaped below).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from babel.dates import format_date

from payplan import Forecast, Money

WIDTH = 720
HEIGHT = 260
LEFT = 70
BOTTOM = 40
TOP = 16


def forecast_svg(forecast: Forecast, *, locale: str, money: Callable[[Money], str]) -> str:
    """Expected (and received) receipts per period as a bar chart, with labelled axes."""
    periods = forecast.periods
    peak = max([p.expected.minor + p.received.minor for p in periods] + [1])
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT - 10) / max(len(periods), 1)
    bar = slot * 0.6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="forecast-title" class="chart" id="forecast-chart">',
        '<title id="forecast-title">Cash-flow forecast: expected receipts per month</title>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 5}" y2="{TOP + plot_h}" class="axis"/>',
    ]
    for step in range(5):
        value = peak * step // 4
        y = TOP + plot_h - plot_h * step / 4
        label = escape(money(Money(value, forecast.periods[0].expected.currency))) if periods else ""
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - 5}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{label}</text>')
    for i, period in enumerate(periods):
        x = LEFT + i * slot + (slot - bar) / 2
        received_h = plot_h * period.received.minor / peak
        expected_h = plot_h * period.expected.minor / peak
        base = TOP + plot_h
        month = escape(format_date(period.start, "MMM yy", locale=locale))
        title = escape(f"{month}: expected {money(period.expected)}, received {money(period.received)}")
        parts.append(f"<g><title>{title}</title>")
        if received_h:
            parts.append(
                f'<rect x="{x:.1f}" y="{base - received_h:.1f}" width="{bar:.1f}" height="{received_h:.1f}" class="received"/>'
            )
        if expected_h:
            parts.append(
                f'<rect x="{x:.1f}" y="{base - received_h - expected_h:.1f}" width="{bar:.1f}" '
                f'height="{expected_h:.1f}" class="expected"/>'
            )
        parts.append("</g>")
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{base + 16}" text-anchor="middle" class="tick">{month}</text>')
    parts.append(
        f'<rect x="{LEFT}" y="{HEIGHT - 14}" width="10" height="10" class="expected"/>'
        f'<text x="{LEFT + 14}" y="{HEIGHT - 5}" class="tick">expected</text>'
        f'<rect x="{LEFT + 90}" y="{HEIGHT - 14}" width="10" height="10" class="received"/>'
        f'<text x="{LEFT + 104}" y="{HEIGHT - 5}" class="tick">received</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
