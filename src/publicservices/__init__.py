"""publicservices: compare how well public services perform across places.

Outcomes, fairness (the postcode lottery) and value for money over Polars frames; sector
indicators from plugins; Altair charts; a static comparison website.

Example:
    >>> import publicservices as ps
    >>> ps.Indicator  # doctest: +ELLIPSIS
    <class 'publicservices.indicators.Indicator'>

Names are imported lazily on first use, so ``import publicservices`` stays light: it does
not import Altair, MkDocs, SciPy, pandas or any plugin.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from publicservices.__about__ import __version__

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "PublicServicesError": "publicservices.errors",
    "SchemaError": "publicservices.errors",
    "DataError": "publicservices.errors",
    "IndicatorError": "publicservices.errors",
    "PluginError": "publicservices.errors",
    "ReaderError": "publicservices.errors",
    # the data contract
    "Indicator": "publicservices.indicators",
    "Dataset": "publicservices.dataset",
    "validate_values": "publicservices.frame",
    "validate_areas": "publicservices.frame",
    "validate_spend": "publicservices.frame",
    # reading
    "read": "publicservices.reading",
    "readers": "publicservices.reading",
    "read_csv": "publicservices.reading",
    "Reader": "publicservices.reading",
    "ReadResult": "publicservices.reading",
    "LoadReport": "publicservices.reading",
    # plugins
    "hookimpl": "publicservices.hookspecs",
    "registered_indicators": "publicservices.plugins",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.dataset import Dataset
    from publicservices.errors import DataError, IndicatorError, PluginError, PublicServicesError, ReaderError, SchemaError
    from publicservices.frame import validate_areas, validate_spend, validate_values
    from publicservices.hookspecs import hookimpl
    from publicservices.indicators import Indicator
    from publicservices.reading import LoadReport, Reader, ReadResult, read, read_csv, readers
    from publicservices.plugins import registered_indicators


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'publicservices' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
