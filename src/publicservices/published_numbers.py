"""Numbers as publishers write them in text: thousands separators, a % sign on a percentage,
and the symbols official statistics put where a number is withheld.

Spreadsheet exports of official statistics write ``3,319,266`` for a count and ``65.0%`` for
a percentage. Polars reads neither as a number, so a reader that cast such a column would
lose every cell. :func:`number_from_text` reads them; anything else that is not a number
stays null, for the reader to count and explain (``LoadReport``): :func:`unread_reason`
gives the reason, the meaning of a symbol (``c``, ``[x]``, ``low`` ...) or the text itself.

Example:
    >>> import polars as pl
    >>> f = pl.DataFrame({"v": ["1,234.5", " 65.0% ", "12,34", "c", ""], "pct": [False, True, False, False, False]})
    >>> f.select(number_from_text(pl.col("v"), percent=pl.col("pct"))).to_series().to_list()
    [1234.5, 65.0, None, None, None]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

__all__ = ["SYMBOLS", "number_from_text", "symbol_meaning", "unread_numbers", "unread_note", "unread_reason", "missing_reason"]

# The symbols of the GSS guidance on symbols in tables (written bare or in square brackets,
# "[c]") and of the DfE and older ONS tables, as the reason a value is missing.
SYMBOLS = {
    "c": "confidential (suppressed) in the source",
    "x": "not available in the source",
    "z": "not applicable in the source",
    "low": "rounds to zero in the source ('low')",
    "u": "low reliability: not published in the source",
    "w": "no or too few cases in the source ('w')",
    ":": "not available in the source",
    "..": "not available in the source",
    "~": "rounds to zero in the source ('~')",
    "*": "suppressed in the source ('*')",
}

# commas only between groups of three digits, so "12,34" (a decimal comma, or a typo) is not read
_GROUPED = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$"


def number_from_text(text: pl.Expr, *, percent: pl.Expr | bool = False) -> pl.Expr:
    """``text`` as a Float64: surrounding spaces ignored, thousands separators read where every
    group has three digits, and a trailing ``%`` read where ``percent`` holds (the column or
    row is a percentage, so ``65.0%`` is 65.0 on its 0-100 scale). Other text is null.
    """
    import polars as pl

    t = text.cast(pl.String).str.strip_chars()
    if percent is not False:
        pct = percent if isinstance(percent, pl.Expr) else pl.lit(True)
        t = pl.when(pct & t.str.ends_with("%")).then(t.str.strip_suffix("%").str.strip_chars_end()).otherwise(t)
    t = pl.when(t.str.contains(_GROUPED)).then(t.str.replace_all(",", "", literal=True)).otherwise(t)
    return t.cast(pl.Float64, strict=False)


def unread_reason(text: pl.Expr) -> pl.Expr:
    """Why a cell that is not a number has no value: what its symbol means (:data:`SYMBOLS`),
    or ``not a number in the source (<text>)``.

    >>> import polars as pl
    >>> pl.select(unread_reason(pl.lit(pl.Series(["c", "[x]", " Low ", "n/a"])))).to_series().to_list()
    ['confidential (suppressed) in the source', 'not available in the source', "rounds to zero in the source ('low')", 'not a number in the source (n/a)']
    """
    import polars as pl

    return pl.coalesce(symbol_meaning(text), pl.format("not a number in the source ({})", text.cast(pl.String).str.strip_chars()))


def missing_reason(text: pl.Expr, number: pl.Expr) -> pl.Expr:
    """Why a cell has no value (null where ``number`` was read from it): empty, a symbol's
    meaning, or the text that is not a number.

    >>> import polars as pl
    >>> cells = pl.lit(pl.Series(["12", "", "[c]", "n/a"]))
    >>> pl.select(missing_reason(cells, number_from_text(cells))).to_series().to_list()
    [None, 'empty in the source file', 'confidential (suppressed) in the source', 'not a number in the source (n/a)']
    """
    import polars as pl

    blank = text.is_null() | (text.cast(pl.String).str.strip_chars() == "")
    return (
        pl.when(number.is_not_null())
        .then(None)
        .when(blank)
        .then(pl.lit("empty in the source file"))
        .otherwise(unread_reason(text))
    )


def symbol_meaning(text: pl.Expr) -> pl.Expr:
    """What a cell's symbol means (:data:`SYMBOLS`, bare or in square brackets), null for any other text."""
    import polars as pl

    key = text.cast(pl.String).str.strip_chars().str.to_lowercase()
    key = pl.when(key.str.contains(r"^\[[^\]]+\]$")).then(key.str.slice(1, key.str.len_chars() - 2)).otherwise(key)
    return key.replace_strict(SYMBOLS, default=None, return_dtype=pl.String)


def unread_numbers(text: pl.Expr, number: pl.Expr) -> pl.Expr:
    """Whether a cell holds text (not blank) that :func:`number_from_text` did not read."""
    import polars as pl

    stripped = text.cast(pl.String).str.strip_chars()
    return stripped.is_not_null() & (stripped != "") & number.is_null()


def unread_note(frame: pl.DataFrame, column: str, number: pl.Expr) -> str | None:
    """A reader's note on the cells of ``column`` that ``number`` leaves unread (None if none).

    >>> import polars as pl
    >>> f = pl.DataFrame({"numerator": ["1,250", "*", "", "*", "n/a"]})
    >>> unread_note(f, "numerator", number_from_text(pl.col("numerator")))
    "3 numerator cells were not numbers (e.g. '*', 'n/a') and were left empty."
    """
    import polars as pl

    unread = frame.filter(unread_numbers(pl.col(column), number)).get_column(column)
    if not unread.len():
        return None
    examples = ", ".join(repr(v) for v in unread.unique(maintain_order=True).head(3).to_list())
    return f"{unread.len():,} {column} cells were not numbers (e.g. {examples}) and were left empty."
