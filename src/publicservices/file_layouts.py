"""The :class:`Reader` a plugin registers: a named file layout, recognised from its header.

It lives apart from :mod:`publicservices.reading` (which finds readers in the plugin registry)
so that the registry can check what plugins register without importing the code that uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from publicservices.reading import ReadResult

__all__ = ["Reader"]


@dataclasses.dataclass(frozen=True)
class Reader:
    """A named file layout.

    Parameters:
        name: unique short name, used by ``read(path, format=name)``.
        description: one line shown by ``publicservices readers``.
        sniff: ``sniff(columns) -> bool``: does a header with these column names belong
            to this layout? Must be cheap and must not read the file itself.
        read: ``read(path, **options) -> ReadResult``.
        extensions: file endings the reader accepts.
    """

    name: str
    description: str
    sniff: Callable[[Sequence[str]], bool]
    read: Callable[..., ReadResult]
    extensions: tuple[str, ...] = (".csv",)
