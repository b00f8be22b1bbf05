"""Padded integer arrays of candidate peers, one row per unit."""

from __future__ import annotations


def _widen(a, width: int, fill=-1):
    import numpy as np

    if a.shape[1] >= width:
        return a
    return np.concatenate([a, np.full((a.shape[0], width - a.shape[1]), fill, dtype=a.dtype)], axis=1)


def _compact(cols):
    """Move the valid (>= 0) column indices of each row to the front and trim the padding."""
    import numpy as np

    valid = cols >= 0
    order = np.argsort(~valid, axis=1, kind="stable")
    out = np.take_along_axis(cols, order, axis=1)
    width = max(int(valid.sum(axis=1).max(initial=0)), 1)
    return out[:, :width]


def _dedupe(cols):
    """Sort each row and blank (-1) repeated indices, so no unit is a column twice."""
    import numpy as np

    s = np.sort(cols, axis=1)
    rep = np.zeros_like(s, dtype=bool)
    rep[:, 1:] = s[:, 1:] == s[:, :-1]
    return _compact(np.where(rep, -1, s))


def _chunks(cols, batch, budget: int = 6000):
    """Split rows into HiGHS calls of about ``budget`` LP variables each (or ``batch`` rows),
    grouping LPs of similar size so that little is padding. Yields arrays of row positions."""
    import numpy as np

    count = (cols >= 0).sum(axis=1) + 1
    order = np.argsort(count, kind="stable")
    if batch:
        label = np.arange(len(order)) // batch
    else:
        # about 6,000 variables per call: big enough to amortise the call, small enough that
        # HiGHS's simplex stays fast
        label = (np.cumsum(count[order]) - 1) // budget
    yield from np.split(order, np.flatnonzero(np.diff(label)) + 1) if len(order) else ()


def _group_table(members, groups):
    """A (groups x K) table of each group's ``members``, padded with -1."""
    import numpy as np

    G = int(groups.max()) + 1 if len(groups) else 0
    count = np.bincount(groups[members], minlength=G)
    order = members[np.argsort(groups[members], kind="stable")]
    table = np.full((G, max(int(count.max(initial=1)), 1)), -1, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(count)[:-1]])
    table[groups[order], np.arange(len(order)) - starts[groups[order]]] = order
    return table
