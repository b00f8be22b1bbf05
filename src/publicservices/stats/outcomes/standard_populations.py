"""Standard populations for direct age standardisation.

The European Standard Population 2013 (ESP2013, 19 five-year bands, 0-4 ... 85-89, 90+) is the
standard Fingertips and the ONS use since 2014; the 1976 version (ESP1976, 18 bands, 0-4 ...
80-84, 85+) is kept for older series. Both sum to 100,000.

Reference: Eurostat (2013) *Revision of the European Standard Population: report of Eurostat's
task force*, Methodologies and Working Papers; Waterhouse J et al. (1976) *Cancer Incidence in
Five Continents* vol. III (ESP1976).

Example:
    >>> sum(ESP2013), len(ESP2013), ESP2013_BANDS[-1]
    (100000, 19, '90+')
    >>> standard_population("esp1976").tail(2).rows()
    [('80-84', 1000.0), ('85+', 1000.0)]
"""

from __future__ import annotations

import polars as pl

from publicservices.errors import OptionError

__all__ = [
    "ESP2013",
    "ESP2013_BANDS",
    "ESP1976",
    "ESP1976_BANDS",
    "STANDARD_POPULATIONS",
    "standard_population",
]

ESP2013: tuple[int, ...] = (
    5000,
    5500,
    5500,
    5500,
    6000,
    6000,
    6500,
    7000,
    7000,
    7000,
    7000,
    6500,
    6000,
    5500,
    5000,
    4000,
    2500,
    1500,
    1000,
)
ESP2013_BANDS: tuple[str, ...] = tuple(f"{a}-{a + 4}" for a in range(0, 90, 5)) + ("90+",)

ESP1976: tuple[int, ...] = (
    8000,
    7000,
    7000,
    7000,
    7000,
    7000,
    7000,
    7000,
    7000,
    7000,
    7000,
    6000,
    5000,
    4000,
    3000,
    2000,
    1000,
    1000,
)
ESP1976_BANDS: tuple[str, ...] = tuple(f"{a}-{a + 4}" for a in range(0, 85, 5)) + ("85+",)

STANDARD_POPULATIONS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "esp2013": (ESP2013_BANDS, ESP2013),
    "esp1976": (ESP1976_BANDS, ESP1976),
}


def standard_population(name: str = "esp2013") -> pl.DataFrame:
    """Return a shipped standard population as a frame with columns ``age_band``, ``standard``.

    Parameters:
        name: ``"esp2013"`` (European Standard Population 2013, 19 bands) or ``"esp1976"``
            (18 bands, last band 85+).

    Reference: Eurostat (2013), *Revision of the European Standard Population*.

    Example:
        >>> standard_population().head(2).rows()
        [('0-4', 5000.0), ('5-9', 5500.0)]
    """
    key = str(name).lower()
    if key not in STANDARD_POPULATIONS:
        raise OptionError(
            f"unknown standard population {name!r}.\n"
            f"Fix: use one of {', '.join(sorted(STANDARD_POPULATIONS))}, or pass your own weights "
            "(a column name, a sequence in age-band order, or a mapping age band -> weight)."
        )
    bands, weights = STANDARD_POPULATIONS[key]
    return pl.DataFrame(
        {"age_band": list(bands), "standard": [float(w) for w in weights]},
        schema={"age_band": pl.String, "standard": pl.Float64},
    )
