"""How results show themselves: HTML for notebooks, plain text for terminals.

The HTML is self-contained (no external CSS or JavaScript, no ``<style>`` block that a
notebook sanitiser might strip: every rule is an inline ``style``) and readable in light and
dark themes: text inherits the surrounding colour, backgrounds are transparent, borders are
semi-transparent ``currentColor``. Only the category dots carry fixed colours, taken from
the same colour-blind-safe palette as the charts. Every string that comes from data is
escaped with :func:`html.escape`.

The same HTML serves JupyterLab, VS Code and Quarto (they all read ``_repr_html_``); the
plain text serves terminals and every front end's ``text/plain`` fallback.

This module formats and lays out; it never computes statistics.

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"area_name": ["A & B", "C"], "value": [12.345, 6.0]})
    >>> block = Block(title="Example", sentences=["Two areas."], frame=frame,
    ...               columns=[Column("area_name", "area"), Column("value", "value", kind="number")])
    >>> print(block.text())
    Example
      Two areas.
    <BLANKLINE>
    area   value
    -----  -----
    A & B   12.3
    C       6.00
    >>> "A &amp; B" in block.html()
    True
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

__all__ = [
    "PALETTE",
    "Column",
    "Block",
    "category_colour",
    "format_number",
    "format_interval",
    "plural",
    "join_words",
]

# Colour-blind-safe: Okabe-Ito blue and vermillion for better/worse (distinct under all
# common colour-vision deficiencies, and legible on white and on dark backgrounds), grey for
# "similar", blues for "higher/lower" when an indicator has no polarity (no judgement implied).
PALETTE: dict[str, str] = {
    "better": "#0072B2",
    "worse": "#D55E00",
    "similar": "#8C8C8C",
    "higher": "#1F4E79",
    "lower": "#7FB2DE",
    "not compared": "#C8C8C8",
    # funnel plots: outside the 99.8% limits in the full colour, outside only the 95% lighter
    "better (99.8%)": "#0072B2",
    "better (95%)": "#56B4E9",
    "worse (99.8%)": "#D55E00",
    "worse (95%)": "#E69F00",
    "higher (99.8%)": "#1F4E79",
    "higher (95%)": "#4F81B3",
    "lower (99.8%)": "#7FB2DE",
    "lower (95%)": "#B3D1EC",
    "neutral": "#4C78A8",
    "benchmark": "#6E6E6E",
}

# Words the statistics may use for a category, mapped onto a palette key.
_CATEGORY_WORDS: dict[str, str] = {
    "better": "better",
    "significantly better": "better",
    "above": "better",
    "improvement": "better",
    "improving": "better",
    "worse": "worse",
    "significantly worse": "worse",
    "below": "worse",
    "concern": "worse",
    "worsening": "worse",
    "similar": "similar",
    "not significantly different": "similar",
    "within": "similar",
    "no significant change": "similar",
    "common cause": "similar",
    "higher": "higher",
    "lower": "lower",
    "not compared": "not compared",
    "none": "not compared",
}


def category_colour(category: Any) -> str | None:
    """The palette colour for a comparison category, or None when the word is unknown.

    >>> category_colour("Better"), category_colour("lower"), category_colour("??")
    ('#0072B2', '#7FB2DE', None)
    """
    if category is None:
        return None
    word = str(category).strip().lower()
    if word in PALETTE:
        return PALETTE[word]
    key = _CATEGORY_WORDS.get(word)
    return PALETTE.get(key) if key else None


# -- number formatting -----------------------------------------------------------------------


def format_number(value: Any, *, unit: str = "", digits: int = 3) -> str:
    """A number with about ``digits`` significant figures, thousands separators and its unit.

    Missing and non-finite values print as an en dash. ``%`` is attached, other units follow
    after a space.

    >>> format_number(1234567.0), format_number(0.012345), format_number(74.25, unit="%")
    ('1,234,567', '0.0123', '74.2%')
    >>> format_number(None), format_number(float("nan")), format_number(3, unit="per 1,000")
    ('–', '–', '3 per 1,000')
    """
    if value is None or isinstance(value, bool):
        return "–" if value is None else str(value)
    if isinstance(value, int):
        text = f"{value:,}"
    else:
        try:
            x = float(value)
        except (TypeError, ValueError):
            return str(value)
        if not math.isfinite(x):
            return "–"
        if x == 0:
            text = "0"
        else:
            decimals = max(0, digits - 1 - _magnitude(abs(x)))
            text = f"{x:,.{decimals}f}"
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def _magnitude(size: float) -> int:
    """floor(log10(size)) for size > 0, exactly: a computed log10 can land on the wrong side
    of an integer at a power of ten (Polars gives 2.9999999999999996 for 1000), so the powers
    of ten themselves decide, here and in :func:`number_expr` alike."""
    m = math.floor(math.log10(size))
    if m < 308 and 10.0 ** (m + 1) <= size:  # 1e309 overflows (the expression form gets inf: no step)
        return m + 1
    return m - 1 if 10.0**m > size else m


# Beyond these the expression form falls back to Polars' own float text (see number_expr).
_EXPR_LARGEST = 1e18  # above it the integer part no longer fits an unsigned 64-bit integer
_EXPR_MOST_DECIMALS = 300  # below about 1e-298 the power of ten would overflow


def number_expr(value: pl.Expr, unit: str | pl.Expr = "", *, digits: int = 3) -> pl.Expr:
    """:func:`format_number`'s text for a whole column at once, as a Polars expression.

    The same rule, vectorised for tables and chart tooltips: about ``digits`` significant
    figures, thousands separators, the unit (``%`` attached, others after a space; a
    column of units may be given as an expression), an en dash for missing and non-finite
    values. Ties round to even, as Python's own formatting does; magnitudes above 1e18 or
    below 1e-298 keep Polars' float text.

    >>> import polars as pl
    >>> pl.select(number_expr(pl.lit(pl.Series([1234567.0, 0.012345, 74.25, None, -0.6])), "%")).to_series().to_list()
    ['1,234,567%', '0.0123%', '74.2%', '–', '-0.600%']
    """
    import polars as pl

    # Each step is a field of one struct, computed once and read by name by the next step: the
    # same rule written as one nested expression repeats its parts (the magnitude is read by the
    # decimals, the padding, the slicing...) into a tree of some 90 KB that Polars spends about
    # 40 ms planning, whatever the frame's size.
    f = pl.field
    unit_expr = unit if isinstance(unit, pl.Expr) else pl.lit(unit)
    steps = pl.struct(value.cast(pl.Float64).alias("x"), unit_expr.cast(pl.String).alias("unit"))
    # Polars evaluates every branch, so the digit arithmetic runs on a stand-in (1.0) where
    # the text comes from elsewhere: missing, non-finite, zero or out of range.
    usual = f("x").is_finite() & (f("x").abs() > 0) & (f("x").abs() <= _EXPR_LARGEST)
    steps = steps.struct.with_fields(usual.alias("usual"))
    steps = steps.struct.with_fields(pl.when(f("usual")).then(f("x").abs()).otherwise(pl.lit(1.0)).alias("safe"))
    steps = steps.struct.with_fields(f("safe").log10().floor().alias("m"))
    ten = pl.lit(10.0)
    steps = steps.struct.with_fields(  # the magnitude corrected at powers of ten, as _magnitude does
        pl.when(ten.pow(f("m") + 1) <= f("safe"))
        .then(f("m") + 1)
        .when(ten.pow(f("m")) > f("safe"))
        .then(f("m") - 1)
        .otherwise(f("m"))
        .alias("m")
    )
    decimals = (pl.lit(digits - 1, pl.Float64) - f("m")).clip(0, _EXPR_MOST_DECIMALS).cast(pl.Int64)
    steps = steps.struct.with_fields(decimals.alias("decimals"))
    scaled = (f("safe") * ten.pow(f("decimals"))).round(0, mode="half_to_even").cast(pl.UInt64).cast(pl.String)
    # 0.0123 -> "00123": room for the leading "0."
    steps = steps.struct.with_fields(scaled.str.zfill(f("decimals") + 1).alias("padded"))
    steps = steps.struct.with_fields((f("padded").str.len_chars() - f("decimals")).alias("cut"))
    whole = f("padded").str.slice(0, f("cut"))
    # thousands separators from the right: reverse, a comma after every three digits, reverse back
    grouped = whole.str.reverse().str.replace_all(r"(\d{3})", "${1},").str.strip_suffix(",").str.reverse()
    fraction = pl.when(f("decimals") > 0).then("." + f("padded").str.slice(f("cut"))).otherwise(pl.lit(""))
    sign = pl.when(f("x") < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    text = (
        pl.when(f("x") == 0)
        .then(pl.lit("0"))
        .when(~f("usual") | (f("decimals") >= _EXPR_MOST_DECIMALS))
        .then(f("x").cast(pl.String))
        .otherwise(sign + grouped + fraction)
    )
    steps = steps.struct.with_fields(text.alias("body"))
    with_unit = (
        pl.when(f("unit") == "%")
        .then(f("body") + "%")
        .when(f("unit") == "")
        .then(f("body"))
        .otherwise(f("body") + " " + f("unit"))
    )
    missing = f("x").is_null() | ~f("x").is_finite()
    return steps.struct.with_fields(pl.when(missing).then(pl.lit("–")).otherwise(with_unit).alias("text")).struct.field("text")


def format_interval(lower: Any, upper: Any, *, digits: int = 3) -> str:
    """``lower–upper`` with the same decimals at both ends (``to`` when an end is negative),
    or an en dash when either end is missing.

    >>> format_interval(70.123, 78.9), format_interval(None, 3), format_interval(-2.9, -0.1)
    ('70.1–78.9', '–', '-2.90 to -0.10')
    >>> format_interval(0.6, 3.6)
    '0.60–3.60'
    """
    if not (_finite(lower) and _finite(upper)):
        return "–"
    lo, hi = float(lower), float(upper)
    biggest = max(abs(lo), abs(hi))
    if biggest == 0:
        return "0–0"
    decimals = max(0, digits - 1 - _magnitude(biggest))
    if min(lo, hi) < 0:
        return f"{lo:,.{decimals}f} to {hi:,.{decimals}f}"
    return f"{lo:,.{decimals}f}–{hi:,.{decimals}f}"


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 area``, ``3 areas``, ``1,204 practices``.

    >>> plural(1, "area"), plural(1204, "practice"), plural(2, "authority", "authorities")
    ('1 area', '1,204 practices', '2 authorities')
    """
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def join_words(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``.

    >>> join_words(["a", "b", "c"])
    'a, b and c'
    """
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# -- tables --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Column:
    """One displayed column.

    Parameters:
        name: column in the frame (for ``kind="interval"``, the lower limit's column).
        label: header text.
        kind: ``text``, ``number``, ``integer``, ``interval`` (with ``upper``), ``category``
            (a comparison word shown with a coloured dot), ``percent`` (a 0-1 share shown as %)
            ``percent_interval`` (two 0-1 shares shown as ``12–15%``) or ``integer_interval``
            (whole numbers such as ranks, ``3–17``).
        upper: the upper limit's column for ``kind="interval"``.
        unit: unit appended to numbers.
    """

    name: str
    label: str
    kind: str = "text"
    upper: str | None = None
    unit: str = ""

    def present(self, frame: pl.DataFrame) -> bool:
        return self.name in frame.columns and (self.upper is None or self.upper in frame.columns)

    @property
    def header(self) -> str:
        """The label, with a unit other than ``%`` in brackets (``%`` goes on each number)."""
        if self.unit and self.unit != "%" and self.kind == "number":
            return f"{self.label} ({self.unit})"
        return self.label

    def cell(self, row: dict[str, Any]) -> str:
        value = row.get(self.name)
        if self.kind == "interval":
            return format_interval(value, row.get(self.upper or ""))
        if self.kind == "integer_interval":
            upper = row.get(self.upper or "")
            if value is None or upper is None or not (_finite(value) and _finite(upper)):
                return "–"
            return f"{float(value):,.0f}–{float(upper):,.0f}"
        if self.kind == "percent_interval":
            upper = row.get(self.upper or "")
            if value is None or upper is None or not (_finite(value) and _finite(upper)):
                return "–"
            return f"{100 * float(value):.0f}–{100 * float(upper):.0f}%"
        if self.kind == "number":
            return format_number(value, unit=self.unit if self.unit == "%" else "")
        if self.kind == "integer":
            return "–" if value is None else (f"{int(value):,}" if _finite(value) else "–")
        if self.kind == "percent":
            return "–" if value is None or not _finite(value) else f"{100 * float(value):.0f}%"
        if value is None:
            return "–"
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return str(value)

    @property
    def numeric(self) -> bool:
        return self.kind in ("number", "integer", "interval", "integer_interval", "percent", "percent_interval")


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


@dataclasses.dataclass
class Block:
    """A displayable block: a title, headline sentences and the first rows of a frame.

    ``html()`` and ``text()`` render it; result objects build one and delegate to it.

    Parameters:
        title: first line (escaped).
        sentences: plain-language headline sentences (escaped).
        frame: the full result frame; only ``max_rows`` rows are shown, with a count of the rest.
        columns: which columns to show and how; absent columns are skipped.
        max_rows: rows shown.
        badge: a short tag beside the title, e.g. ``synthetic data``.
        sorted_by: the column the frame is sorted by, marked in the header.
        footer: a closing hint (escaped).
    """

    title: str
    sentences: Sequence[str]
    frame: pl.DataFrame
    columns: Sequence[Column]
    max_rows: int = 10
    badge: str | None = None
    sorted_by: str | None = None
    footer: str | None = None

    def _shown(self) -> tuple[list[Column], list[dict[str, Any]], int]:
        columns = [c for c in self.columns if c.present(self.frame)]
        if not columns:  # a frame without any known column still shows something
            columns = [
                Column(name, name, kind="number" if self.frame.schema[name].is_numeric() else "text")
                for name in self.frame.columns[:8]
            ]
        names = list(dict.fromkeys(n for c in columns for n in (c.name, c.upper) if n))
        rows = self.frame.head(self.max_rows).select(names).to_dicts()
        return columns, rows, self.frame.height - len(rows)

    # -- HTML --------------------------------------------------------------------------------

    def html(self) -> str:
        """The block as self-contained HTML (inline styles only; colours inherit)."""
        columns, rows, rest = self._shown()
        e = html.escape
        ident = (
            "ps-"
            + hashlib.sha1((self.title + "\x00".join(self.sentences) + str(self.frame.shape)).encode("utf-8")).hexdigest()[:10]
        )
        border = "1px solid rgba(127,127,127,0.35)"
        cell = "padding:0.25em 0.75em;background:transparent;color:inherit;border:none;"
        parts = [
            f'<div class="ps-result" id="{ident}" style="font-family:inherit;color:inherit;'
            'background:transparent;line-height:1.45;max-width:100%;overflow-x:auto">'
        ]
        badge = (
            f' <span class="ps-badge" style="font-size:0.8em;padding:0.05em 0.5em;border:{border};'
            f'border-radius:0.8em;opacity:0.85">{e(self.badge)}</span>'
            if self.badge
            else ""
        )
        parts.append(f'<div class="ps-title" style="font-weight:600;margin:0 0 0.3em 0">{e(self.title)}{badge}</div>')
        if self.sentences:
            parts.append('<ul class="ps-headline" style="margin:0 0 0.6em 0;padding-left:1.3em">')
            parts.extend(f'<li style="margin:0.1em 0">{e(s)}</li>' for s in self.sentences)
            parts.append("</ul>")
        parts.append(
            '<table class="ps-table" style="border-collapse:collapse;color:inherit;background:transparent;'
            'font-size:0.9em;font-variant-numeric:tabular-nums;margin:0">'
        )
        parts.append("<thead><tr>")
        for c in columns:
            align = "right" if c.numeric else "left"
            marker = ' <span aria-hidden="true" style="opacity:0.6">▾</span>' if c.name == self.sorted_by else ""
            sort_attr = ' aria-sort="ascending"' if c.name == self.sorted_by else ""
            parts.append(
                f'<th scope="col"{sort_attr} style="{cell}text-align:{align};border-bottom:{border};'
                f'font-weight:600;white-space:nowrap">{e(c.header)}{marker}</th>'
            )
        parts.append("</tr></thead><tbody>")
        for i, row in enumerate(rows):
            stripe = "background:rgba(127,127,127,0.07);" if i % 2 else ""
            parts.append("<tr>")
            for c in columns:
                text = e(c.cell(row))
                align = "right" if c.numeric else "left"
                if c.kind == "category":
                    colour = category_colour(row.get(c.name))
                    if colour:
                        text = f'<span aria-hidden="true" style="color:{colour}">●</span> {text}'
                parts.append(f'<td style="{cell}{stripe}text-align:{align};white-space:nowrap">{text}</td>')
            parts.append("</tr>")
        parts.append("</tbody></table>")
        notes = []
        if rest > 0:
            notes.append(f"… and {plural(rest, 'more row')} ({self.frame.height:,} in all).")
        if self.footer:
            notes.append(self.footer)
        if notes:
            parts.append(
                f'<div class="ps-more" style="font-size:0.85em;opacity:0.75;margin-top:0.3em">{e(" ".join(notes))}</div>'
            )
        parts.append("</div>")
        return "".join(parts)

    # -- text --------------------------------------------------------------------------------

    def text(self, *, width: int = 100) -> str:
        """The block as plain text for terminals: title, sentences, an aligned table."""
        columns, rows, rest = self._shown()
        lines = [self.title + (f"  [{self.badge}]" if self.badge else "")]
        lines.extend(f"  {s}" for s in self.sentences)
        lines.append("")
        cells = [[c.cell(row) for c in columns] for row in rows]
        widths = [min(28, max([len(c.header), *(len(r[i]) for r in cells)])) for i, c in enumerate(columns)]
        # Drop trailing columns rather than wrap: a terminal table that wraps is unreadable.
        keep = len(columns)
        while keep > 1 and sum(widths[:keep]) + 2 * (keep - 1) > width:
            keep -= 1

        def fmt(values: Sequence[str]) -> str:
            out = []
            for i in range(keep):
                v = values[i] if len(values[i]) <= widths[i] else values[i][: widths[i] - 1] + "…"
                out.append(v.rjust(widths[i]) if columns[i].numeric else v.ljust(widths[i]))
            return "  ".join(out).rstrip()

        lines.append(fmt([c.header for c in columns]))
        lines.append("  ".join("-" * w for w in widths[:keep]))
        lines.extend(fmt(r) for r in cells)
        notes = []
        if rest > 0:
            notes.append(f"… and {plural(rest, 'more row')} ({self.frame.height:,} in all).")
        if keep < len(columns):
            notes.append(f"{plural(len(columns) - keep, 'column')} not shown.")
        if self.footer:
            notes.append(self.footer)
        if notes:
            lines.append(" ".join(notes))
        return "\n".join(lines)
