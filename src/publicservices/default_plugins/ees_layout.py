"""The layout of DfE Explore education statistics files: their columns, geographic levels,
time identifiers and filters (read by :mod:`publicservices.default_plugins.ees`).

Example:
    >>> import polars as pl
    >>> ees_period(pl.Series(["202223", "2023", "202223", "2023"]),
    ...            pl.Series(["Academic year", "Calendar year", "Spring term", "March"])).rows()
    [('2022/23', datetime.date(2022, 9, 1)), ('2023', datetime.date(2023, 1, 1)), ('2022/23 spring term', datetime.date(2023, 1, 1)), ('March 2023', datetime.date(2023, 3, 1))]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from publicservices.reading import LoadReport

__all__ = ["sniff_ees", "ees_period", "breakdowns", "LEVELS", "ID_COLUMN", "REQUIRED"]

REQUIRED = ("time_period", "time_identifier", "geographic_level")

# geographic_level -> the columns of its code and name, in the order tried
LEVELS: dict[str, tuple[tuple[str, ...], str]] = {
    "national": (("country_code",), "country_name"),
    "regional": (("region_code",), "region_name"),
    "local authority": (("new_la_code",), "la_name"),  # old_la_code is DfE's own three digits, not an area code
    "local authority district": (("lad_code",), "lad_name"),
    "parliamentary constituency": (("pcon_code",), "pcon_name"),
    "ward": (("ward_code",), "ward_name"),
    "local skills improvement plan area": (("lsip_code",), "lsip_name"),
    "local enterprise partnership": (("local_enterprise_partnership_code",), "local_enterprise_partnership_name"),
    "english devolved area": (("english_devolved_area_code",), "english_devolved_area_name"),
    "opportunity area": (("opportunity_area_code",), "opportunity_area_name"),
    "planning area": (("planning_area_code",), "planning_area_name"),
    "mayoral combined authority": (("cauth_code",), "cauth_name"),
    "police force area": (("pfa_code",), "pfa_name"),
    "mat": (("trust_id",), "trust_name"),
    "sponsor": (("sponsor_id",), "sponsor_name"),
    "school": (("school_urn", "school_laestab"), "school_name"),
    "provider": (("provider_ukprn",), "provider_name"),
    "institution": (("institution_id",), "institution_name"),
}
# Columns that name a place, a time or an organisation: never filters, never indicators.
ID_COLUMN = re.compile(r"(_code|_name|_id|_urn|_ukprn|_laestab|^laestab|^urn|^ukprn)$")
# A filter's value for everyone (EES writes "Total"; some releases name the population)
_TOTAL = re.compile(
    r"^(total|all|persons|all (persons|ages|pupils|schools|students|children|learners|sexes|establishments|providers))$"
)

_MONTHS = ("january february march april may june july august september october november december").split()
# time_identifier -> (words after the label, month the period starts, whether it starts in the
# second year) for a span of two years written YYYYYY: "202223" is 2022/23
_SPANS: dict[str, tuple[str, int, bool]] = {
    "academic year": ("", 9, False),
    "financial year": ("", 4, False),
    "tax year": ("", 4, False),
    "autumn term": (" autumn term", 9, False),
    "autumn and spring term": (" autumn and spring terms", 9, False),
    "spring term": (" spring term", 1, True),
    "summer term": (" summer term", 4, True),
    "financial year q1": (" Q1", 4, False),
    "financial year q2": (" Q2", 7, False),
    "financial year q3": (" Q3", 10, False),
    "financial year q4": (" Q4", 1, True),
}
# time_identifier -> (words before the year, words after it, month the period starts) for a year YYYY
_YEARS: dict[str, tuple[str, str, int]] = {
    "calendar year": ("", "", 1),
    "reporting year": ("", "", 1),
    **{f"q{q}": ("", f" Q{q}", 3 * q - 2) for q in range(1, 5)},
    **{m: (m.capitalize() + " ", "", i + 1) for i, m in enumerate(_MONTHS)},
}


def sniff_ees(columns: Sequence[str]) -> bool:
    return set(REQUIRED) <= {c.strip().lower() for c in columns}


def ees_period(time_period: pl.Series, time_identifier: pl.Series) -> pl.DataFrame:
    """The period label and start date of each row (both null where the pair is not understood).

    A six-digit ``time_period`` (``202223``) is a span of two years for the identifiers of
    :data:`_SPANS`, a four-digit one a calendar year for those of :data:`_YEARS`.
    """
    import polars as pl

    frame = pl.DataFrame({"tp": time_period.cast(pl.String).str.strip_chars(), "ti": time_identifier.cast(pl.String)})
    tp, kind = pl.col("tp"), pl.col("ti").str.strip_chars().str.to_lowercase()

    def lookup(table: dict[str, tuple[Any, ...]], at: int, dtype: Any) -> pl.Expr:
        return kind.replace_strict({k: v[at] for k, v in table.items()}, default=None, return_dtype=dtype)

    y1, y2 = tp.str.slice(0, 4), tp.str.slice(4, 2)
    # 202223, and not 202225: the second year follows the first
    span = tp.str.contains(r"^\d{6}$") & ((y1.cast(pl.Int32, strict=False) + 1) % 100 == y2.cast(pl.Int32, strict=False))
    span = span & lookup(_SPANS, 1, pl.Int8).is_not_null()
    year = tp.str.contains(r"^\d{4}$") & lookup(_YEARS, 2, pl.Int8).is_not_null()
    first = y1.cast(pl.Int32, strict=False)
    label = (
        pl.when(span)
        .then(pl.concat_str(y1, pl.lit("/"), y2, lookup(_SPANS, 0, pl.String)))
        .when(year)
        .then(pl.concat_str(lookup(_YEARS, 0, pl.String), tp, lookup(_YEARS, 1, pl.String)))
    )
    start = (
        pl.when(span)
        .then(pl.date(first + lookup(_SPANS, 2, pl.Int32), lookup(_SPANS, 1, pl.Int8), 1))
        .when(year)
        .then(pl.date(first, lookup(_YEARS, 2, pl.Int8), 1))
    )
    return frame.select(label.alias("period"), start.alias("period_start"))


def breakdowns(
    frame: pl.DataFrame, filters: list[str], grouping: dict[str, str], restricted: list[str], report: LoadReport
) -> tuple[pl.DataFrame, pl.Expr, pl.Expr, list[str]]:
    """Each row's breakdown (category_type, category) from its filters, cross-tabulations set
    aside; filters with one value dropped (added to ``restricted`` when that value is not a
    total: the whole file is about that group), filters without a total kept to split indicators."""
    import polars as pl

    is_total = pl.col("_f").str.strip_chars().str.to_lowercase().str.contains(_TOTAL.pattern)
    # a "<x>_topic" or "<x>_group" column names the kind of its partner <x>'s values: one filter
    pairs = {f: t for f in filters for t in (f"{f}_topic", f"{f}_group") if t in filters}
    pairs.update({f: g for f, g in grouping.items() if f in filters and g in filters})
    single: list[str] = []
    split: list[str] = []
    active: list[str] = []
    for f in filters:
        if f in pairs.values():
            continue
        distinct = frame.get_column(f).n_unique()
        has_total = frame.select(pl.col(f).alias("_f")).select(is_total.fill_null(True).any()).item()
        if distinct == 1:
            value = frame.get_column(f)[0]
            single.append(f"{f} = {value!r}")
            if (value or "").strip() and not _TOTAL.match(value.strip().lower()):  # an empty filter restricts nothing
                restricted.append(f"{f.replace('_', ' ')}: {value}")
        elif not has_total:
            split.append(f)
        else:
            active.append(f)
    if single:
        report.notes.append(f"Every row has {', '.join(single)}: the filter is noted here and not repeated.")
    if split:
        report.notes.append(
            f"Filter(s) with no total ({', '.join(split)}): each of their values is a separate indicator, not a breakdown."
        )

    def total(f: str) -> pl.Expr:
        return pl.col(f).fill_null("").str.strip_chars().str.to_lowercase().str.contains(_TOTAL.pattern)

    broken = [~total(f) for f in active]
    count = pl.sum_horizontal(broken) if broken else pl.lit(0)
    frame = frame.with_columns(count.alias("_broken"))
    crossed = frame.filter(pl.col("_broken") >= 2)
    if crossed.height:
        report.set_aside[f"cross-tabulated rows (two or more of {', '.join(active)} not a total)"] = crossed.height
    frame = frame.filter(pl.col("_broken") < 2)
    kind, group = pl.lit(None, pl.String), pl.lit(None, pl.String)
    for f in active:
        topic = pairs.get(f)
        kind_text = pl.col(topic) if topic else pl.lit(f.replace("_", " ").capitalize())
        kind = pl.when(~total(f)).then(kind_text).otherwise(kind)
        group = pl.when(~total(f)).then(pl.col(f)).otherwise(group)
    return frame, kind, group, split
