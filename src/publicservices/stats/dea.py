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
the slacks with the score held fixed. FDH is pure NumPy dominance.

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

__all__ = ["dea", "DEAResult", "MODELS", "ORIENTATIONS"]

MODELS = ("ccr", "bcc", "fdh")
ORIENTATIONS = ("input", "output")

# Scores within this of 1 count as on the frontier; slacks (in units of each variable's mean)
# above it make a unit only weakly efficient. HiGHS solves to 1e-9, so 1e-6 is far from noise.
EFFICIENT_TOL = 1e-6
_WEIGHT_TOL = 1e-7      # peers contributing less (relative to the unit's size) are solver noise
_REDUCED_COST_TOL = 1e-9
_PHASE2_MARGIN = 1e-12
# Presolve only costs time on these small, already tight block-diagonal LPs.
_HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10,
                  "presolve": False}


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
            problem(None, f"dea() needs a Polars DataFrame, got {type(frame).__name__}",
                    fix="Pass a polars.DataFrame (pl.from_pandas(...) converts a pandas frame).")
        )
    return frame


def _check_columns(frame: pl.DataFrame, inputs, outputs, unit: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
    outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
    if not inputs or not outputs:
        raise SchemaError(problem(None, "DEA needs at least one input and one output column",
                                  fix="Pass inputs=[...] and outputs=[...] with column names."))
    both = sorted(set(inputs) & set(outputs))
    if both:
        raise SchemaError(problem(both[0], "is both an input and an output",
                                  fix="Use each column in one role only."))
    if len(set(inputs)) < len(inputs) or len(set(outputs)) < len(outputs):
        raise SchemaError(problem(None, "a column is listed twice among the inputs or outputs",
                                  fix="List each column once."))
    for c in (unit, *inputs, *outputs):
        if c not in frame.columns:
            raise SchemaError(problem(c, "is missing",
                                      fix=f"Use one of the frame's columns: {frame.columns[:20]}."))
    for c in (*inputs, *outputs):
        if not frame.schema[c].is_numeric():
            raise SchemaError(problem(c, f"has type {frame.schema[c]}, not a number",
                                      fix=f"Cast it: pl.col({c!r}).cast(pl.Float64)."))
    return inputs, outputs


def _check_options(model: str, orientation: str) -> tuple[str, str]:
    m = str(model).lower()
    o = str(orientation).lower()
    if m not in MODELS:
        raise DataError(problem(None, f"model {model!r} is not known",
                                fix=f"Use one of {', '.join(MODELS)}."))
    if o not in ORIENTATIONS:
        raise DataError(problem(None, f"orientation {orientation!r} is not known",
                                fix=f"Use one of {', '.join(ORIENTATIONS)}."))
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
        raise DataError(problem(unit, "has duplicated values", rows=_keys(frame, unit, dup),
                                total=int(dup.sum()),
                                fix="Give each unit one row (aggregate or filter first)."))
    for cols, M in ((inputs, X), (outputs, Y)):
        for j, c in enumerate(cols):
            col = M[:, j]
            bad = ~np.isfinite(col)
            if bad.any():
                raise DataError(problem(c, "is missing or not finite", rows=_keys(frame, unit, bad),
                                        total=int(bad.sum()),
                                        fix="DEA needs every input and output for every unit: "
                                            "fill the gaps or filter those units out first."))
            neg = col < 0
            if neg.any():
                raise DataError(problem(c, "is negative", rows=_keys(frame, unit, neg),
                                        total=int(neg.sum()),
                                        fix="DEA needs non-negative data; translate an output "
                                            "(BCC input-oriented scores do not change) or use a "
                                            "positive transform."))
    no_input = ~(X > 0).any(axis=1)
    if no_input.any():
        raise DataError(problem(None, f"inputs {list(inputs)} are all zero", rows=_keys(frame, unit, no_input),
                                total=int(no_input.sum()),
                                fix="Every unit needs a positive input (a unit that uses nothing "
                                    "makes every other unit's score zero)."))
    # A unit producing nothing has score 0 (CCR input) or an infinite expansion (output).
    if model == "ccr" or orientation == "output":
        no_output = ~(Y > 0).any(axis=1)
        if no_output.any():
            raise DataError(problem(None, f"outputs {list(outputs)} are all zero", rows=_keys(frame, unit, no_output),
                                    total=int(no_output.sum()),
                                    fix="Every unit needs a positive output for this model; the "
                                        "BCC or FDH input-oriented models accept zero outputs."))


# --------------------------------------------------------------------------------------------
# numerical core (NumPy arrays in, NumPy arrays out)


@dataclasses.dataclass
class _Solution:
    efficiency: Any          # (n,) in (0, 1]
    peer_unit: Any           # COO of lambda: row unit, peer unit, weight
    peer_ref: Any
    peer_weight: Any
    slack_in: Any            # (n, s) in the data's units
    slack_out: Any           # (n, r)
    target_in: Any
    target_out: Any
    info: dict


def _solve(X, Y, *, model: str, orientation: str, slacks: bool = True, groups=None) -> _Solution:
    """Solve DEA for arrays ``X`` (n x s inputs) and ``Y`` (n x r outputs); data pre-validated.

    ``groups`` (n integer labels) solves several independent DEAs at once: a unit's peers come
    only from its own group. Many small groups are stacked into the same HiGHS calls.
    """
    import numpy as np

    n = X.shape[0]
    groups = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    # Radial scores and lambdas are unit-free, so solve on data scaled by each group's column
    # means, for conditioning.
    sx, sy = _group_scale(X, groups), _group_scale(Y, groups)
    Xs, Ys = X / sx, Y / sy
    if model == "fdh":
        radial, peer, sl_in, sl_out = _fdh(Xs, Ys, orientation, groups)
        peer_unit, peer_ref, peer_weight = np.arange(n), peer, np.ones(n)
        info = {"lps": 0, "highs_calls": 0, "rounds": 0}
    else:
        radial, peer_unit, peer_ref, peer_weight, sl_in, sl_out, info = _envelopment(
            Xs, Ys, vrs=(model == "bcc"), orientation=orientation, slacks=slacks, groups=groups)
    if orientation == "input":
        efficiency = np.minimum(radial, 1.0)
        t_in = radial[:, None] * Xs - sl_in
        t_out = Ys + sl_out
    else:
        efficiency = np.minimum(1.0 / radial, 1.0)
        t_in = Xs - sl_in
        t_out = radial[:, None] * Ys + sl_out
    return _Solution(efficiency, peer_unit, peer_ref, peer_weight, sl_in * sx, sl_out * sy,
                     t_in * sx, t_out * sy, info)


def _col_scale(M):
    import numpy as np

    m = M.mean(axis=0)
    return np.where(m > 0, m, 1.0)


def _group_scale(M, groups):
    """Each row's column means within its group (1 where a mean is 0), shape of ``M``."""
    import numpy as np

    G = int(groups.max()) + 1 if len(groups) else 0
    count = np.bincount(groups, minlength=G)
    means = np.stack([np.bincount(groups, weights=M[:, j], minlength=G) for j in range(M.shape[1])],
                     axis=1) / np.maximum(count, 1)[:, None]
    return np.where(means > 0, means, 1.0)[groups]


def _nondominated(Xs, Ys, groups, block: int = 256):
    """Units no other unit of their group dominates (uses no more of every input, produces no
    less of every output, and differs). Only these can be peers: a dominated unit adds nothing
    to the technology that free disposal does not already give (Deprins, Simar & Tulkens 1984),
    so DEA against them alone gives the same scores, slacks and targets."""
    import numpy as np

    n = Xs.shape[0]
    keep = np.ones(n, dtype=bool)
    # sort by group so that each block compares with its own group's units only
    order = np.argsort(groups, kind="stable")
    g_sorted = groups[order]
    starts = np.searchsorted(g_sorted, g_sorted, side="left")
    ends = np.searchsorted(g_sorted, g_sorted, side="right")
    for a in range(0, n, block):
        rows = order[a:a + block]
        lo, hi = starts[a], ends[min(a + block, n) - 1]
        ref = order[lo:hi]
        same = groups[ref][None, :] == groups[rows][:, None]
        weak = same.copy()
        strict = np.zeros_like(same)
        for i in range(Xs.shape[1]):        # loops over variables, never over units
            weak &= Xs[ref, i][None, :] <= Xs[rows, i][:, None]
            strict |= Xs[ref, i][None, :] < Xs[rows, i][:, None]
        for r in range(Ys.shape[1]):
            weak &= Ys[ref, r][None, :] >= Ys[rows, r][:, None]
            strict |= Ys[ref, r][None, :] > Ys[rows, r][:, None]
        keep[rows] = ~np.any(weak & strict, axis=1)
    return keep


def _fdh(Xs, Ys, orientation: str, groups=None, block: int = 256):
    """Free disposal hull scores by vectorised dominance (Deprins, Simar & Tulkens 1984).

    Input orientation: theta_o = min over units j producing at least y_o of max_i x_ij / x_io.
    Output orientation: phi_o = max over units j using at most x_o of min_r y_rj / y_ro.
    Ties between equally good peers go to the one leaving the largest total slack.
    """
    import numpy as np

    n = Xs.shape[0]
    radial = np.empty(n)
    peer = np.empty(n, dtype=np.int64)
    inp = orientation == "input"
    # the dominance condition is on outputs (input orientation) or inputs (output orientation);
    # the score is a ratio on the other side
    cond, side = (Ys, Xs) if inp else (Xs, Ys)
    gain = Ys.sum(axis=1) - Xs.sum(axis=1)
    for a in range(0, n, block):
        rows = slice(a, a + block)
        b = min(block, n - a)
        ok = np.ones((b, n), dtype=bool) if groups is None else groups[None, :] == groups[rows][:, None]
        for k in range(cond.shape[1]):      # loops over variables, never over units
            if inp:
                ok &= cond[None, :, k] >= cond[rows, k][:, None]
            else:
                ok &= cond[None, :, k] <= cond[rows, k][:, None]
        score = np.full((b, n), -np.inf if inp else np.inf)
        for i in range(side.shape[1]):
            own = side[rows, i][:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = side[None, :, i] / own
            if inp:     # x_io = 0: only units also using none keep up
                ratio = np.where(own > 0, ratio, np.where(side[None, :, i] > 0, np.inf, 0.0))
                score = np.maximum(score, ratio)
            else:       # y_ro = 0 puts no limit on the expansion
                ratio = np.where(own > 0, ratio, np.inf)
                score = np.minimum(score, ratio)
        if inp:
            score = np.where(ok, score, np.inf)
            best = score.min(axis=1)
            tie = score <= best[:, None] * (1 + 1e-12)
        else:
            score = np.where(ok, score, -np.inf)
            best = score.max(axis=1)
            tie = score >= best[:, None] * (1 - 1e-12)
        # among equally good peers prefer the one leaving the largest total slack, which is
        # the one with the largest (sum of outputs - sum of inputs)
        pick = np.argmax(np.where(tie, gain[None], -np.inf), axis=1)
        radial[rows] = best
        peer[rows] = pick
    if inp:
        sl_in = radial[:, None] * Xs - Xs[peer]
        sl_out = Ys[peer] - Ys
    else:
        sl_in = Xs - Xs[peer]
        sl_out = Ys[peer] - radial[:, None] * Ys
    return radial, peer, np.maximum(sl_in, 0.0), np.maximum(sl_out, 0.0)


def _envelopment(Xs, Ys, *, vrs: bool, orientation: str, slacks: bool, groups=None,
                 sample: int | None = None, batch: int | None = None, seed: int = 0):
    """CCR/BCC envelopment LPs for every unit (see module doc).

    Small problems (or many groups): every unit's LP uses all non-dominated units of its group
    as columns, exactly, and thousands of such LPs share one HiGHS call. Large problems: batched
    column generation from a sampled-facet start.
    """
    import numpy as np

    n = Xs.shape[0]
    groups = np.zeros(n, dtype=np.int64) if groups is None else groups
    rng = np.random.default_rng(seed)
    info = {"lps": 0, "highs_calls": 0, "rounds": 0}
    units = np.arange(n)
    nd = _exact_candidates(Xs, Ys, groups)
    if nd is not None:
        # Non-dominated units against each other find the frontier F (score 1) of each group;
        # F holds every extreme unit, so the others are solved exactly against F alone.
        cand = np.flatnonzero(nd)
        r_a, c_a, l_a, d_a, _, _ = _column_generation(
            Xs, Ys, cand, _group_table(cand, groups)[groups[cand]], vrs=vrs,
            orientation=orientation, batch=batch, info=info, check=False)
        front = cand[_on_frontier(r_a, orientation)]
        f_cols = _group_table(front, groups)[groups]
        rest = np.flatnonzero(~nd)
        r_b, c_b, l_b, d_b, _, _ = _column_generation(
            Xs, Ys, rest, f_cols[rest], vrs=vrs, orientation=orientation, batch=batch, info=info,
            check=False)
        width = max(c_a.shape[1], c_b.shape[1])
        radial = np.empty(n)
        duals = np.empty((n, d_a.shape[1]))
        cols = np.full((n, width), -1, dtype=np.int64)
        lam = np.zeros((n, width))
        radial[cand], radial[rest] = r_a, r_b
        duals[cand], duals[rest] = d_a, d_b
        cols[cand, : c_a.shape[1]], lam[cand, : c_a.shape[1]] = c_a, l_a
        cols[rest, : c_b.shape[1]], lam[rest, : c_b.shape[1]] = c_b, l_b
        return _finish(Xs, Ys, radial, duals, cols, lam, vrs=vrs, orientation=orientation,
                       slacks=slacks, batch=batch, info=info, frontier=front, groups=groups, check=False)
    if groups.max(initial=0) > 0:
        # several groups, one too large to solve exactly: column generation group by group
        return _by_group(Xs, Ys, groups, vrs=vrs, orientation=orientation, slacks=slacks,
                         sample=sample, batch=batch, seed=seed)
    seeds = _seed_units(Xs, Ys, vrs, rng)
    radial = np.empty(n)
    duals = np.empty((n, Xs.shape[1] + Ys.shape[1] + 1))
    cols = np.full((n, 1), -1, dtype=np.int64)
    lam = np.zeros((n, 1))
    todo = units
    if sample is None:
        sample = min(300, max(50, n // 6))
    if n > 2 * sample:
        # Learn the frontier's facets from a sample; each other unit starts from the peers of
        # the facets that bound it most tightly.
        smp = np.sort(rng.choice(n, sample, replace=False))
        r_s, c_s, l_s, d_s, _, _ = _column_generation(
            Xs, Ys, smp, _proxy_init(Xs, Ys, smp, seeds), vrs=vrs, orientation=orientation,
            batch=batch, info=info)
        radial[smp], duals[smp] = r_s, d_s
        cols, lam = _widen(cols, c_s.shape[1]), _widen(lam, c_s.shape[1], 0.0)
        cols[smp, : c_s.shape[1]], lam[smp, : c_s.shape[1]] = c_s, l_s
        todo = np.setdiff1d(units, smp)
        init = _facet_init(Xs, Ys, todo, d_s, np.where(l_s > _WEIGHT_TOL, c_s, -1), orientation)
    else:
        init = _proxy_init(Xs, Ys, todo, seeds)
    r_t, c_t, l_t, d_t, _, _ = _column_generation(Xs, Ys, todo, init, vrs=vrs,
                                                  orientation=orientation, batch=batch, info=info)
    radial[todo], duals[todo] = r_t, d_t
    cols, lam = _widen(cols, c_t.shape[1]), _widen(lam, c_t.shape[1], 0.0)
    cols[todo] = -1
    lam[todo] = 0.0
    cols[todo, : c_t.shape[1]], lam[todo, : c_t.shape[1]] = c_t, l_t
    front = np.flatnonzero(_on_frontier(radial, orientation))
    return _finish(Xs, Ys, radial, duals, cols, lam, vrs=vrs, orientation=orientation,
                   slacks=slacks, batch=batch, info=info, frontier=front, groups=groups, check=True)


def _on_frontier(radial, orientation: str, tol: float = 1e-7):
    """Units scoring 1 (generously: a superset of the frontier is always safe)."""
    return radial >= 1 - tol if orientation == "input" else radial <= 1 + tol


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


def _by_group(Xs, Ys, groups, **kwargs):
    import numpy as np

    parts = []
    info = {"lps": 0, "highs_calls": 0, "rounds": 0}
    sl_in, sl_out = np.zeros(Xs.shape), np.zeros(Ys.shape)
    radial = np.empty(Xs.shape[0])
    for g in np.unique(groups):         # a loop over groups, not units
        idx = np.flatnonzero(groups == g)
        r, pu, pr, pw, si, so, inf = _envelopment(Xs[idx], Ys[idx], **kwargs)
        radial[idx], sl_in[idx], sl_out[idx] = r, si, so
        parts.append((idx[pu], idx[pr], pw))
        for k in info:
            info[k] += inf[k]
    pu, pr, pw = (np.concatenate(p) for p in zip(*parts))
    order = np.lexsort((-pw, pu))
    return radial, pu[order], pr[order], pw[order], sl_in, sl_out, info


_EXACT_LIMIT = 150      # most non-dominated units per group for the direct (no pricing) path


def _exact_candidates(Xs, Ys, groups, budget: float = 3e7):
    """The non-dominated units (mask) when every group has at most ``_EXACT_LIMIT`` of them,
    so their LPs can be solved directly with all of them as columns; None when column
    generation should be used instead (one large group)."""
    import numpy as np

    sizes = np.bincount(groups)
    # the dominance check costs sum(size^2) comparisons; skip it for one huge group
    if float((sizes.astype(float) ** 2).sum()) * (Xs.shape[1] + Ys.shape[1]) > budget:
        return None
    keep = _nondominated(Xs, Ys, groups)
    if np.bincount(groups, weights=keep, minlength=len(sizes)).max(initial=0) > _EXACT_LIMIT:
        return None
    return keep


def _finish(Xs, Ys, radial, duals, cols, lam, *, vrs, orientation, slacks, batch, info,
            frontier, groups, check):
    """Phase 2 (max slacks) if asked, then the peers as a COO list.

    Every unit in the reference set of a max-slack solution is itself efficient (Cooper,
    Seiford & Tone 2007, Theorem 3.3), so phase 2 needs only the ``frontier`` units (score 1)
    of each group as columns: all of them when ``check`` is False, else the phase-1 columns
    among them, priced against the frontier.
    """
    import numpy as np

    n = Xs.shape[0]
    units = np.arange(n)
    sl_in, sl_out = _phase1_slacks(Xs, Ys, radial, cols, lam, orientation)
    s, r = Xs.shape[1], Ys.shape[1]
    # Complementary slackness: where every input and output price of the phase-1 dual is
    # positive, every optimal solution has zero slacks, so phase 2 would change nothing.
    zero_dual = (duals[:, : s + r] <= _REDUCED_COST_TOL).any(axis=1)
    need = units[zero_dual] if slacks else units[:0]
    if slacks:
        sl_in[~zero_dual], sl_out[~zero_dual] = 0.0, 0.0
    info["phase2"] = info.get("phase2", 0) + len(need)
    if len(need):
        room = _phase2_room(Xs, Ys, radial, cols, lam, vrs, orientation)
        is_front = np.zeros(n, dtype=bool)
        is_front[frontier] = True
        # the phase-1 peers stay too, so the phase-1 optimum is feasible from the start
        used = (cols >= 0) & (lam > 0)
        if check:
            start = np.where(used | ((cols >= 0) & is_front[np.where(cols >= 0, cols, 0)]), cols, -1)
        else:
            start = np.concatenate([_group_table(frontier, groups)[groups], np.where(used, cols, -1)], axis=1)
        pool = np.union1d(frontier, cols[used])
        r2, c2, l2, _, si2, so2 = _column_generation(
            Xs, Ys, need, _dedupe(start[need]), vrs=vrs, orientation=orientation, batch=batch,
            info=info, fixed=np.concatenate([radial[:, None], room], axis=1), pool=pool,
            check=check)
        # units whose phase 2 failed (numerically) keep their phase-1 solution
        ok = np.isfinite(r2)
        done = need[ok]
        width = max(c2.shape[1], cols.shape[1])
        cols, lam = _widen(cols, width), _widen(lam, width, 0.0)
        c2, l2 = _widen(c2, width), _widen(l2, width, 0.0)
        cols[done], lam[done] = c2[ok], l2[ok]
        sl_in[done], sl_out[done] = si2[ok], so2[ok]
    # A peer counts when its share of the unit's targets is more than solver noise.
    size = np.maximum(Xs.max(axis=1, initial=0.0), Ys.max(axis=1, initial=0.0))
    c = np.where(cols >= 0, cols, 0)
    share = lam * size[c] / size[:, None]
    keep = (cols >= 0) & (lam > 0) & (share > _WEIGHT_TOL)
    row = np.broadcast_to(units[:, None], cols.shape)
    order = np.lexsort((-lam[keep], row[keep]))
    return (radial, row[keep][order], cols[keep][order], lam[keep][order],
            np.maximum(sl_in, 0.0), np.maximum(sl_out, 0.0), info)


def _phase2_room(Xs, Ys, radial, cols, lam, vrs, orientation):
    """How far each phase-2 row must be loosened for the phase-1 optimum to satisfy it exactly.

    HiGHS meets constraints only to its tolerance (1e-10), so with the score fixed the phase-2
    LP could be declared infeasible by a hair. The room is the phase-1 point's violation (after
    rescaling its lambdas to sum to 1 under BCC) plus a 1e-12 margin; it is subtracted from the
    slacks afterwards, so results move by no more than the solver's tolerance.
    """
    import numpy as np

    c = np.where(cols >= 0, cols, 0)
    w = np.where(cols >= 0, lam, 0.0)
    if vrs:
        w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
    xl = np.einsum("nk,nki->ni", w, Xs[c])
    yl = np.einsum("nk,nkr->nr", w, Ys[c])
    if orientation == "input":
        need_x, need_y = radial[:, None] * Xs, Ys
    else:
        need_x, need_y = Xs, radial[:, None] * Ys
    room = np.concatenate([np.maximum(xl - need_x, 0.0), np.maximum(need_y - yl, 0.0)], axis=1)
    return room + _PHASE2_MARGIN * (1.0 + np.concatenate([need_x, need_y], axis=1))


def _phase1_slacks(Xs, Ys, radial, cols, lam, orientation):
    import numpy as np

    c = np.where(cols >= 0, cols, 0)
    w = np.where(cols >= 0, lam, 0.0)
    xl = np.einsum("nk,nki->ni", w, Xs[c])
    yl = np.einsum("nk,nkr->nr", w, Ys[c])
    if orientation == "input":
        return radial[:, None] * Xs - xl, yl - Ys
    return Xs - xl, yl - radial[:, None] * Ys


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


def _seed_units(Xs, Ys, vrs: bool, rng, directions: int = 1024):
    """Units maximising random positive price vectors: each is on the frontier."""
    import numpy as np

    s, r = Xs.shape[1], Ys.shape[1]
    wx = rng.dirichlet(np.ones(s), directions)
    wy = rng.dirichlet(np.ones(r), directions)
    found = []
    for a in range(0, directions, 256):
        px, py = wx[a:a + 256], wy[a:a + 256]
        if vrs:
            # profit py.y - t * px.x, with t spanning small to large scale
            t = np.exp(rng.uniform(np.log(0.05), np.log(20.0), len(px)))
            val = py @ Ys.T - (t[:, None] * px) @ Xs.T
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                val = (py @ Ys.T) / (px @ Xs.T)
            val = np.where(np.isfinite(val), val, -np.inf)
        found.append(np.argmax(val, axis=1))
    return np.unique(np.concatenate(found))


def _proxy_init(Xs, Ys, units, pool, k: int = 12):
    """Each unit's own column plus the k pool units that best cover it on their own (CRS)."""
    import numpy as np

    k = min(k, len(pool))
    out = np.empty((len(units), k + 1), dtype=np.int64)
    for a in range(0, len(units), 512):
        u = units[a:a + 512]
        with np.errstate(divide="ignore", invalid="ignore"):
            yo, yp = Ys[u][:, None, :], Ys[pool][None]
            t = np.where(yo > 0, yo / yp, 0.0)
            t = np.where(np.isnan(t), np.inf, t).max(axis=2)
            xo, xp = Xs[u][:, None, :], Xs[pool][None]
            sx = np.where(xo > 0, xp / xo, np.where(xp > 0, np.inf, 0.0)).max(axis=2)
            score = t * sx
        score = np.where(np.isnan(score), np.inf, score)
        near = np.argpartition(score, k - 1, axis=1)[:, :k] if k < len(pool) else np.broadcast_to(
            np.arange(len(pool)), (len(u), len(pool)))
        out[a:a + 512, 0] = u
        out[a:a + 512, 1:] = pool[near]
    return _dedupe(out)


def _facet_init(Xs, Ys, units, duals, peer_cols, orientation: str, top: int = 6):
    """Each unit's own column plus the peers of the `top` sample facets that bound it most tightly.

    A sample unit's optimal dual (v, u, c) is a supporting hyperplane u.y - v.x + c <= 0 of the
    whole technology; for unit o it bounds theta_o >= (u.y_o + c) / v.x_o (input) or
    phi_o <= (v.x_o - c) / u.y_o (output), and the tightest bound's peers are likely o's peers.
    """
    import numpy as np

    s = Xs.shape[1]
    V, U, C = duals[:, :s], duals[:, s:-1], duals[:, -1]
    peer_cols = _compact(peer_cols)
    top = min(top, len(duals))
    out = []
    for a in range(0, len(units), 1024):
        u = units[a:a + 1024]
        vx, uy = Xs[u] @ V.T, Ys[u] @ U.T
        with np.errstate(divide="ignore", invalid="ignore"):
            if orientation == "input":
                bound = np.where(vx > 0, (uy + C) / vx, -np.inf)
            else:
                bound = np.where(uy > 0, -(vx - C) / uy, -np.inf)
        bound = np.where(np.isnan(bound), -np.inf, bound)
        best = np.argpartition(-bound, top - 1, axis=1)[:, :top]
        gathered = peer_cols[best].reshape(len(u), -1)
        out.append(_widen(np.concatenate([u[:, None], gathered], axis=1), 1))
    width = max(o.shape[1] for o in out)
    return _dedupe(np.concatenate([_widen(o, width) for o in out]))


def _column_generation(Xs, Ys, units, cols, *, vrs, orientation, batch, info, fixed=None,
                       pool=None, add: int = 10, max_rounds: int = 60, check: bool = True):
    """Solve the units' LPs, adding any unit with a negative reduced cost until none is left.

    ``cols`` (len(units) x K, -1 padded) are the starting columns (reference units) of each LP;
    ``pool`` (default: every unit) are the units that may be added. With ``fixed`` (the phase-1
    scores and phase-2 room of all units) the phase-2 max-slack LPs are solved. Returns radial
    scores, final columns, lambdas, duals (v, u, c), and the two slack arrays. A unit whose LP
    fails (phase 2 only) gets NaN as its radial score. With ``check=False`` the starting columns
    are known to contain every possible peer: one pass, no pricing.
    """
    import numpy as np

    n = Xs.shape[0]
    m = len(units)
    s, r = Xs.shape[1], Ys.shape[1]
    pool = np.arange(n) if pool is None else np.asarray(pool, dtype=np.int64)
    in_pool = np.full(n, -1, dtype=np.int64)
    in_pool[pool] = np.arange(len(pool))
    Xp, Yp = Xs[pool], Ys[pool]
    radial = np.full(m, np.nan)
    duals = np.zeros((m, s + r + 1))
    sl_in, sl_out = np.zeros((m, s)), np.zeros((m, r))
    cols = _compact(np.asarray(cols, dtype=np.int64))
    lam = np.zeros(cols.shape)
    active = np.arange(m)
    for _ in range(max_rounds):
        if active.size == 0:
            break
        info["rounds"] += 1
        new = np.full((len(active), add), -1, dtype=np.int64)
        for chunk in _chunks(cols[active], batch):
            idx = active[chunk]
            sub = _compact(cols[idx])
            u = units[idx]
            fx = None if fixed is None else fixed[u]
            res = _lp_block(Xs, Ys, u, sub, vrs=vrs, orientation=orientation, fixed=fx, info=info)
            if res is None:
                res = _lp_one_by_one(Xs, Ys, u, sub, vrs=vrs, orientation=orientation, fixed=fx, info=info)
            rad, lm, du, si, so = res
            radial[idx], duals[idx], sl_in[idx], sl_out[idx] = rad, du, si, so
            cols[idx] = -1
            lam[idx] = 0.0
            cols[idx, : sub.shape[1]], lam[idx, : sub.shape[1]] = sub, lm
            if not check:
                continue
            # reduced cost of every pool unit as a column in each LP: d_j = v.x_j - u.y_j - c
            d = du[:, :s] @ Xp.T - du[:, s:-1] @ Yp.T - du[:, -1:]
            rr, kk = np.nonzero(sub >= 0)
            where = in_pool[sub[rr, kk]]
            d[rr[where >= 0], where[where >= 0]] = np.inf       # already a column
            d[~np.isfinite(rad)] = np.inf
            # most LPs are already optimal: rank candidates only where some column improves
            hit = np.flatnonzero((d < -_REDUCED_COST_TOL).any(axis=1))
            if hit.size:
                dh = d[hit]
                q = min(add, d.shape[1])
                cand = np.argpartition(dh, q - 1, axis=1)[:, :q]
                dv = np.take_along_axis(dh, cand, axis=1)
                new[chunk[hit], :q] = np.where(dv < -_REDUCED_COST_TOL, pool[cand], -1)
        more = (new >= 0).any(axis=1)
        if more.any():
            # append the improving columns after each LP's current ones (re-solved next round)
            grow = active[more]
            block = _compact(cols[grow])
            filled = (block >= 0).sum(axis=1)
            width = block.shape[1] + add
            block = _widen(block, width)
            block[np.arange(len(grow))[:, None], filled[:, None] + np.arange(add)[None]] = new[more]
            cols, lam = _widen(cols, width), _widen(lam, width, 0.0)
            cols[grow] = -1
            cols[grow, :width] = block
            lam[grow] = 0.0
        active = active[more]
    if active.size:
        # Not converged within max_rounds (never seen in practice): solve against the whole pool.
        every = np.broadcast_to(pool, (len(active), len(pool)))
        for a in range(0, len(active), 16):
            idx = active[a:a + 16]
            fx = None if fixed is None else fixed[units[idx]]
            res = _lp_block(Xs, Ys, units[idx], every[a:a + 16], vrs=vrs,
                            orientation=orientation, fixed=fx, info=info)
            if res is None:
                res = _lp_one_by_one(Xs, Ys, units[idx], every[a:a + 16], vrs=vrs,
                                     orientation=orientation, fixed=fx, info=info)
            rad, lm, du, si, so = res
            radial[idx], duals[idx], sl_in[idx], sl_out[idx] = rad, du, si, so
            cols, lam = _widen(cols, len(pool)), _widen(lam, len(pool), 0.0)
            cols[idx], lam[idx] = every[a:a + 16], lm
    return radial, cols, lam, duals, sl_in, sl_out


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


def _lp_one_by_one(Xs, Ys, units, cols, *, vrs, orientation, fixed, info):
    """Fallback when a stacked LP fails: solve its units singly so one bad LP spoils only itself."""
    import numpy as np

    B, K = cols.shape
    s, r = Xs.shape[1], Ys.shape[1]
    out = (np.full(B, np.nan), np.zeros((B, K)), np.zeros((B, s + r + 1)), np.zeros((B, s)), np.zeros((B, r)))
    for b in range(B):
        res = _lp_block(Xs, Ys, units[b:b + 1], cols[b:b + 1], vrs=vrs, orientation=orientation,
                        fixed=None if fixed is None else fixed[b:b + 1], info=info)
        if res is None:
            if fixed is None:
                raise DataError(problem(None, "a DEA linear programme could not be solved",
                                        rows=[f"unit #{int(units[b])}"],
                                        fix="Check the data for extreme magnitudes."))
            continue
        for target, value in zip(out, res):
            target[b] = value[0]
    return out


def _lp_block(Xs, Ys, units, cols, *, vrs, orientation, fixed, info):
    """Stack the envelopment LPs of ``units`` (each with its own reference columns) into one
    block-diagonal sparse LP and solve it with HiGHS. Returns None if HiGHS does not report an
    optimum.

    Per unit, with lambda_j over its columns (inputs +x_j, outputs -y_j, convexity row 1):
      phase 1, input:   min theta   s.t. X.lam - theta x_o <= 0,  -Y.lam <= -y_o   [, 1.lam = 1]
      phase 1, output:  min -phi    s.t. X.lam <= x_o,  -Y.lam + phi y_o <= 0      [, 1.lam = 1]
      phase 2:          min -(1.s_in + 1.s_out)
                        s.t. X.lam + s_in = theta* x_o (or x_o),
                             -Y.lam + s_out = -y_o (or -phi* y_o)                  [, 1.lam = 1]
    """
    import numpy as np
    import scipy.sparse as sp
    from scipy.optimize import linprog

    B, K = cols.shape
    s, r = Xs.shape[1], Ys.shape[1]
    nr = s + r
    valid = cols >= 0
    count = valid.sum(axis=1)
    phase2 = fixed is not None
    n_extra = nr if phase2 else 1
    width = n_extra + count
    voff = np.concatenate([[0], np.cumsum(width)[:-1]])
    nvar = int(width.sum())
    bb, kk = np.nonzero(valid)
    j = cols[bb, kk]
    pos = (np.cumsum(valid, axis=1) - 1)[bb, kk]
    lam_var = voff[bb] + n_extra + pos
    # lambda entries: s input rows (+x_j), r output rows (-y_j)
    coef = np.concatenate([Xs[j], -Ys[j]], axis=1)              # (nnz_units, nr)
    lrow = bb[:, None] * nr + np.arange(nr)[None]
    lcol = np.broadcast_to(lam_var[:, None], lrow.shape)
    xo, yo = Xs[units], Ys[units]
    c = np.zeros(nvar)
    if phase2:
        erow = np.arange(B)[:, None] * nr + np.arange(nr)[None]
        ecol = voff[:, None] + np.arange(nr)[None]
        evals = np.ones((B, nr))
        c[ecol.ravel()] = -1.0
        score, loosen = fixed[:, 0], fixed[:, 1:]
        if orientation == "input":
            rhs = np.concatenate([score[:, None] * xo, -yo], axis=1)
        else:
            rhs = np.concatenate([xo, -score[:, None] * yo], axis=1)
        # the room that keeps the phase-1 optimum feasible; taken back off the slacks below
        rhs = rhs + loosen
    else:
        erow = np.arange(B)[:, None] * nr + np.arange(nr)[None]
        ecol = np.broadcast_to(voff[:, None], erow.shape)
        if orientation == "input":
            evals = np.concatenate([-xo, np.zeros((B, r))], axis=1)
            rhs = np.concatenate([np.zeros((B, s)), -yo], axis=1)
            c[voff] = 1.0
        else:
            evals = np.concatenate([np.zeros((B, s)), yo], axis=1)
            rhs = np.concatenate([xo, np.zeros((B, r))], axis=1)
            c[voff] = -1.0
    A = sp.csc_matrix(
        (np.concatenate([coef.ravel(), evals.ravel()]),
         (np.concatenate([lrow.ravel(), erow.ravel()]), np.concatenate([lcol.ravel(), ecol.ravel()]))),
        shape=(B * nr, nvar))
    conv = None
    if vrs:
        conv = sp.csc_matrix((np.ones(len(j)), (bb, lam_var)), shape=(B, nvar))
    if phase2:
        A_eq = sp.vstack([A, conv]).tocsc() if vrs else A
        b_eq = np.concatenate([rhs.ravel(), np.ones(B)]) if vrs else rhs.ravel()
        kwargs = {"A_eq": A_eq, "b_eq": b_eq}
    else:
        kwargs = {"A_ub": A, "b_ub": rhs.ravel()}
        if vrs:
            kwargs.update(A_eq=conv, b_eq=np.ones(B))
    info["highs_calls"] += 1
    info["lps"] += B
    res = linprog(c, bounds=(0, None), method="highs-ds", options=_HIGHS_OPTIONS, **kwargs)
    if res.status != 0 or res.x is None:
        return None
    x = res.x
    lam = np.zeros((B, K))
    lam[bb, kk] = x[lam_var]
    du = np.zeros((B, nr + 1))
    if phase2:
        m = res.eqlin.marginals
        du[:, :nr] = m[: B * nr].reshape(B, nr)
        if vrs:
            du[:, nr] = m[B * nr:]
        radial = score.astype(float)
        extra = np.maximum(x[voff[:, None] + np.arange(nr)[None]] - loosen, 0.0)
        si, so = extra[:, :s], extra[:, s:]
    else:
        du[:, :nr] = res.ineqlin.marginals.reshape(B, nr)
        if vrs:
            du[:, nr] = res.eqlin.marginals
        radial = x[voff]
        si, so = np.zeros((B, s)), np.zeros((B, r))
    # Store duals as (v, u, c): the marginals of the x-rows are -v and of the y-rows -u (those
    # rows hold -y), c is the convexity row's. In phase 1 v, u >= 0 and the hyperplane
    # u.y_j - v.x_j + c <= 0 holds for every unit j at the optimum.
    du[:, :nr] = -du[:, :nr]
    return radial, lam, du, si, so


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
    scores = pl.DataFrame({
        unit: keys,
        "efficiency": sol.efficiency,
        "efficient": weak & (slack_max <= EFFICIENT_TOL),
        "weakly_efficient": weak,
        "n_peers": n_peers.astype(np.int64),
    })
    peers = pl.DataFrame({
        unit: keys.gather(sol.peer_unit),
        "peer": keys.gather(sol.peer_ref).alias("peer"),
        "weight": sol.peer_weight,
    })
    names = list(inputs) + list(outputs)
    observed = np.concatenate([X, Y], axis=1)
    target = np.concatenate([sol.target_in, sol.target_out], axis=1)
    slack = np.concatenate([sol.slack_in, sol.slack_out], axis=1)
    v = len(names)
    targets = pl.DataFrame({
        unit: keys.gather(np.repeat(np.arange(n), v)),
        "variable": np.tile(np.array(names, dtype=object), n).tolist(),
        "role": np.tile(np.array(["input"] * len(inputs) + ["output"] * len(outputs), dtype=object), n).tolist(),
        "observed": observed.ravel(),
        "target": target.ravel(),
        "slack": slack.ravel(),
        "change": (target - observed).ravel(),
    })
    return DEAResult(scores, peers, targets, model, orientation, tuple(inputs), tuple(outputs),
                     unit, sol.info)
