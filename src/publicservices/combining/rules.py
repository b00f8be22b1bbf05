"""The rules of a combination: what makes two rows the same, and what a conflict is."""

from __future__ import annotations

from typing import Literal

OnConflict = Literal["error", "first", "last"]
ON_CONFLICT: tuple[str, ...] = ("error", "first", "last")
#: Two numbers closer than this (relative to the larger) are the same number.
RELATIVE_TOLERANCE = 1e-9
#: The numbers that make a values row what it is: two sources differing here conflict.
VALUE_FIELDS: tuple[str, ...] = ("value", "numerator", "denominator", "lower_ci", "upper_ci")
#: Area attributes whose disagreement is a conflict rather than a note.
AREA_NUMBERS: tuple[str, ...] = ("population", "deprivation")
SHOWN = 5
HELPERS = ("__src", "__row", "__n", "__diff")
