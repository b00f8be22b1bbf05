"""Data envelopment analysis: who sits on the spend–outcome frontier, and how far the others are.

Methods:

* **CCR** (constant returns to scale; Charnes, Cooper & Rhodes 1978, "Measuring the efficiency of
  decision making units", *European Journal of Operational Research* 2(6):429-444);
* **BCC** (variable returns to scale; Banker, Charnes & Cooper 1984, "Some models for estimating
  technical and scale inefficiencies in data envelopment analysis", *Management Science*
  30(9):1078-1092);
* **FDH** (free disposal hull; Deprins, Simar & Tulkens 1984, "Measuring labor-efficiency in post
  offices", in Marchand, Pestieau & Tulkens (eds.) *The Performance of Public Enterprises*).

CCR and BCC are solved in the envelopment form with SciPy's HiGHS simplex
(``scipy.optimize.linprog(method="highs-ds")``), two phases as in Cooper, Seiford & Tone (2007),
*Data Envelopment Analysis*, 2nd ed., ch. 3-4: phase 1 finds the radial score, phase 2 maximises
the slacks with the score held fixed. FDH is pure NumPy dominance. With one input and one
output (as :func:`value_for_money` asks, input-oriented), both phases have closed-form answers
on the frontier's convex hull (:mod:`publicservices.stats.value._single`), and no LP is solved.

Why it is fast: inefficient units are never anyone's peers, so each unit's linear programme is
solved against a handful of likely peers only, and *column generation* proves the answer: the
LP duals give every unit's reduced cost, one matrix product checks all units at once, and any
unit that could still improve the objective is added and the LP re-solved. Likely peers come
from the facets (dual solutions) of a small random sample of units. Many units' LPs are stacked
into one block-diagonal sparse LP per HiGHS call. The result is the exact LP optimum.

Example (Cooper, Seiford & Tone 2007, Example 3.1: one output, two inputs):
    >>> import polars as pl
    >>> stores = pl.DataFrame({"store": list("ABCDEF"), "staff": [4.0, 7, 8, 4, 2, 10],
    ...                        "floor": [3.0, 3, 1, 2, 4, 1], "sales": [1.0] * 6})
    >>> res = dea(stores, inputs=["staff", "floor"], outputs=["sales"], unit="store")
    >>> res.scores["efficiency"].round(4).to_list()
    [0.8571, 0.6316, 1.0, 1.0, 1.0, 1.0]
    >>> res.scores["efficient"].to_list()   # F is on the frontier only with a slack (weakly efficient)
    [False, False, True, True, True, False]
    >>> res.peers.filter(pl.col("store") == "A")["weight"].round(4).to_list()   # D and E
    [0.7143, 0.2857]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.stats.value._solver import _col_scale, _Solution, _solve
from publicservices.stats.value._tolerances import EFFICIENT_TOL

__all__ = ["dea", "DEAResult", "MODELS", "ORIENTATIONS"]

MODELS = ("ccr", "bcc", "fdh")
ORIENTATIONS = ("input", "output")


@dataclasses.dataclass(frozen=True)
class DEAResult:
    """The result of :func:`dea`: three Polars frames plus what was asked for.

    Attributes:
        scores: one row per unit: ``efficiency`` in (0, 1] (theta for input orientation, 1/phi
            for output orientation), ``efficient`` (score 1 and no slack: Pareto-Koopmans
            efficient), ``weakly_efficient`` (score 1, possibly with slack) and ``n_peers``.
        peers: long frame: unit, ``peer`` and ``weight`` (the lambda of the envelopment LP).
            Efficient units are their own peer with weight 1.
        targets: long frame: unit, ``variable``, ``role`` (input/output), ``observed``,
            ``target`` (the projection onto the frontier), ``slack`` (the non-radial part of the
            gap) and ``change`` (target minus observed).
        model, orientation, inputs, outputs, unit: the call's settings.
        info: diagnostics (LPs solved, HiGHS calls, column-generation rounds).
    """

    scores: pl.DataFrame
    peers: pl.DataFrame
    targets: pl.DataFrame
    model: str
    orientation: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    unit: str
    info: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        n = self.scores.height
        eff = int(self.scores["efficient"].sum()) if n else 0
        return (
            f"DEAResult({self.model.upper()}, {self.orientation}-oriented, {n:,} units, "
            f"{eff:,} efficient; inputs={list(self.inputs)}, outputs={list(self.outputs)})"
        )


def dea(
    frame: pl.DataFrame | pl.LazyFrame,
    inputs: Sequence[str],
    outputs: Sequence[str],
    *,
    unit: str = "area_code",
    model: str = "ccr",
    orientation: str = "input",
    slacks: bool = True,
) -> DEAResult:
    """Data envelopment analysis efficiency scores, peers and targets.

    Method: the envelopment form of the CCR model (Charnes, Cooper & Rhodes 1978; constant
    returns), the BCC model (Banker, Charnes & Cooper 1984; variable returns, adds
    ``sum(lambda) = 1``) or the free disposal hull (Deprins, Simar & Tulkens 1984; peers are single
    observed units). Input orientation: ``min theta`` such that a combination of units uses at
    most ``theta`` times the unit's inputs and produces at least its outputs. Output orientation:
    ``max phi`` such that a combination uses at most the unit's inputs and produces ``phi`` times
    its outputs; the reported efficiency is ``1/phi``. With ``slacks=True`` a second phase
    maximises the sum of slacks (each variable in units of its mean, so the choice does not
    depend on units of measurement) with the score fixed (Cooper, Seiford & Tone 2007, ch. 3).

    Parameters:
        frame: one row per unit with the input and output columns.
        inputs: columns to use as inputs (resources: smaller is better), non-negative.
        outputs: columns to use as outputs (results: larger is better), non-negative.
        unit: the column naming each unit (unique).
        model: ``"ccr"``, ``"bcc"`` or ``"fdh"``.
        orientation: ``"input"`` (how far could inputs shrink?) or ``"output"`` (how far could
            outputs grow?).
        slacks: run the second (max-slack) phase. Without it, slacks and targets come from the
            phase-1 solution and need not be maximal.

    Returns:
        :class:`DEAResult` with ``scores``, ``peers`` and ``targets`` frames.

    Example (Cooper, Seiford & Tone 2007, Table 1.1: one input, one output):
        >>> import polars as pl
        >>> shops = pl.DataFrame({"shop": list("ABCDEFGH"), "staff": [2.0, 3, 3, 4, 5, 5, 6, 8],
        ...                       "sales": [1.0, 3, 2, 3, 4, 2, 3, 5]})
        >>> dea(shops, ["staff"], ["sales"], unit="shop").scores["efficiency"].round(4).to_list()
        [0.5, 1.0, 0.6667, 0.75, 0.8, 0.4, 0.5, 0.625]
        >>> dea(shops, ["staff"], ["sales"], unit="shop", model="bcc").scores["efficiency"].round(4).to_list()
        [1.0, 1.0, 0.8333, 0.75, 1.0, 0.5, 0.5, 1.0]
    """
    frame = _collect(frame)
    inputs, outputs = _check_columns(frame, inputs, outputs, unit)
    model, orientation = _check_options(model, orientation)
    import numpy as np

    X = frame.select(pl.col(c).cast(pl.Float64) for c in inputs).to_numpy()
    Y = frame.select(pl.col(c).cast(pl.Float64) for c in outputs).to_numpy()
    X = np.ascontiguousarray(X, dtype=float)
    Y = np.ascontiguousarray(Y, dtype=float)
    _check_values(frame, X, Y, inputs, outputs, unit, model, orientation)
    sol = _solve(X, Y, model=model, orientation=orientation, slacks=slacks)
    return _to_result(frame, sol, inputs, outputs, unit, model, orientation)


# --------------------------------------------------------------------------------------------
# validation


def _collect(frame: Any) -> pl.DataFrame:
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if not isinstance(frame, pl.DataFrame):
        raise SchemaError(
            problem(
                None,
                f"dea() needs a Polars DataFrame, got {type(frame).__name__}",
                fix="Pass a polars.DataFrame (pl.from_pandas(...) converts a pandas frame).",
            )
        )
    return frame


def _check_columns(frame: pl.DataFrame, inputs, outputs, unit: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
    outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
    if not inputs or not outputs:
        raise SchemaError(
            problem(
                None,
                "DEA needs at least one input and one output column",
                fix="Pass inputs=[...] and outputs=[...] with column names.",
            )
        )
    both = sorted(set(inputs) & set(outputs))
    if both:
        raise SchemaError(problem(both[0], "is both an input and an output", fix="Use each column in one role only."))
    if len(set(inputs)) < len(inputs) or len(set(outputs)) < len(outputs):
        raise SchemaError(problem(None, "a column is listed twice among the inputs or outputs", fix="List each column once."))
    for c in (unit, *inputs, *outputs):
        if c not in frame.columns:
            raise SchemaError(problem(c, "is missing", fix=f"Use one of the frame's columns: {frame.columns[:20]}."))
    for c in (*inputs, *outputs):
        if not frame.schema[c].is_numeric():
            raise SchemaError(
                problem(c, f"has type {frame.schema[c]}, not a number", fix=f"Cast it: pl.col({c!r}).cast(pl.Float64).")
            )
    return inputs, outputs


def _check_options(model: str, orientation: str) -> tuple[str, str]:
    m = str(model).lower()
    o = str(orientation).lower()
    if m not in MODELS:
        raise DataError(problem(None, f"model {model!r} is not known", fix=f"Use one of {', '.join(MODELS)}."))
    if o not in ORIENTATIONS:
        raise DataError(problem(None, f"orientation {orientation!r} is not known", fix=f"Use one of {', '.join(ORIENTATIONS)}."))
    return m, o


def _keys(frame: pl.DataFrame, unit: str, mask) -> list[str]:
    import numpy as np

    idx = np.flatnonzero(mask)[:5]
    return [str(v) for v in frame[unit].gather(idx).to_list()]


def _check_values(frame, X, Y, inputs, outputs, unit, model, orientation) -> None:
    import numpy as np

    if frame.height == 0:
        raise DataError(problem(None, "the frame has no rows", fix="Pass at least one unit."))
    dup = frame[unit].is_duplicated().to_numpy()
    if dup.any():
        raise DataError(
            problem(
                unit,
                "has duplicated values",
                rows=_keys(frame, unit, dup),
                total=int(dup.sum()),
                fix="Give each unit one row (aggregate or filter first).",
            )
        )
    for cols, M in ((inputs, X), (outputs, Y)):
        for j, c in enumerate(cols):
            col = M[:, j]
            bad = ~np.isfinite(col)
            if bad.any():
                raise DataError(
                    problem(
                        c,
                        "is missing or not finite",
                        rows=_keys(frame, unit, bad),
                        total=int(bad.sum()),
                        fix="DEA needs every input and output for every unit: fill the gaps or filter those units out first.",
                    )
                )
            neg = col < 0
            if neg.any():
                raise DataError(
                    problem(
                        c,
                        "is negative",
                        rows=_keys(frame, unit, neg),
                        total=int(neg.sum()),
                        fix="DEA needs non-negative data; translate an output "
                        "(BCC input-oriented scores do not change) or use a "
                        "positive transform.",
                    )
                )
    no_input = ~(X > 0).any(axis=1)
    if no_input.any():
        raise DataError(
            problem(
                None,
                f"inputs {list(inputs)} are all zero",
                rows=_keys(frame, unit, no_input),
                total=int(no_input.sum()),
                fix="Every unit needs a positive input (a unit that uses nothing makes every other unit's score zero).",
            )
        )
    # A unit producing nothing has score 0 (CCR input) or an infinite expansion (output).
    if model == "ccr" or orientation == "output":
        no_output = ~(Y > 0).any(axis=1)
        if no_output.any():
            raise DataError(
                problem(
                    None,
                    f"outputs {list(outputs)} are all zero",
                    rows=_keys(frame, unit, no_output),
                    total=int(no_output.sum()),
                    fix="Every unit needs a positive output for this model; the "
                    "BCC or FDH input-oriented models accept zero outputs.",
                )
            )


def _to_result(frame, sol: _Solution, inputs, outputs, unit, model, orientation) -> DEAResult:
    import numpy as np

    keys = frame[unit]
    n = frame.height
    X = frame.select(pl.col(c).cast(pl.Float64) for c in inputs).to_numpy()
    Y = frame.select(pl.col(c).cast(pl.Float64) for c in outputs).to_numpy()
    sx, sy = _col_scale(X), _col_scale(Y)
    weak = sol.efficiency >= 1 - EFFICIENT_TOL
    slack_max = np.concatenate([sol.slack_in / sx, sol.slack_out / sy], axis=1).max(axis=1, initial=0.0)
    n_peers = np.bincount(sol.peer_unit, minlength=n)
    scores = pl.DataFrame(
        {
            unit: keys,
            "efficiency": sol.efficiency,
            "efficient": weak & (slack_max <= EFFICIENT_TOL),
            "weakly_efficient": weak,
            "n_peers": n_peers.astype(np.int64),
        }
    )
    peers = pl.DataFrame(
        {
            unit: keys.gather(sol.peer_unit),
            "peer": keys.gather(sol.peer_ref).alias("peer"),
            "weight": sol.peer_weight,
        }
    )
    names = list(inputs) + list(outputs)
    observed = np.concatenate([X, Y], axis=1)
    target = np.concatenate([sol.target_in, sol.target_out], axis=1)
    slack = np.concatenate([sol.slack_in, sol.slack_out], axis=1)
    v = len(names)
    targets = pl.DataFrame(
        {
            unit: keys.gather(np.repeat(np.arange(n), v)),
            "variable": np.tile(np.array(names, dtype=object), n).tolist(),
            "role": np.tile(np.array(["input"] * len(inputs) + ["output"] * len(outputs), dtype=object), n).tolist(),
            "observed": observed.ravel(),
            "target": target.ravel(),
            "slack": slack.ravel(),
            "change": (target - observed).ravel(),
        }
    )
    return DEAResult(scores, peers, targets, model, orientation, tuple(inputs), tuple(outputs), unit, sol.info)
