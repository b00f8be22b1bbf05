"""Small conversions between NumPy results and Polars columns."""

from __future__ import annotations

from typing import Any


def text_values(values: Any) -> list[str | None]:
    """A list for a String column from a NumPy object array (Polars 2 refuses to cast Object).

    Example:
        >>> import numpy as np
        >>> text_values(np.array(["a", None], dtype=object))
        ['a', None]
    """
    return values.tolist() if hasattr(values, "tolist") else list(values)
