"""Geography: what kind of area a code names, its parents, and which areas may be ranked together.

An area code says what kind of area it is (its *level*): ``E06`` is a unitary authority,
``E07`` a shire district, ``E23`` a police force area, ``RXX`` an NHS trust, a six-digit
number a school. Every level has a *role*: national and regional totals are *benchmarks*
(compared against, never ranked); everything else is a *unit*.

Units are only comparable within a *comparable set*: English upper-tier authorities (shire
counties with unitaries, metropolitan districts and London boroughs) are one set; lower-tier
authorities (shire districts with the same unitaries, metropolitan districts and London
boroughs) are another. A file holding both counties and districts therefore needs two sets,
and a unitary authority belongs to both.

Parents (the English region of every local authority and the shire county of every shire
district) come from ``publicservices/data/geography_lookup.csv``, which ships with the package
and is built from the ONS boundaries by ``scripts/build_geography_lookup.py``.

Example:
    >>> import polars as pl
    >>> levels_of(["E06000001", "E07000117", "E12000002", "RXX", "100001", "Z1"]).to_list()
    ['unitary', 'shire_district', 'region', 'nhs_provider', 'school', 'other']
    >>> comparable_sets(["shire_county", "shire_district", "unitary", "region"])
    ['upper_tier', 'lower_tier']
    >>> successor_map()["E10000023"]  # North Yorkshire county became a unitary in 2023
    'E06000065'
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

import polars as pl

from publicservices.errors import DataError, ReaderError, SchemaError, problem

__all__ = [
    "Level",
    "LEVELS",
    "BENCHMARK",
    "UNIT",
    "PREFIX_LEVELS",
    "ComparableSet",
    "COMPARABLE_SETS",
    "SUCCESSORS",
    "level_expr",
    "levels_of",
    "geography_lookup",
    "area_geography",
    "comparable_sets",
    "set_membership",
    "successor_map",
]

BENCHMARK = "benchmark"
UNIT = "unit"


@dataclass(frozen=True)
class Level:
    """One kind of area.

    ``role`` is ``"benchmark"`` for national and regional totals (compared against, never
    ranked as units) and ``"unit"`` for everything that can be ranked.

    Example:
        >>> LEVELS["shire_county"].plural, LEVELS["region"].role
        ('shire counties', 'benchmark')
    """

    id: str
    label: str
    plural: str
    role: str


LEVELS: dict[str, Level] = {
    level.id: level
    for level in (
        Level("country", "Country", "countries", BENCHMARK),
        Level("region", "Region", "regions", BENCHMARK),
        Level("nhs_region", "NHS England region", "NHS England regions", BENCHMARK),
        Level("london_part", "Inner or Outer London", "Inner and Outer London", BENCHMARK),
        Level("combined_authority", "Combined authority", "combined authorities", UNIT),
        Level("metropolitan_county", "Metropolitan county", "metropolitan counties", UNIT),
        Level("shire_county", "Shire county", "shire counties", UNIT),
        Level("unitary", "Unitary authority", "unitary authorities", UNIT),
        Level("metropolitan_district", "Metropolitan district", "metropolitan districts", UNIT),
        Level("london_borough", "London borough", "London boroughs", UNIT),
        Level("shire_district", "Shire district", "shire districts", UNIT),
        Level("merged_authority", "Merged local authorities", "merged local authorities", UNIT),
        Level("council_area", "Council area", "council areas", UNIT),
        Level("local_government_district", "Local government district", "local government districts", UNIT),
        Level("police_force_area", "Police force area", "police force areas", UNIT),
        Level("icb", "Integrated care board", "integrated care boards", UNIT),
        Level("sub_icb", "Sub-ICB location", "sub-ICB locations", UNIT),
        Level("nhs_provider", "NHS trust", "NHS trusts", UNIT),
        Level("school", "School", "schools", UNIT),
        # Countries compared with each other (international comparator tables): units, unlike
        # the nations of the UK, which are the benchmark of their own areas.
        Level("nation", "Country (international)", "countries", UNIT),
        Level("other", "Other area", "other areas", UNIT),
    )
}

# First three characters of a nine-character GSS code -> level (ONS Register of Geographic
# Codes). X-codes are the synthetic demo nation's mirror of the English prefixes.
PREFIX_LEVELS: dict[str, str] = {
    **dict.fromkeys(("E92", "W92", "S92", "N92", "K02", "K03", "K04", "X92"), "country"),
    **dict.fromkeys(("E12", "X12"), "region"),
    "E40": "nhs_region",
    "E13": "london_part",
    "E47": "combined_authority",
    "E11": "metropolitan_county",
    **dict.fromkeys(("E10", "X10"), "shire_county"),
    **dict.fromkeys(("E06", "W06", "X06"), "unitary"),
    **dict.fromkeys(("E08", "X08"), "metropolitan_district"),
    **dict.fromkeys(("E09", "X09"), "london_borough"),
    "E07": "shire_district",
    "E67": "merged_authority",
    "S12": "council_area",
    "N09": "local_government_district",
    **dict.fromkeys(("E23", "W15"), "police_force_area"),
    "E54": "icb",
    "E38": "sub_icb",
}
_GSS = r"^[A-Z][0-9]{8}$"
# NHS trust codes are three characters starting with R ('RXX', 'R0A'); their sites add two.
_NHS_PROVIDER = r"^R[A-Z0-9]{2}([A-Z0-9]{2})?$"
_SCHOOL_URN = r"^[0-9]{6}$"
# Levels that are their own upper-tier authority (they run education and social care).
_SELF_UPPER_TIER = frozenset(
    (
        "unitary",
        "metropolitan_district",
        "london_borough",
        "shire_county",
        "merged_authority",
        "council_area",
        "local_government_district",
    )
)


@dataclass(frozen=True)
class ComparableSet:
    """A set of levels whose units may be ranked against each other.

    Example:
        >>> COMPARABLE_SETS["lower_tier"].levels[:3]
        ('unitary', 'metropolitan_district', 'london_borough')
    """

    id: str
    label: str
    levels: tuple[str, ...]


_LA_COMMON = ("unitary", "metropolitan_district", "london_borough")
_LA_OUTSIDE_ENGLAND = ("merged_authority", "council_area", "local_government_district")

# In preference order: the order in which a page shows the sets of one indicator.
COMPARABLE_SETS: dict[str, ComparableSet] = {
    s.id: s
    for s in (
        ComparableSet(
            "upper_tier",
            "upper-tier and unitary local authorities (E06, E08, E09, E10)",
            (*_LA_COMMON, "shire_county", *_LA_OUTSIDE_ENGLAND),
        ),
        ComparableSet(
            "lower_tier",
            "lower-tier and unitary local authorities (E06, E07, E08, E09)",
            (*_LA_COMMON, "shire_district", *_LA_OUTSIDE_ENGLAND),
        ),
        ComparableSet(
            "combined_authority",
            "combined authorities and metropolitan counties (E47, E11)",
            ("combined_authority", "metropolitan_county"),
        ),
        ComparableSet("police_force_area", "police force areas (E23, W15)", ("police_force_area",)),
        ComparableSet("icb", "integrated care boards (E54)", ("icb",)),
        ComparableSet("sub_icb", "sub-ICB locations (E38)", ("sub_icb",)),
        ComparableSet("nhs_provider", "NHS trusts", ("nhs_provider",)),
        ComparableSet("school", "schools", ("school",)),
        ComparableSet("nation", "countries (international comparison)", ("nation",)),
        ComparableSet("other", "other areas", ("other",)),
    )
}


def _successors(codes: Iterable[str], new: tuple[str, ...], year: int) -> dict[str, tuple[tuple[str, ...], int]]:
    return {code: (new, year) for code in codes}


# Obsolete code -> (the codes that replaced it, first year of the new codes). Sources: the
# "Obsolete code since YYYY (replaced by ...)" notes of the ONS Explore Local Statistics files,
# the start/end years of the ONS boundaries (geo_uk_la_topojson_2014_2025.json) and the ONS
# Register of Geographic Codes. Many-to-one and one-to-many changes are listed too, so that
# callers can see an area is historical; only one-to-one changes go into successor_map().
SUCCESSORS: dict[str, tuple[tuple[str, ...], int]] = {
    # 2013: boundary changes between Northumberland and Gateshead gave both new codes.
    "E06000048": (("E06000057",), 2013),
    "E08000020": (("E08000037",), 2013),
    # 2018-19: small Scottish boundary changes gave four council areas new codes.
    "S12000015": (("S12000047",), 2018),  # Fife
    "S12000024": (("S12000048",), 2018),  # Perth and Kinross
    "S12000046": (("S12000049",), 2019),  # Glasgow City
    "S12000044": (("S12000050",), 2019),  # North Lanarkshire
    # 2019: Bournemouth, Christchurch and Poole; Dorset; Suffolk and Somerset district mergers.
    **_successors(("E06000028", "E06000029", "E07000048"), ("E06000058",), 2019),
    "E10000009": (("E06000059",), 2019),  # Dorset county -> Dorset unitary (upper tier one-to-one)
    **_successors(("E07000049", "E07000050", "E07000051", "E07000052", "E07000053"), ("E06000059",), 2019),
    **_successors(("E07000201", "E07000204"), ("E07000245",), 2019),  # West Suffolk
    **_successors(("E07000205", "E07000206"), ("E07000244",), 2019),  # East Suffolk
    **_successors(("E07000190", "E07000191"), ("E07000246",), 2019),  # Somerset West and Taunton
    # 2020: Buckinghamshire.
    "E10000002": (("E06000060",), 2020),
    **_successors(("E07000004", "E07000005", "E07000006", "E07000007"), ("E06000060",), 2020),
    # 2021: Northamptonshire split in two (each old district lies wholly in one new unitary).
    "E10000021": (("E06000061", "E06000062"), 2021),
    **_successors(("E07000150", "E07000152", "E07000153", "E07000156"), ("E06000061",), 2021),
    **_successors(("E07000151", "E07000154", "E07000155"), ("E06000062",), 2021),
    # 2023: Cumbria split in two; North Yorkshire and Somerset became unitaries.
    "E10000006": (("E06000063", "E06000064"), 2023),
    **_successors(("E07000026", "E07000028", "E07000029"), ("E06000063",), 2023),  # Cumberland
    **_successors(("E07000027", "E07000030", "E07000031"), ("E06000064",), 2023),  # Westmorland and Furness
    "E10000023": (("E06000065",), 2023),
    **_successors(
        ("E07000163", "E07000164", "E07000165", "E07000166", "E07000167", "E07000168", "E07000169"), ("E06000065",), 2023
    ),
    "E10000027": (("E06000066",), 2023),
    **_successors(("E07000187", "E07000188", "E07000189", "E07000246"), ("E06000066",), 2023),
    # 2025: boundary change between Barnsley and Sheffield gave both new codes.
    "E08000016": (("E08000038",), 2025),
    "E08000019": (("E08000039",), 2025),
}


# -- levels ------------------------------------------------------------------------------------


def level_expr(code: pl.Expr) -> pl.Expr:
    """The level id of each area code (``"other"`` for unknown or null codes), as an expression.

    Vectorised: a prefix lookup and two regular expressions, no Python loop over rows.
    Codes are compared trimmed and upper-cased, and integer codes (school URNs read as numbers)
    are cast to text first.

    Example:
        >>> pl.DataFrame({"c": ["E09000033", "W15000001", "R0A", "RBL01", "E99000001"]}).select(
        ...     level_expr(pl.col("c"))).to_series().to_list()
        ['london_borough', 'police_force_area', 'nhs_provider', 'nhs_provider', 'other']
    """
    text = code.cast(pl.String).str.strip_chars().str.to_uppercase()
    by_prefix = text.str.slice(0, 3).replace_strict(PREFIX_LEVELS, default=None, return_dtype=pl.String)
    return (
        pl.when(text.str.contains(_GSS) & by_prefix.is_not_null())
        .then(by_prefix)
        .when(text.str.contains(_NHS_PROVIDER))
        .then(pl.lit("nhs_provider"))
        .when(text.str.contains(_SCHOOL_URN))
        .then(pl.lit("school"))
        .otherwise(pl.lit("other"))
        .alias("level")
    )


def levels_of(codes: Iterable[object] | pl.Series) -> pl.Series:
    """:func:`level_expr` over a list or Series of codes; returns a Series named ``level``.

    Example:
        >>> levels_of(["E10000017", "E23000001", 123456]).to_list()
        ['shire_county', 'police_force_area', 'school']
    """
    series = (
        codes
        if isinstance(codes, pl.Series)
        else pl.Series("code", [None if c is None else str(c) for c in codes], dtype=pl.String)
    )
    return pl.DataFrame({"code": series}).select(level_expr(pl.col("code"))).to_series()


# -- the shipped lookup ---------------------------------------------------------------------------

_LOOKUP_SCHEMA = {
    "area_code": pl.String,
    "area_name": pl.String,
    "level": pl.String,
    "region_code": pl.String,
    "upper_tier_code": pl.String,
    "start": pl.Int64,
    "end": pl.Int64,
}
_LOOKUP_FILE = "geography_lookup.csv"


@functools.cache
def _load_lookup() -> pl.DataFrame:
    try:
        raw = resources.files("publicservices").joinpath("data", _LOOKUP_FILE).read_bytes()
    except (FileNotFoundError, OSError) as exc:
        raise ReaderError(
            f"publicservices/data/{_LOOKUP_FILE}: the geography lookup is missing from the installed package ({exc}).\n"
            "Fix: reinstall publicservices, or rebuild it with `python scripts/build_geography_lookup.py <topojson>`."
        ) from exc
    frame = pl.read_csv(io.BytesIO(raw), schema=_LOOKUP_SCHEMA)
    repeated = frame.filter(pl.col("area_code").is_duplicated()).get_column("area_code").unique().sort().to_list()
    if repeated:
        raise DataError(
            problem(
                "area_code",
                f"is repeated in publicservices/data/{_LOOKUP_FILE}",
                rows=repeated,
                fix="Rebuild the lookup with scripts/build_geography_lookup.py.",
            )
        )
    return frame


def geography_lookup() -> pl.DataFrame:
    """The shipped parents lookup: ``area_code, area_name, level, region_code, upper_tier_code, start, end``.

    One row per code: every local authority, county, combined authority, region and country in
    the ONS 2014-2025 boundaries, plus the E67 merged areas, Inner/Outer London and the
    obsolete codes of :data:`SUCCESSORS`. ``start``/``end`` are the first and last years of
    the code (empty = open).

    Example:
        >>> row = geography_lookup().filter(pl.col("area_code") == "E07000117").row(0, named=True)
        >>> row["area_name"], row["region_code"], row["upper_tier_code"]
        ('Burnley', 'E12000002', 'E10000017')
    """
    return _load_lookup().clone()  # a copy, so a caller's in-place edit cannot poison the cache


@functools.cache
def _lookup_maps() -> tuple[dict[str, str], dict[str, str]]:
    frame = _load_lookup()
    region = {c: r for c, r in frame.select("area_code", "region_code").iter_rows() if r is not None}
    upper = {c: u for c, u in frame.select("area_code", "upper_tier_code").iter_rows() if u is not None}
    return region, upper


@functools.cache
def _lookup_names() -> dict[str, str]:
    return {c: n for c, n in _load_lookup().select("area_code", "area_name").iter_rows() if n}


def replaced_by(code: str) -> tuple[list[str], int] | None:
    """The names of the areas that replaced an obsolete code (:data:`SUCCESSORS`), and the first
    year of the new codes; None for a code still in use.

    >>> replaced_by("E07000007"), replaced_by("E06000060")
    ((['Buckinghamshire'], 2020), None)
    """
    if code not in SUCCESSORS:
        return None
    new, year = SUCCESSORS[code]
    return [_lookup_names().get(c, c) for c in new], year


# -- areas ----------------------------------------------------------------------------------------

_ADDED = ("level", "level_label", "role", "region_code", "upper_tier_code", "successor_code", "parent_code")


def _fill(frame: pl.DataFrame, column: str, computed: pl.Expr) -> pl.Expr:
    """``column`` with its nulls filled from ``computed`` (or ``computed`` when the column is absent)."""
    if column not in frame.columns:
        return computed.alias(column)
    existing = pl.col(column)
    if frame.schema[column] == pl.Null:  # an all-null column has no type to keep
        existing = existing.cast(pl.String)
    return pl.coalesce(existing, computed).alias(column)


def _code_map(code: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    return code.replace_strict(mapping, default=None, return_dtype=pl.String)


def area_geography(areas: pl.DataFrame) -> pl.DataFrame:
    """Add each area's level, role and parents to an areas frame.

    Adds (or, where the column exists, fills only the nulls of): ``level``, ``level_label``,
    ``role``, ``region_code`` (the English region E12 of every English local authority in the
    shipped lookup, or a parent_code that is a region), ``upper_tier_code`` (a shire district's
    county; the area itself for unitaries, metropolitan districts, London boroughs, counties and
    merged areas), ``successor_code`` (the one-to-one replacement of an obsolete code, see
    :func:`successor_map`) and ``parent_code`` (filled with ``region_code``).

    Never drops, duplicates or reorders rows, and never changes a non-null value.

    Example:
        >>> areas = pl.DataFrame({"area_code": ["E07000117", "E08000003", "E92000001", "E10000023"]})
        >>> out = area_geography(areas)
        >>> out.select("level", "role", "region_code", "upper_tier_code").rows()  # doctest: +NORMALIZE_WHITESPACE
        [('shire_district', 'unit', 'E12000002', 'E10000017'), ('metropolitan_district', 'unit', 'E12000002', 'E08000003'),
         ('country', 'benchmark', None, None), ('shire_county', 'unit', 'E12000003', 'E10000023')]
        >>> out.get_column("successor_code").to_list()
        [None, None, None, 'E06000065']
    """
    if not isinstance(areas, pl.DataFrame):
        raise SchemaError(
            f"areas: expected a Polars DataFrame, got {type(areas).__name__}.\n"
            "Fix: pass publicservices.validate_areas(your_frame)."
        )
    if "area_code" not in areas.columns:
        raise SchemaError(
            f"areas: required column 'area_code' is missing. Columns present: {', '.join(areas.columns)}.\n"
            "Fix: rename the column that holds GSS codes to 'area_code'."
        )
    region_map, upper_map = _lookup_maps()
    code = pl.col("area_code").cast(pl.String)
    labels = {k: v.label for k, v in LEVELS.items()}
    roles = {k: v.role for k, v in LEVELS.items()}
    has_parent = "parent_code" in areas.columns and areas.schema["parent_code"] != pl.Null
    parent = pl.col("parent_code").cast(pl.String) if has_parent else pl.lit(None, dtype=pl.String)
    parent_level = level_expr(parent)

    out = areas.with_columns(_fill(areas, "level", level_expr(code)))
    level = pl.col("level")
    region = pl.coalesce(
        _code_map(code, region_map),
        # the demo nation and other frames that already name a region as parent
        pl.when(parent_level == "region").then(parent),
    )
    upper = pl.coalesce(
        _code_map(code, upper_map),
        pl.when(level.is_in(list(_SELF_UPPER_TIER))).then(code),
        pl.when((level == "shire_district") & (parent_level == "shire_county")).then(parent),
    )
    out = out.with_columns(
        _fill(out, "level_label", _code_map(level, labels)),
        _fill(out, "role", _code_map(level, roles)),
        _fill(out, "region_code", region),
        _fill(out, "upper_tier_code", upper),
        _fill(out, "successor_code", _code_map(code, successor_map())),
    )
    return out.with_columns(_fill(out, "parent_code", pl.col("region_code")))


# -- comparable sets -------------------------------------------------------------------------


def _check_levels(levels: Iterable[str]) -> set[str]:
    present = set(levels)
    unknown = sorted(str(x) for x in present if x not in LEVELS)
    if unknown:
        raise DataError(
            problem(
                "level",
                "has unknown level ids",
                rows=unknown,
                fix=f"Use level ids from publicservices.geography.LEVELS: {', '.join(LEVELS)}.",
            )
        )
    return present


def comparable_sets(levels: Iterable[str]) -> list[str]:
    """The comparable sets a collection of levels needs, in preference order.

    Upper tier is needed when a shire county is present, or when any of its levels is present
    and no shire district is (unitaries alone are ranked as upper tier); lower tier whenever a
    shire district is present; every other set when any of its levels is. Benchmark levels
    (countries, regions) never make a set.

    Example:
        >>> comparable_sets(["unitary", "london_borough", "country"])
        ['upper_tier']
        >>> comparable_sets(["unitary", "shire_district"])
        ['lower_tier']
        >>> comparable_sets(["police_force_area", "region"])
        ['police_force_area']
    """
    present = _check_levels(levels)
    chosen = []
    for s in COMPARABLE_SETS.values():
        members = present.intersection(s.levels)
        if s.id == "upper_tier":
            needed = "shire_county" in present or (bool(members) and "shire_district" not in present)
        elif s.id == "lower_tier":
            needed = "shire_district" in present
        else:
            needed = bool(members)
        if needed:
            chosen.append(s.id)
    return chosen


def set_membership(areas_with_level: pl.DataFrame, sets: Sequence[str]) -> pl.DataFrame:
    """One row per (``area_code``, ``comparable_set``) for the unit areas in ``sets``.

    ``areas_with_level`` needs ``area_code`` and, ideally, ``level`` (derived from the code when
    absent). An area in two of the sets (a unitary when both tiers are present) gives two rows;
    benchmark areas and areas in none of ``sets`` give none. Rows follow the input order, then
    the order of ``sets``. Columns: ``area_code``, ``level``, ``comparable_set``.

    Example:
        >>> areas = pl.DataFrame({"area_code": ["E06000001", "E10000017", "E07000117", "E92000001"]})
        >>> set_membership(areas, comparable_sets(levels_of(areas["area_code"]))).rows()  # doctest: +NORMALIZE_WHITESPACE
        [('E06000001', 'unitary', 'upper_tier'), ('E06000001', 'unitary', 'lower_tier'),
         ('E10000017', 'shire_county', 'upper_tier'), ('E07000117', 'shire_district', 'lower_tier')]
    """
    if "area_code" not in areas_with_level.columns:
        raise SchemaError(
            "set_membership: required column 'area_code' is missing.\n"
            "Fix: pass an areas frame with area_code (and level from area_geography)."
        )
    sets = list(sets)  # may be any iterable; it is read twice
    unknown = [s for s in sets if s not in COMPARABLE_SETS]
    if unknown:
        raise DataError(
            problem(
                "comparable_set",
                "names unknown comparable sets",
                rows=unknown,
                fix=f"Choose from {', '.join(COMPARABLE_SETS)} (see comparable_sets()).",
            )
        )
    pairs = [
        (level, set_id, order) for order, set_id in enumerate(dict.fromkeys(sets)) for level in COMPARABLE_SETS[set_id].levels
    ]
    members = pl.DataFrame(pairs, schema={"level": pl.String, "comparable_set": pl.String, "_set_order": pl.Int64}, orient="row")
    level = pl.col("level").cast(pl.String) if "level" in areas_with_level.columns else level_expr(pl.col("area_code"))
    units = areas_with_level.select(
        pl.col("area_code").cast(pl.String),
        pl.coalesce(level, level_expr(pl.col("area_code"))).alias("level"),
    ).with_row_index("_row")
    return (
        units.join(members, on="level", how="inner")
        .sort("_row", "_set_order")
        .unique(["area_code", "comparable_set"], keep="first", maintain_order=True)
        .select("area_code", "level", "comparable_set")
    )


# -- successor codes -------------------------------------------------------------------------------


def _tiers(level: str) -> set[str]:
    """The local-authority tiers (comparable sets) a level belongs to."""
    return {s for s in ("upper_tier", "lower_tier") if level in COMPARABLE_SETS[s].levels} or {level}


@functools.cache
def _successor_map() -> dict[str, str]:
    levels = dict(zip(SUCCESSORS, levels_of(list(SUCCESSORS)).to_list(), strict=True))
    direct: dict[str, str] = {}
    for old, (new, _year) in SUCCESSORS.items():
        if len(new) != 1:
            continue  # one-to-many: the old area has no single continuation
        # Many-to-one within a tier (Bournemouth and Poole -> BCP) is not a continuation either;
        # a county and its districts merging into one unitary is one-to-one for the upper tier.
        siblings = [o for o, (n, _) in SUCCESSORS.items() if o != old and new[0] in n and _tiers(levels[o]) & _tiers(levels[old])]
        if not siblings:
            direct[old] = new[0]
    resolved = {}
    for old, code in direct.items():  # follow chains of one-to-one changes to the current code
        seen = {old}
        while code in direct and code not in seen:
            seen.add(code)
            code = direct[code]
        resolved[old] = code
    return resolved


def successor_map() -> dict[str, str]:
    """Obsolete code -> its current code, for one-to-one changes only.

    One-to-one means the old area continues as the new one within its tier: Northumberland
    E06000048 -> E06000057, Dorset county E10000009 -> E06000059 (its districts merged into the
    same unitary, but they are lower tier). Mergers of peers (Bournemouth, Christchurch and
    Poole) and splits (Northamptonshire, Cumbria) are left out: those stay historical areas.

    Example:
        >>> m = successor_map()
        >>> m["E06000048"], "E06000028" in m, "E10000021" in m
        ('E06000057', False, False)
    """
    return dict(_successor_map())
