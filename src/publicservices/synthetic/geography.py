"""The demo nation's fixed geography: a hexagonal tile map, its regions, and area names.

The map is data, not chance: the same 150 tiles, 9 regions and names for every seed, so
that "X06000012" is the same invented place whatever is simulated on it. Each letter below
is one upper-tier area; the letter is its region. Rows run north (top) to south; indented
rows sit half a tile to the right (an "odd-r" hexagonal layout with odd rows counted from
the southern edge).

Coordinates follow the axial system of Red Blob Games' "Hexagonal Grids" guide
(https://www.redblobgames.com/grids/hexagons/): ``hex_q`` and ``hex_r`` (``hex_r`` grows
northwards), neighbours differ by one of six axial steps. ``tile_x``/``tile_y`` are the
tile centres for plotting, one tile width apart, north up.

Example:
    >>> areas = tile_frame()
    >>> areas.height, areas.get_column("region_letter").n_unique()
    (150, 9)
    >>> hex_neighbours(areas).height > 0
    True
"""

from __future__ import annotations

import hashlib
import math

import polars as pl

__all__ = ["MAP", "REGIONS", "AREA_TYPES", "tile_frame", "hex_neighbours", "area_names", "stable_hash"]

MAP = """\
. . . . . . A A
 . . . . . A A A
. . . . . A A A I
 . . . . . A A I I
. . . . . A A I I I
 . . . . F F I I I
. . . . F F F I I I
 . . . F F F F I D D
. . . . F F F I I D D
 . . . F F F F D D D D
. . . C C C G G D D D D
 . . C C G G G G D D D D
. C C C C G G G G D D H
 C C C C G G G G G H H H
. C C C C G G G G B H H
 . . . E E G G G B B H H H
. . . E E E E E B B H H H H
 . . . E E E E B B B H H H
. . . . E E E B B B B B H
 . . . . E E E B B B
"""

# letter -> (region code, invented name, kind). "capital": every area is a capital borough;
# "metropolitan": a conurbation of metropolitan districts around the region's centre.
REGIONS: dict[str, tuple[str, str, str]] = {
    "A": ("X12000001", "Northfell", "shire"),
    "I": ("X12000002", "Eastdale", "metropolitan"),
    "F": ("X12000003", "Westmere", "metropolitan"),
    "D": ("X12000004", "Ambervale", "shire"),
    "C": ("X12000005", "Carrow Peninsula", "shire"),
    "G": ("X12000006", "Heartlands", "metropolitan"),
    "H": ("X12000007", "Saltmarsh Coast", "shire"),
    "E": ("X12000008", "Southcombe", "shire"),
    "B": ("X12000009", "Capital", "capital"),
}

# code prefix -> area type; mirrors the English GSS prefixes E06/E08/E09/E10 with an X.
AREA_TYPES: dict[str, str] = {
    "X06": "Unitary authority",
    "X08": "Metropolitan district",
    "X09": "Capital borough",
    "X10": "County",
}
_METRO_DISTRICTS = 9  # per metropolitan region
_AXIAL_STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1))

_PREFIXES = (
    "Aldren",
    "Bramble",
    "Carrow",
    "Dunmer",
    "Elster",
    "Fennick",
    "Garrow",
    "Holmer",
    "Ilver",
    "Kestle",
    "Lindow",
    "Marrow",
    "Norbeck",
    "Orrin",
    "Pellow",
    "Quarry",
    "Redmere",
    "Sallow",
    "Tarrow",
    "Ulver",
    "Vellin",
    "Wraxe",
    "Yarrow",
    "Brackel",
    "Cresset",
    "Drummel",
    "Eskel",
    "Foxcar",
    "Gorsey",
    "Hallow",
)
_TOWN_SUFFIXES = (
    "bury",
    "ford",
    "ham",
    "ley",
    "mouth",
    "ton",
    "wick",
    "field",
    "by",
    "caster",
    "stow",
    "worth",
    "combe",
    "dale",
    "minster",
)
_BOROUGH_SUFFIXES = ("Green", "Hill", "Park", "Cross", "Heath", "Common", "Gate", "Wharf", "Bridge", "Vale", "Rise", "Fields")


def stable_hash(text: str) -> int:
    """A 64-bit integer hash of ``text`` that is the same on every platform and run.

    Python's built-in ``hash`` is salted per process, so it cannot seed anything.

    Example:
        >>> stable_hash("health.ae_4hr") == stable_hash("health.ae_4hr")
        True
    """
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def _parse_map() -> list[tuple[int, int, str]]:
    """(column, row, region letter) of every tile; row 1 is the southern edge."""
    lines = [line.rstrip() for line in MAP.splitlines() if line.strip()]
    n = len(lines)
    cells = []
    for i, line in enumerate(lines):
        row = n - i  # southern row is 1
        shifted = line.startswith(" ")
        if shifted != (row % 2 == 1):
            raise AssertionError(f"map row {row} is indented wrongly")  # pragma: no cover - fixed data
        for col, char in enumerate(line[1 if shifted else 0 :: 2]):
            if char != ".":
                cells.append((col, row, char))
    return cells


def tile_frame() -> pl.DataFrame:
    """One row per tile: ``region_letter``, ``hex_q``, ``hex_r``, ``tile_x``, ``tile_y``, ``area_code``, ``area_type``.

    Area types: the capital region holds capital boroughs (X09); each metropolitan region has
    a conurbation of nine metropolitan districts (X08) nearest its centre; elsewhere about
    one tile in five (the most remote from the region's centre) is a large county (X10) and
    the rest are unitary authorities (X06). Codes are numbered north to south, west to east.
    """
    cells = _parse_map()
    frame = pl.DataFrame(
        {
            "col": [c for c, _, _ in cells],
            "row": [r for _, r, _ in cells],
            "region_letter": [g for _, _, g in cells],
        },
        schema={"col": pl.Int64, "row": pl.Int64, "region_letter": pl.String},
    ).with_columns(
        hex_q=pl.col("col") - (pl.col("row") - pl.col("row") % 2) // 2,
        hex_r=pl.col("row"),
        tile_x=pl.col("col").cast(pl.Float64) + 0.5 * (pl.col("row") % 2).cast(pl.Float64),
        tile_y=pl.col("row").cast(pl.Float64) * (math.sqrt(3) / 2),
    )
    kinds = pl.DataFrame({"region_letter": list(REGIONS), "kind": [v[2] for v in REGIONS.values()]})
    frame = frame.join(kinds, on="region_letter", how="left")
    # Distance of each tile from its region's centre decides conurbation and county tiles.
    frame = frame.with_columns(
        dist=(
            (pl.col("tile_x") - pl.col("tile_x").mean().over("region_letter")) ** 2
            + (pl.col("tile_y") - pl.col("tile_y").mean().over("region_letter")) ** 2
        )
    ).with_columns(
        near=pl.col("dist").rank("ordinal").over("region_letter"),
        far=pl.col("dist").rank("ordinal", descending=True).over("region_letter"),
        size=pl.len().over("region_letter"),
    )
    prefix = (
        pl.when(pl.col("kind") == "capital")
        .then(pl.lit("X09"))
        .when((pl.col("kind") == "metropolitan") & (pl.col("near") <= _METRO_DISTRICTS))
        .then(pl.lit("X08"))
        .when(pl.col("far") <= (pl.col("size") / 5).round(0))
        .then(pl.lit("X10"))
        .otherwise(pl.lit("X06"))
    )
    frame = frame.with_columns(prefix.alias("prefix")).sort(["row", "col"], descending=[True, False])
    frame = frame.with_columns(
        area_code=pl.col("prefix") + pl.int_range(1, pl.len() + 1).over("prefix").cast(pl.String).str.zfill(6),
        area_type=pl.col("prefix").replace_strict(AREA_TYPES),
    )
    return frame.select("area_code", "area_type", "region_letter", "hex_q", "hex_r", "tile_x", "tile_y")


def area_names(area_types: list[str]) -> list[str]:
    """Invented, unique place names, one per area, chosen without randomness.

    Towns join a prefix and an English place-name ending ("Kestleford"); counties add
    "shire"; capital boroughs pair a prefix with a feature ("Orrin Heath"). The pairs are
    taken in the order of a SHA-256 hash, so the list never changes.
    """
    town_pairs = sorted(((p, s) for p in _PREFIXES for s in _TOWN_SUFFIXES), key=lambda ps: stable_hash("|".join(ps)))
    borough_pairs = sorted(((p, s) for p in _PREFIXES for s in _BOROUGH_SUFFIXES), key=lambda ps: stable_hash("~".join(ps)))
    county_prefixes = sorted(_PREFIXES, key=lambda p: stable_hash("shire|" + p))
    towns, boroughs, counties = iter(town_pairs), iter(borough_pairs), iter(county_prefixes)
    used_prefix: set[str] = set()
    names: list[str] = []
    for kind in area_types:
        if kind == "County":
            name = next(counties) + "shire"
        elif kind == "Capital borough":
            name = " ".join(next(boroughs))
        else:
            # Prefer prefixes not yet used, so neighbouring names do not all sound alike.
            pair = next(towns)
            while pair[0] in used_prefix and len(used_prefix) < len(_PREFIXES):
                pair = next(towns)
            used_prefix.add(pair[0])
            if len(used_prefix) == len(_PREFIXES):
                used_prefix.clear()
            # "Hallow" + "worth" reads better as "Halloworth".
            name = pair[0] + (pair[1][1:] if pair[0][-1] == pair[1][0] else pair[1])
        names.append(name)
    return names


def hex_neighbours(areas: pl.DataFrame) -> pl.DataFrame:
    """Pairs of areas whose hexagonal tiles touch: columns ``area_code``, ``neighbour_code``.

    Each adjacency appears in both directions. Needs ``area_code``, ``hex_q`` and ``hex_r``
    (the demo nation's areas frame has them).

    Example:
        >>> import polars as pl
        >>> tiles = pl.DataFrame({"area_code": ["a", "b", "c"], "hex_q": [0, 1, 5], "hex_r": [0, 0, 0]})
        >>> hex_neighbours(tiles).sort("area_code").rows()
        [('a', 'b'), ('b', 'a')]
    """
    from publicservices.errors import SchemaError

    missing = [c for c in ("area_code", "hex_q", "hex_r") if c not in areas.columns]
    if missing:
        raise SchemaError(
            f"areas: column(s) {missing} are missing, so tile neighbours cannot be found.\n"
            "Fix: pass an areas frame with hex_q and hex_r tile coordinates (such as ps.demo().areas)."
        )
    steps = pl.DataFrame({"dq": [s[0] for s in _AXIAL_STEPS], "dr": [s[1] for s in _AXIAL_STEPS]})
    tiles = areas.select("area_code", pl.col("hex_q").cast(pl.Int64), pl.col("hex_r").cast(pl.Int64))
    shifted = tiles.join(steps, how="cross").select(
        "area_code", (pl.col("hex_q") + pl.col("dq")).alias("hex_q"), (pl.col("hex_r") + pl.col("dr")).alias("hex_r")
    )
    return (
        shifted.join(tiles.rename({"area_code": "neighbour_code"}), on=["hex_q", "hex_r"], how="inner")
        .select("area_code", "neighbour_code")
        .sort("area_code", "neighbour_code")
    )
