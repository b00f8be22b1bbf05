"""Errors that find the name: "did you mean ...", the valid values when they are few, area names
accepted wherever codes are, and the function the user called named in every message.

Example:
    >>> print(unknown("indicator", ["health.ae_4h"], ["health.ae_4hr", "health.gp_experience"], function="compare"))
    compare: unknown indicator 'health.ae_4h'; did you mean 'health.ae_4hr'?
    Fix: use one of the 2 indicators: health.ae_4hr, health.gp_experience.
    >>> areas = pl.DataFrame({"area_code": ["E06000001", "E06000002"], "area_name": ["Hartlepool", "Middlesbrough"]})
    >>> area_codes(["hartlepool", "E06000002"], areas, function="compare")
    ['E06000001', 'E06000002']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from difflib import get_close_matches

import polars as pl

from publicservices.errors import DataError

__all__ = ["unknown", "area_codes", "SHOW_ALL"]

#: Up to this many valid values are listed in full; beyond it, the close matches and a count.
SHOW_ALL = 12


def _plural(what: str, n: int) -> str:
    if n == 1:
        return what
    return what[:-1] + "ies" if what.endswith("y") and what[-2:-1] not in "aeiou" else what + "s"


def unknown(what: str, given: Iterable[object], choices: Iterable[object], *, function: str, fix: str | None = None) -> DataError:
    """The error for ``given`` names of kind ``what`` that are not among ``choices``.

    Close matches (``difflib``, case-insensitive) are offered for each; the valid values are
    listed when there are at most :data:`SHOW_ALL` of them, else counted with the first few.
    """
    names = [str(g) for g in given]
    valid = sorted({str(c) for c in choices})
    folded = {v.casefold(): v for v in valid}
    close: list[str] = []
    for name in names:
        for hit in get_close_matches(name.casefold(), list(folded), n=3, cutoff=0.6):
            if folded[hit] not in close:
                close.append(folded[hit])
    head = f"{function}: unknown {_plural(what, len(names))} {', '.join(map(repr, names))}"
    if close:
        head += f"; did you mean {' or '.join(map(repr, close[:3]))}?"
    if not valid:
        listed = f"there are no {_plural(what, 2)} in the data."
    elif len(valid) <= SHOW_ALL:
        listed = f"use one of the {len(valid)} {_plural(what, len(valid))}: {', '.join(valid)}."
    else:
        listed = f"use one of the {len(valid):,} {_plural(what, len(valid))} ({', '.join(valid[:6])} ...)."
    return DataError(f"{head}\nFix: {fix or listed}")


def area_codes(given: str | Sequence[str], areas: pl.DataFrame | None, *, function: str) -> list[str]:
    """Area codes for ``given`` codes or names (names case-insensitive; a name two areas share is an error listing both)."""
    wanted = [given] if isinstance(given, str) else list(given)
    if areas is None or "area_code" not in areas.columns:
        return [str(w) for w in wanted]
    codes = areas.get_column("area_code").cast(pl.String).to_list()
    names = areas.get_column("area_name").cast(pl.String).to_list() if "area_name" in areas.columns else [None] * len(codes)
    by_code = set(codes)
    by_name: dict[str, list[str]] = {}
    for code, name in zip(codes, names, strict=True):
        if name:
            by_name.setdefault(name.casefold(), []).append(code)
    out: list[str] = []
    missing: list[str] = []
    for w in wanted:
        w = str(w)
        if w in by_code:
            out.append(w)
        elif len(found := by_name.get(w.casefold(), [])) == 1:
            out.append(found[0])
        elif found:
            raise DataError(
                f"{function}: the area name {w!r} is shared by {len(found)} areas ({', '.join(found)}).\n"
                "Fix: give the code of the one you mean."
            )
        else:
            missing.append(w)
    if missing:
        raise unknown(
            "area",
            missing,
            [n for n in names if n] + codes,
            function=function,
            fix=None
            if len(codes) <= SHOW_ALL
            else f"give an area code (such as {codes[0]}) or a name as the data spell it (such as {names[0]!r}).",
        )
    return out
