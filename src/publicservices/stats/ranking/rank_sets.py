"""Confidence sets for ranks with guaranteed frequentist coverage.

A league table ranks estimates; the confidence set for a rank says which places an area's
*true* value could hold. The method is Mogstad, Romano, Shaikh and Wilhelm (2023, *Review of
Economic Studies* 91:476, "Inference for ranks with applications to mobility across
neighbourhoods and academic achievement across countries", section 3; R package ``csranks``),
for independent estimates (a diagonal covariance matrix):

1. Rank by the true values: ``rank_j = 1 + #{k : theta_k > theta_j}`` (1 = best, or simply
   the highest value when the indicator has no direction; tied units share the best place
   they occupy, and their true places run from that rank to ``n - #{k : theta_k < theta_j}``).
2. Test every ordered pair ``H(j,k): theta_j <= theta_k`` with ``t_jk = (y_j - y_k) /
   sqrt(se_j^2 + se_k^2)``. The critical value is the ``level`` quantile of the largest
   bootstrap statistic over the pairs still under test, ``max (Z_j - Z_k) / sqrt(se_j^2 +
   se_k^2)`` with ``Z ~ N(0, diag(se^2))`` (a parametric bootstrap, ``n_boot`` draws). While
   both orders of a pair are under test this is the max-|t| statistic of the two-sided
   intervals for all differences.
3. Romano-Wolf stepdown (``stepdown=True``): remove the rejected hypotheses, recompute the
   critical value over those left, and repeat until nothing new is rejected. This keeps the
   familywise error rate at ``1 - level`` and never rejects less than the single step.
4. ``rank_lower_j = 1 + #{k : theta_k > theta_j shown}`` and ``rank_upper_j = n - #{k :
   theta_k < theta_j shown}``: the set for the rank is the integer interval between them.

*Simultaneous* sets (``kind="simultaneous"``) test all ``n (n - 1)`` ordered pairs at once:
with probability at least ``level`` every area's set holds its true rank, so the whole
league table can be read at once (who is surely above whom). *Marginal* sets
(``kind="marginal"``) test, for each area ``j``, only the ``2 (n - 1)`` pairs that involve
``j``: each covers its own area's true rank with probability ``level``; they are narrower
and fit a single area's profile, not a table. The "which areas could be in the top k"
set (the paper's tau-best) is ``rank_lower <= k`` from the simultaneous sets; see
:func:`top_k_set`.

Implementation notes. The bootstrap draws ``Z`` are drawn once per group (seeded, in a
canonical order of the units so that the result does not depend on the row order) and reused
at every stepdown step, so the critical values never increase from step to step and marginal
sets always lie inside the simultaneous ones. The critical value is the
``ceil(level x (n_boot + 1))``-th smallest draw: a statistic with the bootstrap's own
distribution lies at or below it with probability exactly ``ceil(level x (n_boot + 1)) /
(n_boot + 1) >= level`` (the Monte Carlo test rule), so the single step is exact in the least
favourable case (all true values equal, standard errors known); ``csranks`` interpolates
(R's type 7 quantile), a fraction of one draw lower.
The largest statistic of each draw is found exactly without evaluating all ``n^2`` pairs:
pairs between the few units with the most extreme draws and every other unit are evaluated,
and the bound ``|Z_j - Z_k| / sqrt(se_j^2 + se_k^2) <= sqrt(e_j^2 + e_k^2)`` (``e = Z / se``,
Cauchy-Schwarz) proves that no other pair can be larger; draws where the bound cannot prove
it and which might matter for the quantile are evaluated in full. Because the pairs under
test only shrink, later stepdown steps reuse the earlier ones: a draw whose largest pair is
still under test keeps its maximum, only pairs with ``|t|`` just below the last critical value
(kept from the step that evaluated every pair) can be rejected next, and pairs of estimates
too close to differ at the critical value, ``|y_j - y_k| <= c sqrt(se_j^2 + min se^2)``, are
not evaluated. The answer is identical to the brute-force computation (float64 throughout).
Temporary arrays are processed in blocks of about 2 MB; memory is O(n_boot x n + n^2) booleans
and floats (pairwise standard deviations are kept as a matrix up to 2,000 units and recomputed
per block above that; two n x n boolean matrices of the pairs under test; up to 64 MB of pairs
kept between steps).

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"area_code": list("ABCD"), "value": [10.0, 12.0, 30.0, 31.0],
    ...                    "se": [1.0, 1.0, 1.0, 1.0]})
    >>> out = rank_confidence_sets(df)
    >>> out.select("area_code", "rank", "rank_lower", "rank_upper").rows()
    [('A', 4, 3, 4), ('B', 3, 3, 4), ('C', 2, 1, 2), ('D', 1, 1, 2)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.indicators import Indicator
from publicservices.stats._common import require_columns
from publicservices.stats.ranking import _rankutil as ru
from publicservices.stats.ranking.rank_set_engine import Kind, RankSets, check_options, rank_set_arrays

__all__ = ["RankSets", "rank_confidence_sets", "rank_set_arrays", "top_k_set"]


# --------------------------------------------------------------------------------------
# The frame API
# --------------------------------------------------------------------------------------
def _descending(descending: bool | None, polarity: str | None, ind: Indicator | None) -> bool:
    polarity = polarity or (ind.polarity if ind is not None else None)
    if polarity is not None and polarity not in ("higher_is_better", "lower_is_better", "no_judgement"):
        raise DataError(f"unknown polarity {polarity!r}.\nFix: use higher_is_better, lower_is_better or no_judgement.")
    from_polarity = None if polarity is None else polarity != "lower_is_better"
    if descending is not None and from_polarity is not None and descending != from_polarity:
        raise DataError(
            f"descending={descending} contradicts polarity {polarity!r}.\n"
            "Fix: pass one of them: rank 1 is the highest value unless lower is better."
        )
    return bool(descending if descending is not None else (True if from_polarity is None else from_polarity))


_ADD_INTERVALS = "publicservices.stats.add_intervals(values, indicators)"


def _standard_errors(frame: pl.DataFrame, se: str, ci_level: float) -> tuple[np.ndarray, str]:
    """(se, the column named in errors), row by row from the first source present: the named
    column, ``standard_error``, (upper_ci - lower_ci) / (2 z) with z the normal quantile of
    ``ci_level``, then (upper_95 - lower_95) / (2 x 1.959964) (the limits add_intervals adds)."""
    from scipy.special import ndtri  # the normal quantile, without importing scipy.stats

    cols = set(frame.columns)
    out = np.full(frame.height, np.nan)
    named: list[str] = []
    if se in cols:
        named.append(se)
        out = ru.numeric(frame, se, allow_null=True)
    if se == "se" and "standard_error" in cols:
        named.append("standard_error")
        out = np.where(np.isnan(out), ru.numeric(frame, "standard_error", allow_null=True), out)
    for lower, upper, level in (("lower_ci", "upper_ci", ci_level), ("lower_95", "upper_95", 0.95)):
        if {lower, upper} <= cols:
            named.append(upper)
            lo = ru.numeric(frame, lower, allow_null=True)
            hi = ru.numeric(frame, upper, allow_null=True)
            ru.check(
                frame,
                upper,
                np.isfinite(lo) & np.isfinite(hi) & (hi < lo),
                f"is below {lower}",
                "Swap the limits, or correct the rows.",
            )
            z = float(ndtri(0.5 + level / 2))  # 1.959964 for 95% limits
            out = np.where(np.isnan(out), (hi - lo) / (2 * z), out)
    if not named:
        raise SchemaError(
            problem(
                se,
                "is missing (rank confidence sets need each estimate's standard error)",
                fix="Add a standard-error column (se=... names it), or lower_ci/upper_ci; "
                f"for counts, compute limits first: {_ADD_INTERVALS}.",
            )
        )
    return out, ", ".join(named)


def rank_confidence_sets(
    frame: Any,
    indicator: Indicator | str | None = None,
    *,
    estimate: str = "value",
    se: str = "se",
    by: Sequence[str] | str | None = None,
    key: str = "area_code",
    level: float = 0.95,
    kind: Kind = "simultaneous",
    stepdown: bool = True,
    n_boot: int = 1000,
    seed: int | None = 0,
    descending: bool | None = None,
    polarity: str | None = None,
    ci_level: float = 0.95,
    indicators: Mapping[str, Indicator] | None = None,
) -> pl.DataFrame:
    """Confidence sets for ranks with guaranteed coverage (Mogstad, Romano, Shaikh & Wilhelm 2023).

    Adds ``rank`` (of the point estimate; 1 = best by polarity, or the highest value when the
    indicator has no direction; ties share the smallest rank), ``rank_lower`` and
    ``rank_upper`` (the set for the true rank is every integer between them) and
    ``n_ranked`` (units ranked in the row's group). With ``kind="simultaneous"`` (the default,
    for league tables) all the sets of a group hold their true ranks together with
    probability at least ``level``; with ``kind="marginal"`` each set holds its own unit's
    rank with that probability. Method: see :mod:`publicservices.stats.ranking.rank_sets`.

    Unlike :func:`publicservices.stats.rank_intervals` (Bayesian: quantiles of the
    ranks simulated from each unit's posterior, one unit at a time, dependent on the prior),
    these are frequentist sets with a coverage guarantee for every true ranking.

    Parameters:
        frame: values frame or Dataset: one row per unit and group, with ``estimate`` and a
            standard error.
        indicator: the Indicator or its id (for its polarity; also selects its rows).
        estimate: the column to rank.
        se: the standard-error column. Where it is absent or null, ``standard_error`` is
            used, else ``(upper_ci - lower_ci) / (2 x 1.959964)`` (normal limits at
            ``ci_level``), else the same from ``lower_95``/``upper_95``. For counts, compute
            limits first (``publicservices.stats.add_intervals``); asymmetric limits (Wilson,
            Byar) are then read as if symmetric, an approximation.
        by: grouping columns (default: indicator_id, period and the group keys present --
            comparable_set, sex, age, category_type, category); each group is ranked alone.
        key: unit column (area code); fixes the order of the bootstrap draws among units with
            equal estimate and se, so the result does not depend on the row order. Must be
            unique within a group when present.
        level: coverage, in [0.5, 1).
        kind: ``"simultaneous"`` or ``"marginal"``.
        stepdown: Romano-Wolf stepdown (default; never wider than the single step).
        n_boot: parametric bootstrap draws per group.
        seed: seed (every group uses the same seed); None for fresh randomness.
        descending: rank 1 = highest value (True) or lowest (False). Default from polarity:
            the indicator's, or (with a Dataset or ``indicators=`` and no indicator named) each
            indicator's own; the highest value when no polarity is known.
        polarity: ``higher_is_better``, ``lower_is_better`` or ``no_judgement``; overrides
            the indicator's.
        ci_level: the level of ``lower_ci``/``upper_ci`` when se comes from them.

    Returns the frame, rows in their order, with the four columns added. Rows without an
    estimate are kept with null ranks and are not counted in ``n_ranked``; a row with an
    estimate but no standard error is an error (it names the rows).

    >>> df = pl.DataFrame({"area_code": list("ABC"), "value": [20.0, 10.0, 11.0], "se": [1.0, 1.0, 1.0]})
    >>> rank_confidence_sets(df, polarity="lower_is_better").select("rank", "rank_lower", "rank_upper").rows()
    [(3, 3, 3), (1, 1, 2), (2, 1, 2)]
    """
    known = dict(getattr(frame, "indicators", None) or {}) if not isinstance(frame, pl.DataFrame) else {}
    known.update(indicators or {})
    frame, ind = ru.resolve(frame, indicator, indicators)
    desc = _descending(descending, polarity, ind)
    # without an indicator, polarity or direction, each indicator's own polarity (when known)
    per_group = ind is None and descending is None and polarity is None and bool(known) and "indicator_id" in frame.columns
    check_options(kind, level, n_boot)
    if not 0 < ci_level < 1:
        raise DataError(f"ci_level must lie between 0 and 1, not {ci_level!r}.\nFix: e.g. ci_level=0.95.")
    require_columns(frame, [estimate], "the values to rank")
    keys = ru.group_keys(frame, by)
    y = ru.numeric(frame, estimate, allow_null=True)
    s, se_name = _standard_errors(frame, se, ci_level)  # se_name: the columns it came from
    ru.check(frame, estimate, np.isinf(y), "is infinite", "Replace infinite values with null (or a finite value).")
    ru.check(
        frame,
        se_name,
        np.isinf(s),
        "is infinite (gives an infinite standard error)",
        "Set the standard error to null to leave the row unranked, or correct it.",
    )
    ru.check(
        frame,
        se_name,
        s < 0,
        "gives a negative standard error",
        "Standard errors are at least 0; check the column (or that lower_ci <= upper_ci).",
    )
    ru.check(
        frame,
        "se",
        np.isfinite(y) & np.isnan(s),
        f"is missing for rows that have a value (looked in {se_name})",
        f"Give every ranked row a standard error or limits (for counts: {_ADD_INTERVALS}), "
        "or filter those rows out: an area cannot be placed without its uncertainty.",
    )
    tiebreak = None
    if key in frame.columns:
        dup = frame.select(pl.struct([*keys, key]).is_duplicated()).to_series().to_numpy()
        ru.check(
            frame,
            key,
            dup,
            f"is repeated within a group ({', '.join(keys) or 'whole frame'})",
            "Each unit appears once per group: add the column that tells the rows apart to by=, or filter the rows first.",
        )
        tiebreak = frame.get_column(key).cast(pl.String).rank("dense").fill_null(0).to_numpy()
    ok = np.isfinite(y) & np.isfinite(s)
    h = frame.height
    out = {nm: np.full(h, -1, dtype=np.int64) for nm in ("rank", "rank_lower", "rank_upper", "n_ranked")}
    indexed = frame.select(keys).with_row_index("__row") if keys else pl.DataFrame({"__row": np.arange(h)})
    for part in ru.partitions(indexed, keys):
        rows = part.get_column("__row").to_numpy()
        use = rows[ok[rows]]
        out["n_ranked"][rows] = use.size
        if not use.size:
            continue
        group_desc = desc
        if per_group:
            ids = frame.get_column("indicator_id")[use.tolist()].unique().to_list()
            pols = {known[i].polarity for i in ids if i in known}
            if len(pols) > 1:
                raise DataError(
                    problem(
                        "indicator_id",
                        "mixes indicators of opposite polarity in one group",
                        fix="Rank each indicator separately: keep indicator_id in by=.",
                    )
                )
            group_desc = _descending(None, pols.pop() if pols else None, None)
        res = rank_set_arrays(
            y[use],
            s[use],
            level=level,
            kind=kind,
            stepdown=stepdown,
            n_boot=n_boot,
            seed=seed,
            descending=group_desc,
            tiebreak=None if tiebreak is None else tiebreak[use],
        )
        out["rank"][use] = res.rank
        out["rank_lower"][use] = res.lower
        out["rank_upper"][use] = res.upper
    added = frame.with_columns(*[pl.Series(nm, v, dtype=pl.Int64) for nm, v in out.items()])
    return added.with_columns(
        *[pl.when(pl.col(nm) >= 0).then(pl.col(nm)).alias(nm) for nm in ("rank", "rank_lower", "rank_upper")]
    )


def top_k_set(
    frame: Any,
    k: int,
    indicator: Indicator | str | None = None,
    *,
    which: Literal["top", "bottom"] = "top",
    **options: Any,
) -> pl.DataFrame:
    """Which units could be, and which surely are, among the top (or bottom) k.

    The paper's confidence set for the tau-best (Mogstad, Romano, Shaikh & Wilhelm 2023,
    section 3.4; ``csranks::cstaubest``): with probability at least ``level`` every unit
    whose true rank is at most ``k`` has ``could_be_top_k`` true, and every unit with
    ``surely_top_k`` true has a true rank of at most ``k`` -- both statements together,
    because they are read off the simultaneous sets (``could_be_top_k = rank_lower <= k``,
    ``surely_top_k = rank_upper <= k``). For all units the one-sided family the paper uses
    for the tau-best is the same family of ordered pairs as the two-sided simultaneous sets,
    so the set is the same. ``which="bottom"`` gives ``could_be_bottom_k`` (``rank_upper >=
    n - k + 1``) and ``surely_bottom_k`` (``rank_lower >= n - k + 1``), ``csranks::cstauworst``.

    Parameters:
        frame: as :func:`rank_confidence_sets`.
        k: how many places count as the top (bottom); at least 1.
        indicator: the Indicator or its id.
        which: ``"top"`` or ``"bottom"``.
        options: any keyword of :func:`rank_confidence_sets` except ``kind``.

    >>> df = pl.DataFrame({"area_code": list("ABCD"), "value": [10.0, 12.0, 30.0, 31.0], "se": [1.0] * 4})
    >>> top_k_set(df, 1).select("area_code", "could_be_top_k", "surely_top_k").rows()
    [('A', False, False), ('B', False, False), ('C', True, False), ('D', True, False)]
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise DataError(f"k must be a whole number of at least 1, not {k!r}.\nFix: e.g. k=5 for the top five.")
    if which not in ("top", "bottom"):
        raise DataError(f"which must be 'top' or 'bottom', not {which!r}.\nFix: which='top'.")
    if "kind" in options:
        raise DataError("top_k_set always uses simultaneous sets.\nFix: drop kind=.")
    out = rank_confidence_sets(frame, indicator, kind="simultaneous", **options)
    lo, hi, n = pl.col("rank_lower"), pl.col("rank_upper"), pl.col("n_ranked")
    if which == "top":
        return out.with_columns(could_be_top_k=lo <= k, surely_top_k=hi <= k)
    cut = n - k + 1
    return out.with_columns(could_be_bottom_k=hi >= cut, surely_bottom_k=lo >= cut)
