"""Chart drawing: reads plain series (labels and numbers) and writes inline SVG markup for the HTML report.

Each chart is one ``<svg role="img">`` with a visible title, an accessible ``<title>``/``<desc>``, axis labels
and the value printed next to every bar, so it reads without colour, with a screen reader and on paper.
Bars are ``<rect class="bar">`` whose length is proportional to the value. All markup is assembled with
``Markup.format``, which escapes every argument that is not already markup: free text cannot break out.
Colours are the Okabe–Ito palette, which stays distinguishable for the common colour-vision deficiencies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

BLUE = "#0072B2"
ORANGE = "#E69F00"
REDDISH_PURPLE = "#CC79A7"
SKY_BLUE = "#56B4E9"
VERMILLION = "#D55E00"
BLUISH_GREEN = "#009E73"
INK = "#1f2328"
MUTED_INK = "#57606a"
GRID = "#d0d7de"

# (fill, text colour printed on that fill): dark fills take white text, light fills take ink.
SERIES_COLOURS = (
    (BLUE, "#ffffff"),
    (ORANGE, INK),
    (REDDISH_PURPLE, INK),
    (SKY_BLUE, INK),
    (VERMILLION, "#ffffff"),
    (BLUISH_GREEN, "#ffffff"),
)

CHART_WIDTH = 720
FONT_SIZE = 12
CHARACTER_WIDTH = 0.6 * FONT_SIZE  # a fair average for proportional sans-serif text
TITLE_BASELINE = 16
DESCRIPTION_ITEMS = 40


@dataclass(frozen=True)
class Bar:
    """One bar: its category label, its value and, optionally, the text printed for the value."""

    label: str
    value: float
    text: str = ""

    def value_text(self) -> str:
        return self.text or format_count(self.value)


@dataclass(frozen=True)
class StackedBar:
    """One stacked bar: a label, one value per series (in series order) and the text printed at its end."""

    label: str
    values: tuple[float, ...]
    text: str = ""


def format_count(value: float) -> str:
    """``1234`` → ``1,234``; non-integers keep two decimals."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def format_compact(value: float) -> str:
    """``12345`` → ``12.3k``, ``1200000`` → ``1.2M``; small numbers as :func:`format_count`."""
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / threshold:.1f}".removesuffix(".0") + suffix
    return format_count(value)


def format_percent(share: float | None) -> str:
    """A 0..1 share as a percentage with one decimal; ``None`` (not measured) as an em dash."""
    if share is None:
        return "—"
    if share == 0:
        return "0%"
    if 0 < share < 0.001:
        return "<0.1%"
    return f"{share * 100:.1f}%"


def horizontal_bar_chart(
    chart_id: str, title: str, bars: Sequence[Bar], *, value_axis_label: str, description: str = ""
) -> Markup:
    """Categories down the side, one bar each, longest bar = largest value, value printed after each bar."""
    if not bars:
        return empty_chart(chart_id, title)
    top, row_height, bar_height = 32, 26, 16
    label_width = min(240.0, max(60.0, max(len(bar.label) for bar in bars) * CHARACTER_WIDTH))
    value_width = max(len(bar.value_text()) for bar in bars) * CHARACTER_WIDTH + 12
    plot_x = label_width + 10
    plot_width = CHART_WIDTH - plot_x - value_width
    scale = _scale(bars, plot_width)
    parts: list[Markup] = []
    for index, bar in enumerate(bars):
        y = top + index * row_height
        length = max(bar.value, 0.0) * scale
        parts.append(Markup(
            '<text x="{:.1f}" y="{:.1f}" text-anchor="end" fill="{}">{}</text>'
            '<rect class="bar" x="{:.2f}" y="{}" width="{:.3f}" height="{}" fill="{}"><title>{}: {}</title></rect>'
            '<text x="{:.2f}" y="{:.1f}" fill="{}">{}</text>'
        ).format(
            label_width, y + bar_height - 4, INK, _fit(bar.label, label_width),
            plot_x, y, length, bar_height, BLUE, bar.label, bar.value_text(),
            plot_x + length + 6, y + bar_height - 4, INK, bar.value_text(),
        ))
    axis_bottom = top + len(bars) * row_height
    parts.append(Markup(
        '<line x1="{0:.2f}" y1="{1}" x2="{0:.2f}" y2="{2}" stroke="{3}"/>'
        '<text x="{0:.2f}" y="{4}" fill="{5}" font-size="11">{6} →</text>'
    ).format(plot_x, top - 4, axis_bottom, MUTED_INK, axis_bottom + 16, MUTED_INK, value_axis_label))
    return _svg(chart_id, title, description or _describe(bars), axis_bottom + 24, Markup("").join(parts))


def vertical_bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    *,
    category_axis_label: str,
    value_axis_label: str,
    description: str = "",
    highlight: int | None = None,
) -> Markup:
    """Categories along the bottom (a histogram when they are buckets), bar height proportional to value.

    ``highlight`` picks one bar to draw in the accent colour; say in words why, the colour alone is not enough.
    """
    if not bars:
        return empty_chart(chart_id, title)
    left, right, plot_top, plot_height = 56, 8, 44, 160
    plot_bottom = plot_top + plot_height
    plot_width = CHART_WIDTH - left - right
    slot = plot_width / len(bars)
    bar_width = slot * 0.72
    axis_maximum = _nice_ceiling(max(max(bar.value, 0.0) for bar in bars))
    scale = plot_height / axis_maximum if axis_maximum > 0 else 0.0
    value_font = 11 if slot >= 30 else 9
    parts: list[Markup] = []
    for tick in (0.0, axis_maximum / 2, axis_maximum) if axis_maximum > 0 else (0.0,):
        y = plot_bottom - tick * scale
        parts.append(Markup(
            '<line x1="{0}" y1="{1:.2f}" x2="{2}" y2="{1:.2f}" stroke="{3}" stroke-width="{4}"/>'
            '<text x="{5}" y="{6:.2f}" text-anchor="end" fill="{7}" font-size="11">{8}</text>'
        ).format(left, y, CHART_WIDTH - right, GRID if tick else MUTED_INK, 0.5 if tick else 1,
                 left - 6, y + 4, MUTED_INK, format_compact(tick)))
    for index, bar in enumerate(bars):
        centre = left + slot * index + slot / 2
        height = max(bar.value, 0.0) * scale
        shown = bar.value_text()
        if len(shown) * value_font * 0.6 > slot:
            shown = format_compact(bar.value)
        fill = ORANGE if index == highlight else BLUE
        parts.append(Markup(
            '<rect class="bar" x="{:.2f}" y="{:.3f}" width="{:.2f}" height="{:.3f}" fill="{}">'
            '<title>{}: {}</title></rect>'
            '<text x="{:.2f}" y="{:.2f}" text-anchor="middle" fill="{}" font-size="{}">{}</text>'
            '<text x="{:.2f}" y="{}" text-anchor="middle" fill="{}" font-size="11">{}</text>'
        ).format(
            centre - bar_width / 2, plot_bottom - height, bar_width, height, fill, bar.label, bar.value_text(),
            centre, plot_bottom - height - 4, INK, value_font, shown,
            centre, plot_bottom + 15, INK, _fit(bar.label, slot, font_size=11),
        ))
    parts.append(Markup(
        '<text x="{}" y="{}" text-anchor="middle" fill="{}" font-size="11">{}</text>'
        '<text transform="translate(12 {}) rotate(-90)" text-anchor="middle" fill="{}" font-size="11">{}</text>'
    ).format(left + plot_width / 2, plot_bottom + 34, MUTED_INK, category_axis_label,
             plot_top + plot_height / 2, MUTED_INK, value_axis_label))
    return _svg(chart_id, title, description or _describe(bars), plot_bottom + 44, Markup("").join(parts))


def hourly_activity_chart(chart_id: str, title: str, counts: Sequence[int]) -> Markup:
    """24 vertical bars, hour 00 to 23 (local time); the busiest hour is drawn in the accent colour."""
    if not counts or not any(counts):
        return empty_chart(chart_id, title)
    peak = max(range(len(counts)), key=lambda hour: counts[hour])
    bars = [Bar(f"{hour:02d}", count, format_compact(count)) for hour, count in enumerate(counts)]
    return vertical_bar_chart(
        chart_id, title, bars,
        category_axis_label="hour of day (local time)",
        value_axis_label="events",
        description=f"Most active {peak:02d}:00–{(peak + 1) % 24:02d}:00 (highlighted). " + _describe(bars),
        highlight=peak,
    )


def stacked_bar_chart(
    chart_id: str, title: str, rows: Sequence[StackedBar], series: Sequence[str], *, value_axis_label: str
) -> Markup:
    """One horizontal bar per row split into series (e.g. clean / duplicates / invalid), all on one scale."""
    if not rows:
        return empty_chart(chart_id, title)
    top, row_height, bar_height = 56, 34, 22
    label_width = min(160.0, max(48.0, max(len(row.label) for row in rows) * CHARACTER_WIDTH))
    total_width = max(len(row.text) for row in rows) * CHARACTER_WIDTH + 12
    plot_x = label_width + 10
    plot_width = CHART_WIDTH - plot_x - total_width
    largest = max(sum(max(value, 0.0) for value in row.values) for row in rows)
    scale = plot_width / largest if largest > 0 else 0.0
    parts = [_legend(series, x=plot_x, y=30)]
    for index, row in enumerate(rows):
        y = top + index * row_height
        parts.append(Markup('<text x="{:.1f}" y="{}" text-anchor="end" fill="{}">{}</text>').format(
            label_width, y + bar_height - 7, INK, _fit(row.label, label_width)))
        x = plot_x
        for series_index, (name, value) in enumerate(zip(series, row.values, strict=True)):
            fill, text_colour = SERIES_COLOURS[series_index % len(SERIES_COLOURS)]
            length = max(value, 0.0) * scale
            parts.append(Markup(
                '<rect class="bar" data-series="{}" x="{:.3f}" y="{}" width="{:.3f}" height="{}" fill="{}" '
                'stroke="#ffffff" stroke-width="1"><title>{} {}: {}</title></rect>'
            ).format(name, x, y, length, bar_height, fill, row.label, name, format_count(value)))
            if length >= len(format_compact(value)) * CHARACTER_WIDTH + 8:
                parts.append(Markup('<text x="{:.2f}" y="{}" text-anchor="middle" fill="{}">{}</text>').format(
                    x + length / 2, y + bar_height - 7, text_colour, format_compact(value)))
            x += length
        parts.append(Markup('<text x="{:.2f}" y="{}" fill="{}">{}</text>').format(
            x + 6, y + bar_height - 7, INK, row.text))
    axis_bottom = top + len(rows) * row_height
    parts.append(Markup(
        '<line x1="{0:.2f}" y1="{1}" x2="{0:.2f}" y2="{2}" stroke="{3}"/>'
        '<text x="{0:.2f}" y="{4}" fill="{3}" font-size="11">{5} →</text>'
    ).format(plot_x, top - 4, axis_bottom - row_height + bar_height + 4, MUTED_INK, axis_bottom + 6,
             value_axis_label))
    description = "; ".join(
        f"{row.label}: " + ", ".join(f"{name} {format_count(value)}" for name, value in zip(series, row.values,
                                                                                          strict=True))
        for row in rows
    )
    return _svg(chart_id, title, description, axis_bottom + 14, Markup("").join(parts))


def empty_chart(chart_id: str, title: str) -> Markup:
    """A chart frame that says there is nothing to draw, for callers that always want an ``<svg>``."""
    body = Markup('<text x="0" y="44" fill="{}">No data</text>').format(MUTED_INK)
    return _svg(chart_id, title, "No data", 56, body)


def _svg(chart_id: str, title: str, description: str, height: float, body: Markup) -> Markup:
    identifier = re.sub(r"[^a-z0-9-]+", "-", chart_id.lower()).strip("-") or "chart"
    return Markup(
        '<svg id="{0}" class="chart" role="img" aria-labelledby="{0}-title {0}-desc" viewBox="0 0 {1} {2:.0f}" '
        'width="{1}" height="{2:.0f}" font-size="{3}">'
        '<title id="{0}-title">{4}</title><desc id="{0}-desc">{5}</desc>'
        '<text x="0" y="{6}" font-size="14" font-weight="600" fill="{7}">{4}</text>{8}</svg>'
    ).format(identifier, CHART_WIDTH, height, FONT_SIZE, title, description, TITLE_BASELINE, INK, body)


def _legend(series: Sequence[str], *, x: float, y: float) -> Markup:
    parts: list[Markup] = []
    for index, name in enumerate(series):
        fill, _ = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        parts.append(Markup(
            '<rect class="swatch" x="{:.1f}" y="{}" width="12" height="12" fill="{}"/>'
            '<text x="{:.1f}" y="{}" fill="{}">{}</text>'
        ).format(x, y - 10, fill, x + 16, y, INK, name))
        x += 16 + len(name) * CHARACTER_WIDTH + 18
    return Markup("").join(parts)


def _scale(bars: Sequence[Bar], length: float) -> float:
    largest = max(max(bar.value, 0.0) for bar in bars)
    return length / largest if largest > 0 else 0.0


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k that is ≥ value, so axis ticks land on round numbers."""
    if value <= 0:
        return 0.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _fit(text: str, width: float, *, font_size: float = FONT_SIZE) -> str:
    """Shorten ``text`` with an ellipsis so it fits ``width``; the full text stays in the bar's tooltip."""
    limit = max(1, int(width / (0.6 * font_size)))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(bars: Sequence[Bar]) -> str:
    listed = "; ".join(f"{bar.label}: {bar.value_text()}" for bar in bars[:DESCRIPTION_ITEMS])
    hidden = len(bars) - DESCRIPTION_ITEMS
    return listed + (f"; and {hidden} more" if hidden > 0 else "")
