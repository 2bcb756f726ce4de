"""The report's bar charts as inline SVG, written directly (pure: figures in, markup out).

Two bars per group (two measures side by side), the value written at the end of each bar and ``s``
for a hidden one (drawn as an empty bar), a legend, and axes with round ticks. Text stays text
(the page's font), nothing is fetched, and the same figures always give the same bytes. Drawn by
hand rather than with matplotlib: a 7-bar chart does not need a plotting library, and importing
and laying one out cost more than all the counting of a 2,000-trainee indicator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

FONT_SIZE = 10.0
SMALL_FONT = 8.0
CHAR_WIDTH = 0.6
"""Estimated width of one character, in font sizes (labels are sized before the browser draws)."""
WIDTH = 504.0
"""Chart width in points (7 inches, as the page's figures are laid out)."""

Series = tuple[str, str, Sequence[int | None]]
"""(legend label, colour, one value per group; None when hidden)."""


def _text_width(text: str, size: float = FONT_SIZE) -> float:
    return len(text) * size * CHAR_WIDTH


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (steps of 1, 2 or 5 times a power of ten)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if step < 1:
        step = 1.0
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def _svg(width: float, height: float, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_fmt(width)}pt" '
            f'height="{_fmt(height)}pt" viewBox="0 0 {_fmt(width)} {_fmt(height)}" '
            f'font-family="system-ui, sans-serif" font-size="{_fmt(FONT_SIZE)}" role="img">\n'
            + "\n".join(body) + "\n</svg>")


def _label(x: float, y: float, text: str, anchor: str = "middle", size: float = FONT_SIZE,
           extra: str = "") -> str:
    size_attr = "" if size == FONT_SIZE else f' font-size="{_fmt(size)}"'
    return (f'<text x="{_fmt(x)}" y="{_fmt(y)}" text-anchor="{anchor}"{size_attr}{extra}>'
            f"{escape(text)}</text>")


def _rect(x: float, y: float, width: float, height: float, colour: str) -> str:
    return (f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(width)}" height="{_fmt(height)}" '
            f'fill="{colour}"/>')


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    out = []
    for label, colour, _ in series:
        out.append(_rect(x, y - 8, 14, 8, colour))
        out.append(_label(x + 18, y, label, "start"))
        x += 18 + _text_width(label) + 16
    return out


def _legend_width(series: Sequence[Series]) -> float:
    return sum(18 + _text_width(label) + 16 for label, _, _ in series) - 16


def vertical_bars(groups: Sequence[str], series: Sequence[Series], axis_label: str) -> str:
    """Groups along the x axis (e.g. quarters), one bar per series in each."""
    height = 216.0
    top_pad, bottom = 24.0, height - 28.0
    ticks = nice_ticks(max((v or 0 for _, _, vs in series for v in vs), default=0))
    left = 30.0 + max(_text_width(_fmt(t)) for t in ticks)
    right = WIDTH - 4.0
    scale = (bottom - top_pad) / ticks[-1]
    slot = (right - left) / max(len(groups), 1)
    bar = slot * 0.8 / max(len(series), 1)
    body = [_label(12, (top_pad + bottom) / 2, axis_label, extra=(
        f' transform="rotate(-90 12 {_fmt((top_pad + bottom) / 2)})"'))]
    for tick in ticks:
        y = bottom - tick * scale
        body.append(f'<line x1="{_fmt(left - 4)}" y1="{_fmt(y)}" x2="{_fmt(left)}" y2="{_fmt(y)}" '
                    'stroke="#000" stroke-width="0.8"/>')
        body.append(_label(left - 6, y + 3.5, _fmt(tick), "end"))
    for index, group in enumerate(groups):
        start = left + slot * index + slot * 0.1
        body.append(_label(start + slot * 0.4, bottom + 14, group))
        for number, (_, colour, values) in enumerate(series):
            value = values[index]
            x = start + bar * number
            length = (value or 0) * scale
            body.append(_rect(x, bottom - length, bar, length, colour))
            body.append(_label(x + bar / 2, bottom - length - 3, "s" if value is None else str(value),
                               size=SMALL_FONT))
    body.append(f'<path d="M {_fmt(left)} {_fmt(top_pad - 8)} V {_fmt(bottom)} H {_fmt(right)}" '
                'fill="none" stroke="#000" stroke-width="0.8"/>')
    body += _legend(series, right - _legend_width(series), 12)
    return _svg(WIDTH, height, body)


def horizontal_bars(names: Sequence[str], series: Sequence[Series], axis_label: str) -> str:
    """One row per name (e.g. regions), one bar per series in each, the legend below."""
    row = 0.45 * 72
    height = max(1.6 * 72, row * len(names) + 0.8 * 72)
    top_pad, bottom = 4.0, height - 48.0
    ticks = nice_ticks(max((v or 0 for _, _, vs in series for v in vs), default=0))
    left = 12.0 + max((_text_width(n) for n in names), default=0.0)
    right = WIDTH - 8.0 - _text_width(" " + _fmt(ticks[-1]), SMALL_FONT)
    scale = (right - left) / ticks[-1]
    slot = (bottom - top_pad) / max(len(names), 1)
    bar = slot * 0.8 / max(len(series), 1)
    body = []
    for tick in ticks:
        x = left + tick * scale
        body.append(f'<line x1="{_fmt(x)}" y1="{_fmt(bottom)}" x2="{_fmt(x)}" '
                    f'y2="{_fmt(bottom + 4)}" stroke="#000" stroke-width="0.8"/>')
        body.append(_label(x, bottom + 15, _fmt(tick)))
    body.append(_label((left + right) / 2, bottom + 28, axis_label))
    for index, name in enumerate(names):
        start = top_pad + slot * index + slot * 0.1
        body.append(_label(left - 6, start + slot * 0.4 + 3.5, name, "end"))
        for number, (_, colour, values) in enumerate(series):
            value = values[index]
            y = start + bar * number
            length = (value or 0) * scale
            body.append(_rect(left, y, length, bar, colour))
            body.append(_label(left + length + 2, y + bar / 2 + 3,
                               "s" if value is None else str(value), "start", SMALL_FONT))
    body.append(f'<path d="M {_fmt(left)} {_fmt(top_pad)} V {_fmt(bottom)} H {_fmt(right)}" '
                'fill="none" stroke="#000" stroke-width="0.8"/>')
    body += _legend(series, (WIDTH - _legend_width(series)) / 2, height - 4)
    return _svg(WIDTH, height, body)
