"""Funnel plots the PHE way: exact ports of PHEindicatormethods 2.1.0, checked against its fixtures.

* :func:`funnel_limits` -- the 100-point control-limit table (``calculate_funnel_limits``),
* :func:`funnel_significance` -- "High (0.001)" ... "Not significant" (``assign_funnel_significance``),
* :func:`funnel_points` -- rate chart points (``calculate_funnel_points``),
* :func:`sigma_adjustment` and :func:`poisson_funnel` -- the limit formulas beneath them.

The package's own frame-level funnel (:func:`publicservices.stats.build_funnel`) lives in
:mod:`publicservices.stats.ranking.funnels` and uses these for its ``"phe"`` method.

Reference: PHEindicatormethods 2.1.0 (UKHSA, GPL-3); Fingertips *Public Health Technical Guidance*.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"area_code": ["A", "B", "C", "D"],
    ...                    "numerator": [10232.0, 12321.0, 15123.0, 13213.0],
    ...                    "denominator": [15232.0, 16123.0, 17932.0, 18475.0]})
    >>> funnel_significance(df, statistic="proportion")["significance"].to_list()
    ['Low (0.001)', 'High (0.001)', 'High (0.001)', 'Low (0.001)']
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.stats._common import require_columns
from publicservices.stats.outcomes.levels import level_suffix
from publicservices.stats.ranking import _rankutil as ru
from publicservices.stats.ranking._funnel_core import (
    MAX_COUNT,
    SIGNIFICANCE_LEVELS,
    Statistic,
    check_array,
)

__all__ = ["funnel_limits", "funnel_significance", "funnel_points", "sigma_adjustment", "poisson_funnel"]


# --------------------------------------------------------------------------------------
# The PHE x axis: R's signif.floor / signif.ceiling, including as.character's habit of
# printing 100000 as "1e+05" (which changes nchar and so the rounding digit).
# --------------------------------------------------------------------------------------
def _r_nchar(x: float) -> int:
    """nchar(as.character(x)) in R for a whole number x >= 0 (15 significant digits)."""
    if x == 0:
        return 1
    digits = f"{int(x):d}"
    fixed = len(digits)
    sig = len(digits.rstrip("0"))
    exponent = fixed - 1
    mantissa = sig if sig == 1 else sig + 1  # "d" or "d.ddd"
    sci = mantissa + 2 + max(2, len(str(exponent)))  # "e+" and at least two exponent digits
    return fixed if fixed <= sci else sci


def _finite_axis(x: float) -> None:
    if not math.isfinite(x):
        raise DataError(
            f"the funnel's x axis would run to {x} (no finite denominators or average).\n"
            "Fix: check the numerator, denominator and rate columns: at least one row needs "
            "events and a finite, positive denominator."
        )


def _signif_floor(x: float, percentage_down: float = 0.95) -> float:
    _finite_axis(x)
    if x == 0:
        return 0.0
    n = _r_nchar(math.floor(x * percentage_down)) - 1
    return math.floor(x * percentage_down / 10.0**n) * 10.0**n


def _signif_ceiling(x: float, percentage_up: float = 1.05) -> float:
    _finite_axis(x)
    if x == 0:
        return 0.0
    n = _r_nchar(math.ceil(x * percentage_up)) - 2
    return math.ceil(x * percentage_up / 10.0**n) * 10.0**n


def _axis_points(axis_min: float, axis_max: float, offset: int) -> np.ndarray:
    """PHE's 100 x-axis points: geometric steps of at least 1 (sequential by construction)."""
    x = [max(1.0, axis_min)]
    for j in range(2, 101):
        prev = x[-1]
        step = round((axis_max / prev) ** (1 / (101 - (j - offset))) * prev)
        x.append(float(max(step, prev + 1)))
    return np.asarray(x)


# --------------------------------------------------------------------------------------
# PHE maths, vectorised
# --------------------------------------------------------------------------------------
def sigma_adjustment(p: float, population: Any, average: float, side: str, multiplier: float) -> np.ndarray:
    """Proportion funnel limit at ``population``: the exact inversion of Wilson's interval.

    The value whose Wilson score interval at confidence ``2p - 1`` just touches ``average``
    (PHEindicatormethods ``sigma_adjustment``; Fingertips technical guidance).

    Parameters:
        p: one-sided probability, 0.975 (95% limits) or 0.999 (99.8% limits).
        population: denominator(s).
        average: baseline proportion (0-1).
        side: ``"low"`` or ``"high"``.
        multiplier: scale of the result (100 for a percentage).

    >>> round(float(sigma_adjustment(0.975, 1000, 0.8, "low", 100)), 4)
    77.5208
    """
    from scipy.special import ndtri

    pop = np.asarray(population, dtype=np.float64)
    z2 = ndtri(p) ** 2
    first = average * (pop / z2 + 1)
    adj = np.sqrt(
        (-8 * average * (pop / z2 + 1)) ** 2
        - 64 * (1 / z2 + 1 / pop) * average * (pop * (average * (pop / z2 + 2) - 1) + z2 * (average - 1))
    )
    last = 1 / z2 + 1 / pop
    sign = -1.0 if side == "low" else 1.0
    return (first + sign * adj / 8) / last / pop * multiplier


def _r_poisson_truncation(z: np.ndarray) -> np.ndarray:
    """Last term PHE's ``poisson_cis`` sums: it stops at the first k > z whose term is at most
    1e-10 of the running total, i.e. the first k > z with pmf(k) <= 1e-10 cdf(k - 1)
    (decreasing in k beyond the mean, so an integer bisection finds it)."""
    from scipy.special import gammaln, pdtr

    log_z = np.log(z)
    lo = np.floor(z) + 1
    hi = lo + np.ceil(10 * np.sqrt(z) + 40)
    thresh = math.log(1e-10)
    while np.any(lo < hi):
        mid = np.floor((lo + hi) / 2)
        with np.errstate(divide="ignore"):
            stop = mid * log_z - z - gammaln(mid + 1) - np.log(pdtr(mid - 1, z)) <= thresh
        hi = np.where(stop, mid, hi)
        lo = np.where(stop, lo, mid + 1)
    return lo - 1


def poisson_funnel(obs: Any, p: Any, side: str) -> np.ndarray:
    """Expected count E at which an observed count sits on a Poisson control limit.

    ``side="high"``: P(Poisson(E) <= obs) = p (the lower limit); ``side="low"``:
    P(Poisson(E) >= obs) = p (the upper limit). Bisection on v with E = (1 + obs) v / (1 - v),
    halving the step from 0.5 while it exceeds 1e-7 -- PHE's tolerance, reproduced (all
    points and levels at once) because the fixtures carry its rounding. Probabilities are
    exact, renormalised over the terms PHE's series sums (it stops once a term falls below
    1e-10 of the total), so every bisection step takes PHE's branch.

    >>> [round(float(e), 4) for e in poisson_funnel([1, 10], 0.025, "high")]
    [5.5716, 18.3904]
    """
    from scipy.special import pdtr, pdtrc

    obs = np.asarray(obs, dtype=np.float64)
    check_array(obs, "obs")
    p = np.broadcast_to(np.asarray(p, dtype=np.float64), obs.shape)
    v = np.full(obs.shape, 0.5)
    dv = 0.5
    while dv > 1e-7:
        dv /= 2
        e = (1 + obs) * v / (1 - v)
        last = _r_poisson_truncation(e)
        total = pdtr(last, e)
        if side == "low":
            prob = np.maximum(pdtrc(obs - 1, e) - pdtrc(last, e), 0.0) / total
            v = np.where(prob > p, v - dv, v + dv)
        else:
            prob = pdtr(np.minimum(obs, last), e) / total
            v = np.where(prob < p, v - dv, v + dv)
    return (1 + obs) * v / (1 - v)


def _ratio_bound(obs: np.ndarray, expected: np.ndarray, conf: float, side: str) -> np.ndarray:
    """PHE ``funnel_ratio_significance``: exact chi-square (obs < 10) or Byar's bound / expected."""
    from scipy.special import gammainccinv, gammaincinv, ndtri

    q = 0.5 + conf / 2
    z = ndtri(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        if side == "low":
            exact = gammainccinv(np.maximum(obs, 1e-300), q)  # qchisq(q, 2x, upper)/2
            byar = obs * (1 - 1 / (9 * obs) - z / 3 / np.sqrt(obs)) ** 3
            out = np.where(obs == 0, 0.0, np.where(obs < 10, exact, byar))
        else:
            exact = gammaincinv(obs + 1, q)  # qchisq(q, 2x+2)/2
            o1 = obs + 1
            byar = o1 * (1 - 1 / (9 * o1) + z / 3 / np.sqrt(o1)) ** 3
            out = np.where(obs < 10, exact, byar)
        return out / expected


# --------------------------------------------------------------------------------------
# Input handling for the PHE ports
# --------------------------------------------------------------------------------------
def _rate_label(rate_type: str, multiplier: float) -> str:
    mult = f"{multiplier:,.0f}" if float(multiplier).is_integer() else f"{multiplier:,}"
    return f"rate ({rate_type} per {mult})"


def _check_statistic(statistic: str | None) -> str:
    if statistic not in ("proportion", "ratio", "rate"):
        raise DataError(
            f"statistic must be provided as proportion, rate or ratio (got {statistic!r}).\n"
            "Fix: pass statistic='proportion', 'ratio' or 'rate'."
        )
    return statistic


def _check_size(frame: pl.DataFrame, column: str, values: np.ndarray, what: str = "") -> None:
    """Refuse implausible counts (> MAX_COUNT), naming the rows: the exact searches step by one."""
    with np.errstate(invalid="ignore"):
        big = np.abs(values) > MAX_COUNT
    ru.check(
        frame,
        column,
        big,
        f"is above {MAX_COUNT:.0e}{what}, too large to be a count of people or events",
        "Check the column holds counts (not a currency amount or an identifier), and its units; "
        "counts above 1e15 cannot be handled exactly.",
    )


def unit_counts(
    frame: pl.DataFrame,
    numerator: str,
    denominator: str | None,
    statistic: str,
    rate: str | None,
    rate_type: str | None,
    multiplier: float | None,
    rate_label: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Validated numerator and (derived) denominator arrays, as PHE derives them.

    ``rate_label`` names the rate column in messages when ``rate`` is a working column."""
    if statistic == "rate":
        if rate is None or rate_type is None or multiplier is None:
            raise SchemaError(
                "the following arguments are required for rates: numerator, rate, rate_type, multiplier.\n"
                "Fix: name the rate column (rate=...), rate_type='dsr' or 'crude', and the multiplier."
            )
        if rate_type not in ("dsr", "crude"):
            raise DataError(f"rate_type must be 'dsr' or 'crude', not {rate_type!r}.\nFix: choose one.")
        require_columns(frame, [numerator, rate], "rate funnels need numerator and rate")
        x = ru.numeric(
            frame, numerator, what=" (for rates, numerators must be provided for all records, even when their values are zero)"
        )
        r = ru.numeric(frame, rate, allow_null=True)
        ru.check(frame, numerator, x < 0, "is negative", "Counts cannot be below zero.")
        zero = x == 0
        have_den = denominator is not None and denominator in frame.columns
        if zero.any() and not have_den:
            raise SchemaError(
                problem(
                    numerator,
                    "is 0 but no denominator column was given",
                    rows=ru.row_labels(frame, zero),
                    total=int(zero.sum()),
                    fix="for rates, where there are 0 events for a record, the denominator field "
                    "needs to be provided using the denominator argument.",
                )
            )
        n = ru.numeric(frame, denominator, allow_null=True) if denominator is not None and have_den else np.full(x.shape, np.nan)
        ru.check(
            frame,
            rate_label or rate,
            (~zero) & ~np.isfinite(r),
            "is missing",
            "for rates, rates must be provided for all records, or a denominator must be provided if the rate is zero.",
        )
        ru.check(
            frame,
            rate_label or rate,
            (~zero) & (r <= 0),
            "is zero or negative where events are above zero",
            "A rate with events must be positive; check the rate column.",
        )
        if denominator is not None and have_den and rate_type == "crude":
            ru.check(
                frame,
                denominator,
                zero & ~(n > 0),
                "is missing or not positive for a record with 0 events",
                "for rates, where there are 0 events for a record, the denominator must be provided.",
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            derived = multiplier * x / r
        if rate_type == "dsr":
            derived = np.where(zero, np.nan, derived)
        elif have_den:
            derived = np.where(zero, n, derived)
        _check_size(frame, numerator, x)
        _check_size(frame, rate_label or rate, derived, " once turned into a population (multiplier x events / rate)")
        return x, derived
    if denominator is None:
        raise SchemaError(
            f"the following arguments are required for {statistic}s: numerator, denominator.\n"
            "Fix: name the denominator column (denominator=...)."
        )
    require_columns(frame, [numerator, denominator], f"{statistic} funnels need numerator and denominator")
    what = " (for proportions, numerators and denominators must be provided for all records, even when their values are zero)"
    x = ru.numeric(frame, numerator, what=what)
    n = ru.numeric(frame, denominator, what=what)
    ru.check(
        frame, numerator, x < 0, "is negative (numerators must be greater than or equal to zero)", "Counts cannot be below zero."
    )
    ru.check(
        frame,
        denominator,
        n <= 0,
        "is zero or negative (denominators must be greater than zero)",
        "Remove units with no population, or correct the denominator.",
    )
    if statistic == "proportion":
        ru.check(
            frame,
            numerator,
            x > n,
            "exceeds the denominator (numerators must be less than or equal to denominator for a proportion statistic)",
            "Check numerator and denominator are not swapped.",
        )
    _check_size(frame, numerator, x)
    _check_size(frame, denominator, n)
    return x, n


# --------------------------------------------------------------------------------------
# Public PHE ports
# --------------------------------------------------------------------------------------
def funnel_limits(
    frame: pl.DataFrame,
    *,
    statistic: Statistic,
    multiplier: float,
    numerator: str = "numerator",
    denominator: str | None = "denominator",
    rate: str | None = None,
    ratio_type: Literal["count", "isr"] | None = None,
    rate_type: Literal["dsr", "crude"] | None = None,
    years_of_data: float | None = None,
    type: Literal["full", "standard"] = "full",
) -> pl.DataFrame:
    """Control limits for a funnel plot: 100 points along the x axis, as Fingertips draws them.

    Port of PHEindicatormethods 2.1.0 ``calculate_funnel_limits`` (Fingertips Public Health
    Technical Guidance). Axis: 100 points geometrically spaced from max(1, axis minimum) to
    the axis maximum (0 when the largest denominator is more than twice the smallest, else 95%
    of the smallest rounded down to 1 significant figure; 105% of the largest rounded up to 2
    significant figures). Proportions: exact inversion of the Wilson interval at the baseline
    sum(x)/sum(n) for p = 0.975 (95%) and 0.999 (99.8%), clamped to [0, 100]. Ratios and rates:
    exact Poisson limits by bisection for each observed count on the axis.

    Parameters:
        frame: one row per unit.
        statistic: ``"proportion"``, ``"ratio"`` or ``"rate"``.
        multiplier: scale of proportion and rate limits (100 = percentage, 1e5 = per 100,000).
        numerator, denominator: column names (denominator = expected count for ratios; for
            rates only needed where a unit has 0 events).
        rate: rate column (rates only).
        ratio_type: ``"count"`` (limits as ratio - 1) or ``"isr"`` (ratio x 100) for ratios.
        rate_type: ``"dsr"`` or ``"crude"`` for rates.
        years_of_data: years the rates cover (rates only).
        type: ``"full"`` adds ``statistic`` and ``method`` columns.

    Returns columns (PHE names in brackets): proportion ``population, lower_95 (lower_2s_limit),
    upper_95, lower_998 (lower_3s_limit), upper_998, baseline``; ratio ``observed_events``,
    ``lower_95_expected_events``, ``lower_95`` ... ; rate ``events``,
    ``lower_95_population_1_year``, ``lower_95`` ... ``baseline``.

    >>> df = pl.DataFrame({"numerator": [30.0, 45.0, 70.0], "denominator": [50.0, 80.0, 100.0]})
    >>> t = funnel_limits(df, statistic="proportion", multiplier=100)
    >>> t.height, t["population"][-1], round(t["baseline"][0], 4)
    (100, 139.0, 63.0435)
    """
    statistic = _check_statistic(statistic)  # type: ignore[assignment]
    if type not in ("full", "standard"):
        raise DataError(f"type must be 'full' or 'standard', not {type!r}.\nFix: choose one.")
    if statistic == "ratio" and ratio_type not in ("count", "isr"):
        raise SchemaError(
            "the following arguments are required for ratios: numerator, denominator, ratio_type, multiplier.\n"
            "Fix: pass ratio_type='count' or 'isr'."
        )
    if statistic == "rate" and (years_of_data is None or not years_of_data > 0):
        raise SchemaError(
            "the following arguments are required for rates: numerator, rate, rate_type, multiplier, "
            "years_of_data.\nFix: pass years_of_data (a positive number of years)."
        )
    x, n = unit_counts(frame, numerator, denominator, statistic, rate, rate_type, multiplier)
    if x.size == 0:
        raise DataError("the frame has no rows.\nFix: pass at least one unit.")
    with np.errstate(divide="ignore", invalid="ignore"):
        av = x.sum() / np.nansum(n)
    usable = np.isfinite(n)
    if not usable.any() or not math.isfinite(av):
        raise DataError(
            problem(
                numerator,
                "gives no usable average: no row has both events and a finite denominator",
                rows=ru.row_labels(frame, ~usable),
                total=int((~usable).sum()),
                fix="funnel limits need at least one row with events (dsr rows with 0 events carry no "
                "denominator); check the numerator and rate columns.",
            )
        )
    lo, hi = float(np.nanmin(n)), float(np.nanmax(n))
    years = float(years_of_data) if statistic == "rate" and years_of_data is not None else 1.0  # a rate's years: checked above
    if hi > 2 * lo:
        axis_min = 0.0
    else:
        axis_min = _signif_floor(lo / years) * years
    axis_max = _signif_ceiling(hi / years) * years
    if statistic == "rate":
        axis_min = math.floor(axis_min * av)
        axis_max = math.ceil(axis_max * av)
    x_axis = _axis_points(axis_min, axis_max, offset=1 if statistic == "ratio" else 0)

    cols: dict[str, Any] = {}
    if statistic == "proportion":
        cols["population"] = x_axis
        for conf, p in ((0.95, 0.975), (0.998, 0.999)):
            s = level_suffix(conf)
            cols[f"lower_{s}"] = np.maximum(0, sigma_adjustment(p, x_axis, av, "low", multiplier))
            cols[f"upper_{s}"] = np.minimum(100, sigma_adjustment(p, x_axis, av, "high", multiplier))
        order = ["population", "lower_95", "upper_95", "lower_998", "upper_998"]
        cols["baseline"] = np.full(100, av * multiplier)
        order.append("baseline")
        label, method = "proportion", "Wilson"
    else:
        # lower and upper limits at both levels in one vectorised bisection (4 x 100 points)
        probs = np.array([0.025, 0.025, 0.001, 0.001])[:, None]
        sides = np.array([True, False, True, False])[:, None]  # True: "high" side = lower limit
        obs = np.broadcast_to(x_axis, (4, 100))
        e_high = poisson_funnel(obs, probs, "high")
        e_low = poisson_funnel(obs, probs, "low")
        e = np.where(sides, e_high, e_low)
        names = ["lower_95", "upper_95", "lower_998", "upper_998"]
        if statistic == "ratio":
            cols["observed_events"] = x_axis
            order = ["observed_events"]
            for i, nm in enumerate(names):
                lim = x_axis / e[i]
                lim = lim - 1 if ratio_type == "count" else lim * 100
                cols[f"{nm}_expected_events"] = e[i]
                cols[nm] = lim
                order += [f"{nm}_expected_events", nm]
            label, method = f"ratio ({ratio_type})", "Poisson"
        else:
            cols["events"] = x_axis
            order = ["events"]
            for i, nm in enumerate(names):
                pop = e[i] / av
                cols[f"{nm}_population_1_year"] = pop / years
                cols[nm] = x_axis / pop * multiplier
                order += [f"{nm}_population_1_year", nm]
            cols["baseline"] = np.full(100, av * multiplier)
            order.append("baseline")
            label, method = _rate_label(rate_type or "", multiplier), "Poisson"
    out = pl.DataFrame({k: np.asarray(cols[k], dtype=np.float64) for k in order})
    if type == "full":
        out = out.with_columns(statistic=pl.lit(label), method=pl.lit(method))
    return out


def funnel_significance(
    frame: pl.DataFrame,
    *,
    statistic: Statistic,
    numerator: str = "numerator",
    denominator: str | None = "denominator",
    rate: str | None = None,
    rate_type: Literal["dsr", "crude"] | None = None,
    multiplier: float | None = None,
) -> pl.DataFrame:
    """Label each unit against the 95% and 99.8% funnel limits, as Fingertips does.

    Port of PHEindicatormethods 2.1.0 ``assign_funnel_significance``. Proportions: x/n
    against the Wilson-inversion limits at the unit's own n around sum(x)/sum(n). Ratios:
    exact chi-square (O < 10) or Byar's (O >= 10) interval of O divided by the expected count,
    against 1. Rates: the same interval divided by the derived denominator (multiplier x O /
    rate; 0-event crude rows use the denominator), against the weighted average rate; dsr rows
    with fewer than 10 events are "Not applicable for events less than 10 for dsrs".
    Checked at 99.8% first, then 95%.

    Parameters:
        frame: one row per unit.
        statistic: ``"proportion"``, ``"ratio"`` or ``"rate"``.
        numerator, denominator, rate, rate_type, multiplier: as :func:`funnel_limits`.

    Returns the frame with ``significance`` (an Enum in :data:`SIGNIFICANCE_LEVELS` order).

    >>> df = pl.DataFrame({"numerator": [8.0, 151.0, 159.0], "denominator": [6.24, 106.44, 232.93]})
    >>> funnel_significance(df, statistic="ratio")["significance"].to_list()
    ['Not significant', 'High (0.001)', 'Low (0.001)']
    """
    statistic = _check_statistic(statistic)  # type: ignore[assignment]
    x, n = unit_counts(frame, numerator, denominator, statistic, rate, rate_type, multiplier)
    labels = phe_labels(statistic, x, n, rate_type)
    return frame.with_columns(pl.Series("significance", labels, dtype=pl.Enum(SIGNIFICANCE_LEVELS)))


def phe_labels(statistic: str, x: np.ndarray, n: np.ndarray, rate_type: str | None) -> np.ndarray:
    out = np.full(x.shape, "Not significant", dtype=object)
    if statistic == "proportion":
        avg = x.sum() / n.sum()
        y = x / n
        conds = [
            (y < sigma_adjustment(0.999, n, avg, "low", 1), "Low (0.001)"),
            (y < sigma_adjustment(0.975, n, avg, "low", 1), "Low (0.025)"),
            (y > sigma_adjustment(0.999, n, avg, "high", 1), "High (0.001)"),
            (y > sigma_adjustment(0.975, n, avg, "high", 1), "High (0.025)"),
        ]
    else:
        ref = 1.0 if statistic == "ratio" else x.sum() / np.nansum(n)
        conds = [
            (ref < _ratio_bound(x, n, 0.998, "low"), "High (0.001)"),
            (ref < _ratio_bound(x, n, 0.95, "low"), "High (0.025)"),
            (ref > _ratio_bound(x, n, 0.998, "high"), "Low (0.001)"),
            (ref > _ratio_bound(x, n, 0.95, "high"), "Low (0.025)"),
        ]
    # case_when: the first true condition wins, so apply them in reverse
    for cond, label in reversed(conds):
        out = np.where(cond, label, out)
    if statistic == "rate" and rate_type == "dsr":
        out = np.where(x < 10, SIGNIFICANCE_LEVELS[5], out)
    return out


def funnel_points(
    frame: pl.DataFrame,
    *,
    numerator: str,
    rate: str,
    rate_type: Literal["dsr", "crude"],
    years_of_data: float,
    multiplier: float,
    denominator: str | None = None,
) -> pl.DataFrame:
    """Rate funnel chart points: the plotted rate and the annual derived denominator.

    Port of PHEindicatormethods 2.1.0 ``calculate_funnel_points``. Adds ``<rate>_chart`` (null
    for dsr rows with fewer than 10 events) and ``denominator_derived`` = multiplier x O /
    rate / years (crude rows with 0 events: denominator / years; dsr rows with < 10 events:
    null).

    Parameters:
        frame: one row per unit; numerator, rate and (for 0-event rows) denominator columns.
        numerator, rate, rate_type, years_of_data, multiplier, denominator: as
            :func:`funnel_limits`.

    >>> df = pl.DataFrame({"ev": [414.0, 5.0], "rate": [184.0, 83.0]})
    >>> funnel_points(df, numerator="ev", rate="rate", rate_type="dsr", years_of_data=3,
    ...               multiplier=1e5)["denominator_derived"].to_list()
    [75000.0, None]
    """
    if rate_type not in ("dsr", "crude"):
        raise DataError(f"rate_type must be 'dsr' or 'crude', not {rate_type!r}.\nFix: choose one.")
    require_columns(frame, [numerator, rate], "rate funnel points need numerator and rate")
    x = ru.numeric(frame, numerator, what=" (numerators must be provided for all records)")
    r = ru.numeric(frame, rate, allow_null=True)
    zero = x == 0
    have_den = denominator is not None
    if zero.any() and not have_den:
        raise SchemaError(
            problem(
                numerator,
                "is 0 but no denominator column was given",
                rows=ru.row_labels(frame, zero),
                total=int(zero.sum()),
                fix="for rates, where there are 0 events for a record, the denominator field needs "
                "to be provided using the denominator argument.",
            )
        )
    _check_size(frame, numerator, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        derived = multiplier * x / r / years_of_data
    chart = r.copy()
    if rate_type == "dsr":
        chart = np.where(x < 10, np.nan, chart)
        derived = np.where(x < 10, np.nan, derived)
    elif have_den:
        require_columns(frame, [denominator], "denominator for 0-event rows")  # type: ignore[list-item]
        n = ru.numeric(frame, denominator, allow_null=True)  # type: ignore[arg-type]
        ru.check(
            frame,
            denominator,  # type: ignore[arg-type]
            zero & ~(n > 0),
            "is missing for a record with 0 events",
            "for rates, where there are 0 events for a record, the denominator must be provided.",
        )
        derived = np.where(zero, n / years_of_data, derived)
    return frame.with_columns(
        pl.Series(f"{rate}_chart", chart, nan_to_null=True),
        pl.Series("denominator_derived", derived, nan_to_null=True),
    )
