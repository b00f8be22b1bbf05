"""Funnel plots: control limits, significance labels and over-dispersion.

Three exact ports of PHEindicatormethods 2.1.0 (the Fingertips *Public Health Technical
Guidance* method), checked against the package's own fixtures:

* :func:`funnel_limits` -- the 100-point control-limit table (``calculate_funnel_limits``),
* :func:`funnel_significance` -- "High (0.001)" ... "Not significant" (``assign_funnel_significance``),
* :func:`funnel_points` -- rate chart points (``calculate_funnel_points``);

and the frame-level :func:`funnel`, which places every unit against limits at its own
precision (PHE, exact-with-interpolation, or normal), optionally widened for over-dispersion
by Spiegelhalter's (2005) multiplicative factor phi or additive random-effects tau^2, and says
whether each unit is better, similar or worse by the indicator's polarity.

References: Spiegelhalter DJ (2005) Funnel plots for comparing institutional performance.
Stat Med 24:1185-1202; Spiegelhalter DJ (2005) Handling over-dispersion of performance
indicators. Qual Saf Health Care 14:347-351; PHEindicatormethods 2.1.0 (UKHSA, GPL-3).

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
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import polars as pl

from publicservices.errors import DataError, SchemaError, problem
from publicservices.indicators import Indicator
from publicservices.stats import _rankutil as ru

__all__ = [
    "SIGNIFICANCE_LEVELS",
    "COMPARISON_LEVELS",
    "Funnel",
    "funnel",
    "funnel_limits",
    "funnel_significance",
    "funnel_points",
    "exact_funnel_limits",
    "sigma_adjustment",
    "poisson_funnel",
    "winsorised_dispersion",
]

SIGNIFICANCE_LEVELS: tuple[str, ...] = (
    "High (0.001)",
    "High (0.025)",
    "Low (0.001)",
    "Low (0.025)",
    "Not significant",
    "Not applicable for events less than 10 for dsrs",
)
POSITION_LEVELS: tuple[str, ...] = ("below", "within", "above")
COMPARISON_LEVELS: tuple[str, ...] = (
    "better (99.8%)",
    "better (95%)",
    "higher (99.8%)",
    "higher (95%)",
    "similar",
    "lower (95%)",
    "lower (99.8%)",
    "worse (95%)",
    "worse (99.8%)",
)
_LEVELS = (0.95, 0.998)
_SUFFIX = {0.95: "95", 0.998: "998"}

Statistic = Literal["proportion", "ratio", "rate"]


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


def _signif_floor(x: float, percentage_down: float = 0.95) -> float:
    if x == 0:
        return 0.0
    n = _r_nchar(math.floor(x * percentage_down)) - 1
    return math.floor(x * percentage_down / 10.0**n) * 10.0**n


def _signif_ceiling(x: float, percentage_up: float = 1.05) -> float:
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


def _counts(frame: pl.DataFrame, numerator: str, denominator: str | None, statistic: str,
            rate: str | None, rate_type: str | None, multiplier: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Validated numerator and (derived) denominator arrays, as PHE derives them."""
    if statistic == "rate":
        if rate is None or rate_type is None or multiplier is None:
            raise SchemaError(
                "the following arguments are required for rates: numerator, rate, rate_type, multiplier.\n"
                "Fix: name the rate column (rate=...), rate_type='dsr' or 'crude', and the multiplier."
            )
        if rate_type not in ("dsr", "crude"):
            raise DataError(f"rate_type must be 'dsr' or 'crude', not {rate_type!r}.\nFix: choose one.")
        ru.require_columns(frame, [numerator, rate], "rate funnels need numerator and rate")
        x = ru.numeric(frame, numerator, what=" (for rates, numerators must be provided for all "
                                              "records, even when their values are zero)")
        r = ru.numeric(frame, rate, allow_null=True)
        ru.check(frame, numerator, x < 0, "is negative", "Counts cannot be below zero.")
        zero = x == 0
        have_den = denominator is not None and denominator in frame.columns
        if zero.any() and not have_den:
            raise SchemaError(
                problem(numerator, "is 0 but no denominator column was given",
                        rows=ru.row_labels(frame, zero), total=int(zero.sum()),
                        fix="for rates, where there are 0 events for a record, the denominator field "
                            "needs to be provided using the denominator argument.")
            )
        n = ru.numeric(frame, denominator, allow_null=True) if have_den else np.full(x.shape, np.nan)
        ru.check(frame, rate, (~zero) & ~np.isfinite(r), "is missing",
                 "for rates, rates must be provided for all records, or a denominator must be "
                 "provided if the rate is zero.")
        ru.check(frame, rate, (~zero) & (r <= 0), "is zero or negative where events are above zero",
                 "A rate with events must be positive; check the rate column.")
        if have_den and rate_type == "crude":
            ru.check(frame, denominator, zero & ~(n > 0), "is missing or not positive for a record with 0 events",
                     "for rates, where there are 0 events for a record, the denominator must be provided.")
        with np.errstate(divide="ignore", invalid="ignore"):
            derived = multiplier * x / r
        if rate_type == "dsr":
            derived = np.where(zero, np.nan, derived)
        elif have_den:
            derived = np.where(zero, n, derived)
        return x, derived
    if denominator is None:
        raise SchemaError(
            f"the following arguments are required for {statistic}s: numerator, denominator.\n"
            "Fix: name the denominator column (denominator=...)."
        )
    ru.require_columns(frame, [numerator, denominator], f"{statistic} funnels need numerator and denominator")
    what = (" (for proportions, numerators and denominators must be provided for all records, even "
            "when their values are zero)")
    x = ru.numeric(frame, numerator, what=what)
    n = ru.numeric(frame, denominator, what=what)
    ru.check(frame, numerator, x < 0, "is negative (numerators must be greater than or equal to zero)",
             "Counts cannot be below zero.")
    ru.check(frame, denominator, n <= 0, "is zero or negative (denominators must be greater than zero)",
             "Remove units with no population, or correct the denominator.")
    if statistic == "proportion":
        ru.check(frame, numerator, x > n,
                 "exceeds the denominator (numerators must be less than or equal to denominator for a "
                 "proportion statistic)", "Check numerator and denominator are not swapped.")
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
    x, n = _counts(frame, numerator, denominator, statistic, rate, rate_type, multiplier)
    if x.size == 0:
        raise DataError("the frame has no rows.\nFix: pass at least one unit.")
    av = x.sum() / np.nansum(n)
    lo, hi = float(np.nanmin(n)), float(np.nanmax(n))
    years = float(years_of_data) if statistic == "rate" else 1.0
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
            s = _SUFFIX[conf]
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
    x, n = _counts(frame, numerator, denominator, statistic, rate, rate_type, multiplier)
    labels = _phe_labels(statistic, x, n, rate_type)
    return frame.with_columns(pl.Series("significance", labels, dtype=pl.Enum(SIGNIFICANCE_LEVELS)))


def _phe_labels(statistic: str, x: np.ndarray, n: np.ndarray, rate_type: str | None) -> np.ndarray:
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
    ru.require_columns(frame, [numerator, rate], "rate funnel points need numerator and rate")
    x = ru.numeric(frame, numerator, what=" (numerators must be provided for all records)")
    r = ru.numeric(frame, rate, allow_null=True)
    zero = x == 0
    have_den = denominator is not None
    if zero.any() and not have_den:
        raise SchemaError(
            problem(numerator, "is 0 but no denominator column was given", rows=ru.row_labels(frame, zero),
                    total=int(zero.sum()),
                    fix="for rates, where there are 0 events for a record, the denominator field needs "
                        "to be provided using the denominator argument.")
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        derived = multiplier * x / r / years_of_data
    chart = r.copy()
    if rate_type == "dsr":
        chart = np.where(x < 10, np.nan, chart)
        derived = np.where(x < 10, np.nan, derived)
    elif have_den:
        ru.require_columns(frame, [denominator], "denominator for 0-event rows")  # type: ignore[list-item]
        n = ru.numeric(frame, denominator, allow_null=True)  # type: ignore[arg-type]
        ru.check(frame, denominator, zero & ~(n > 0), "is missing for a record with 0 events",  # type: ignore[arg-type]
                 "for rates, where there are 0 events for a record, the denominator must be provided.")
        derived = np.where(zero, n / years_of_data, derived)
    return frame.with_columns(
        pl.Series(f"{rate}_chart", chart).fill_nan(None),
        pl.Series("denominator_derived", derived).fill_nan(None),
    )


# --------------------------------------------------------------------------------------
# Spiegelhalter (2005): exact limits with interpolation, and over-dispersion
# --------------------------------------------------------------------------------------
def _binom_cdf(r: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    from scipy.special import betainc

    out = np.where(r < 0, 0.0, 1.0)
    mid = (r >= 0) & (r < n)
    if mid.any():
        out[mid] = betainc(n[mid] - r[mid], r[mid] + 1, np.broadcast_to(1 - p, r.shape)[mid])
    return out


def _pois_cdf(r: np.ndarray, m: np.ndarray) -> np.ndarray:
    from scipy.special import gammaincc

    out = np.zeros(r.shape)
    ok = r >= 0
    out[ok] = gammaincc(r[ok] + 1, m[ok])
    return out


def _interpolated_quantile(q: np.ndarray, size: np.ndarray, theta: float, family: str) -> np.ndarray:
    """Spiegelhalter (2005) Appendix A.1: (r_q - alpha) / size, with r_q the q-quantile of the
    count and alpha = (F(r_q) - q) / (F(r_q) - F(r_q - 1)) smoothing the discrete steps."""
    from scipy.special import ndtri

    if family == "binomial":
        mean, var = size * theta, size * theta * (1 - theta)
        cdf = lambda r, idx: _binom_cdf(r, size[idx], theta)  # noqa: E731
        top = size
    else:
        mean = var = size * theta
        cdf = lambda r, idx: _pois_cdf(r, mean[idx])  # noqa: E731
        top = np.full(size.shape, np.inf)
    sd = np.sqrt(var)
    z = ndtri(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.where(sd > 0, (1 - 2 * theta) / sd if family == "binomial" else 1 / sd, 0.0)
    # Cornish-Fisher start, then step to the smallest r with F(r) >= q (1-3 steps)
    r = np.clip(np.floor(mean + sd * (z + skew * (z * z - 1) / 6)), 0, top)
    every = np.arange(r.size)
    f = cdf(r, every)
    active = np.flatnonzero(f < q)
    while active.size:
        r[active] += 1
        f[active] = cdf(r[active], active)
        active = active[f[active] < q[active]]
    f_prev = cdf(r - 1, every)
    active = np.flatnonzero(f_prev >= q)
    while active.size:
        r[active] -= 1
        f[active] = f_prev[active]
        f_prev[active] = cdf(r[active] - 1, active)
        active = active[f_prev[active] >= q[active]]
    alpha = (f - q) / (f - f_prev)
    return (r - alpha) / size


def exact_funnel_limits(
    precision: Any,
    baseline: float,
    *,
    family: Literal["binomial", "poisson"],
    levels: Sequence[float] = _LEVELS,
) -> dict[str, np.ndarray]:
    """Exact binomial or Poisson control limits with interpolation, at any precision.

    Spiegelhalter (2005) Stat Med 24:1185, Appendix A.1: for a unit of size n (binomial) or
    expected count E (Poisson; limits are then on the ratio scale O/E), the q-quantile r_q of
    the count under the baseline, smoothed between the discrete steps by
    alpha = (F(r_q) - q) / (F(r_q) - F(r_q - 1)); the limit is (r_q - alpha) / size.

    Parameters:
        precision: denominators n (binomial) or expected counts (Poisson), any shape.
        baseline: the target proportion (binomial) or rate per unit of precision (Poisson).
        family: ``"binomial"`` or ``"poisson"``.
        levels: two-sided coverage levels.

    Returns ``{"lower_95": ..., "upper_95": ..., "lower_998": ..., "upper_998": ...}`` on the
    proportion / ratio scale (multiply by the indicator's multiplier to plot).

    >>> lim = exact_funnel_limits([100, 1000], 0.8, family="binomial")
    >>> [round(float(v), 4) for v in lim["lower_95"]]
    [0.7135, 0.7744]
    """
    prec = np.asarray(precision, dtype=np.float64)
    shape = prec.shape
    flat = prec.ravel()
    if family == "binomial" and np.any(flat != np.round(flat)):
        flat = np.round(flat)  # binomial sizes are whole numbers
    qs = []
    names = []
    for level in levels:
        suffix = _SUFFIX.get(level, f"{level * 100:g}".replace(".", "_"))
        tail = (1 - level) / 2
        qs += [tail, 1 - tail]
        names += [f"lower_{suffix}", f"upper_{suffix}"]
    q = np.repeat(np.asarray(qs), flat.size)
    size = np.tile(flat, len(qs))
    lims = np.full(size.shape, np.nan)
    valid = np.isfinite(size) & (size > 0)  # units without a usable precision get no limits
    if valid.any():
        lims[valid] = np.maximum(_interpolated_quantile(q[valid], size[valid], float(baseline), family), 0.0)
    return {nm: lims[i * flat.size:(i + 1) * flat.size].reshape(shape) for i, nm in enumerate(names)}


def winsorised_dispersion(z: Any, se: Any, winsorize: float = 0.1) -> dict[str, float]:
    """Spiegelhalter's over-dispersion estimates from z-scores.

    phi = mean of the squared z-scores after Winsorising them at the ``winsorize`` and
    ``1 - winsorize`` quantiles (the lowest 10% set to the 10th percentile, the highest 10% to
    the 90th; quantiles by linear interpolation, R type 7); the additive between-unit variance
    tau^2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w) with w = 1 / se^2, floored at 0
    (DerSimonian-Laird form). ``chi2_p`` is P(chi^2_I > I phi), the test of phi = 1.

    Reference: Spiegelhalter DJ (2005) Qual Saf Health Care 14:347, and Stat Med 24:1185 s.6.

    Parameters:
        z: z-scores (y - theta0) / se under the baseline.
        se: the standard errors used for those z-scores.
        winsorize: fraction Winsorised in each tail (0 to switch off).

    >>> d = winsorised_dispersion([-3.0, -1.0, 0.0, 1.0, 3.0], [1.0] * 5, winsorize=0.0)
    >>> d["phi"], d["tau2"]
    (4.0, 4.0)
    """
    from scipy.special import chdtrc

    z = np.asarray(z, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    i = z.size
    if i == 0:
        return {"n_units": 0, "phi": float("nan"), "tau2": float("nan"), "chi2_p": float("nan")}
    if winsorize > 0:
        lo, hi = np.quantile(z, [winsorize, 1 - winsorize])
        z = np.clip(z, lo, hi)
    phi = float(np.mean(z * z))
    w = 1 / se**2
    denom = w.sum() - (w * w).sum() / w.sum()
    tau2 = max(0.0, (i * phi - (i - 1)) / denom) if denom > 0 else 0.0
    return {"n_units": i, "phi": phi, "tau2": float(tau2), "chi2_p": float(chdtrc(i, i * phi))}


# --------------------------------------------------------------------------------------
# funnel(): the frame-level function
# --------------------------------------------------------------------------------------
class Funnel(NamedTuple):
    """Result of :func:`funnel`: ``points`` (one row per unit), ``limits`` (long form, one row
    per curve point: ``limit`` in lower_998/lower_95/baseline/upper_95/upper_998, ``precision``,
    ``value``) and ``dispersion`` (one row per group: baseline, phi, tau2, test)."""

    points: pl.DataFrame
    limits: pl.DataFrame
    dispersion: pl.DataFrame


_Z = {0.95: 1.959963984540054, 0.998: 3.090232306167813}


def funnel(
    frame: Any,
    indicator: Indicator | str | None = None,
    overdispersion: Literal["multiplicative", "additive"] | None = None,
    *,
    method: Literal["phe", "exact", "normal"] | None = None,
    target: float | None = None,
    years_of_data: float = 1.0,
    winsorize: float = 0.1,
    by: Sequence[str] | str | None = None,
    indicators: Mapping[str, Indicator] | None = None,
    measure: str | None = None,
    multiplier: float | None = None,
    polarity: str | None = None,
    points: int = 100,
) -> Funnel:
    """Funnel plot for one indicator: each unit against control limits at its own precision.

    Methods (Spiegelhalter 2005, Stat Med 24:1185; Fingertips technical guidance):

    * ``"phe"`` (default for proportion, ratio, rate, dsr without over-dispersion):
      curves from :func:`funnel_limits`, labels from :func:`funnel_significance`, positions
      from the labels. Per-unit limit columns: Wilson inversion for proportions; exact
      interpolated Poisson limits for ratios and rates (PHE labels those with Byar's interval,
      so a unit within a count of a limit can differ).
    * ``"exact"``: exact binomial / Poisson limits with interpolation (Appendix A.1), baseline
      sum(O)/sum(n) (ratios: 1) or ``target``.
    * ``"normal"``: theta0 +/- z se; the only method for ``mean`` and ``score`` measures,
      which need an ``se`` column (or ``lower_ci``/``upper_ci``, read as 95% limits).

    ``overdispersion`` widens the normal limits (Spiegelhalter 2005, s.6; QSHC 14:347):
    z_i = (y_i - theta0)/s_i with s_i^2 = V(theta0)/rho_i, 10% Winsorised (``winsorize``);
    phi = mean z^2. ``"multiplicative"``: theta0 +/- z sqrt(phi) s (only when phi > 1).
    ``"additive"``: theta0 +/- z sqrt(s^2 + tau^2), tau^2 = (I phi - (I-1)) / (sum w -
    sum w^2 / sum w), w = 1/s^2.

    Parameters:
        frame: a Dataset or a values frame (numerator/denominator for counts; value and
            se or lower_ci/upper_ci otherwise).
        indicator: the Indicator (or its id, looked up in ``indicators`` / the Dataset).
        overdispersion: None, ``"multiplicative"`` or ``"additive"``.
        method: ``"phe"``, ``"exact"`` or ``"normal"``; default as above.
        target: baseline on the value scale instead of the data's average.
        years_of_data: years the rates cover (x axis in annual population).
        winsorize: fraction Winsorised in each tail when estimating phi.
        by: grouping columns (default indicator_id, period and the group keys present --
            comparable_set, sex, age, category_type, category): one funnel per group, never
            one pooled across men and women or across comparable sets.
        measure, multiplier, polarity: override or replace the indicator's metadata.
        points: number of points on each curve for methods other than ``"phe"``.

    Returns a :class:`Funnel` of three frames. ``points`` adds ``value``, ``precision``,
    ``baseline``, ``z``, ``z_adjusted``, ``lower_95``, ``upper_95``, ``lower_998``,
    ``upper_998``, ``position_95``, ``position_998`` (below/within/above), ``significance``
    (PHE labels) and ``comparison`` (better/similar/worse by polarity, with the level).

    >>> from publicservices.indicators import Indicator
    >>> ind = Indicator(id="health.screen", title="Screening", sector="health", measure="proportion",
    ...                 multiplier=100, polarity="higher_is_better")
    >>> df = pl.DataFrame({"area_code": ["A", "B", "C", "D"], "numerator": [700.0, 820.0, 410.0, 900.0],
    ...                    "denominator": [1000.0, 1000.0, 500.0, 1100.0]})
    >>> f = funnel(df, ind)
    >>> f.points["comparison"].to_list()
    ['worse (99.8%)', 'better (95%)', 'similar', 'better (95%)']
    """
    frame, ind = ru.resolve(frame, indicator, indicators)
    measure = measure or (ind.measure if ind else None)
    if measure is None:
        raise SchemaError("funnel needs an indicator or measure=...\nFix: pass the Indicator, or measure='proportion'.")
    if multiplier is None:
        multiplier = ind.multiplier if ind else 1.0
    polarity = polarity or (ind.polarity if ind else "no_judgement")
    if overdispersion not in (None, "multiplicative", "additive"):
        raise DataError(
            f"overdispersion must be None, 'multiplicative' or 'additive', not {overdispersion!r}.\n"
            "Fix: choose one of those."
        )
    counted = measure in ("proportion", "ratio", "rate", "dsr")
    if method is None:
        method = "phe" if counted and overdispersion is None and target is None else "normal"
        if counted and overdispersion is None and target is not None:
            method = "exact"
    if method not in ("phe", "exact", "normal"):
        raise DataError(f"method must be 'phe', 'exact' or 'normal', not {method!r}.\nFix: choose one.")
    if method in ("phe", "exact") and not counted:
        raise DataError(
            f"method {method!r} needs counts, but the measure is {measure!r}.\n"
            "Fix: use method='normal' with an se column (or lower_ci/upper_ci)."
        )
    if overdispersion is not None and method == "exact":
        raise DataError(
            "over-dispersed limits are normal approximations (Spiegelhalter 2005), not exact ones.\n"
            "Fix: drop method='exact' (or pass method='normal') when overdispersion is set."
        )
    if method == "phe" and overdispersion is not None:
        method = "normal"
    if method == "phe" and target is not None:
        raise DataError("method 'phe' always uses the data's average as baseline.\nFix: use method='exact' for a target.")
    keys = ru.group_keys(frame, by)
    pts, lims, disp = [], [], []
    for part in ru.partitions(frame, keys):
        p, lm, d = _funnel_group(part, keys, measure, float(multiplier), polarity, method, overdispersion,
                                 target, float(years_of_data), winsorize, points)
        pts.append(p)
        lims.append(lm)
        disp.append(d)
    return Funnel(pl.concat(pts, how="vertical"), pl.concat(lims, how="vertical"),
                  pl.concat(disp, how="vertical"))


def _unit_inputs(frame: pl.DataFrame, measure: str, multiplier: float, years: float) -> dict[str, Any]:
    """y (natural scale), precision rho, variance function, and PHE inputs per unit."""
    if measure == "proportion":
        x, n = _counts(frame, "numerator", "denominator", "proportion", None, None, None)
        return {"stat": "proportion", "x": x, "n": n, "y": x / n, "rho": n, "x_axis": n, "family": "binomial"}
    if measure == "ratio":
        x, n = _counts(frame, "numerator", "denominator", "ratio", None, None, None)
        return {"stat": "ratio", "x": x, "n": n, "y": x / n, "rho": n, "x_axis": n, "family": "poisson"}
    if measure in ("rate", "dsr"):
        rate_type = "dsr" if measure == "dsr" else "crude"
        work = frame
        if measure == "rate" and "denominator" in frame.columns:
            ru.numeric(frame, "denominator", what=" (a crude rate needs its population)")
            # crude rate: numerator / denominator is the rate, whatever `value` says
            work = frame.with_columns(
                (pl.col("numerator") / pl.col("denominator") * multiplier).alias("_rate")
            )
        else:
            ru.require_columns(frame, ["numerator", "value"], "dsr funnels need events (numerator) and value")
            work = frame.with_columns(pl.col("value").alias("_rate"))
        den = "denominator" if "denominator" in frame.columns else None
        x, n = _counts(work, "numerator", den, "rate", "_rate", rate_type, multiplier)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = x / n
        if measure == "dsr":
            y = ru.numeric(frame, "value", allow_null=True) / multiplier
        return {"stat": "rate", "rate_type": rate_type, "x": x, "n": n, "y": y, "rho": n,
                "x_axis": n / years, "family": "poisson", "work": work}
    # normal measures: value with a standard error
    ru.require_columns(frame, ["value"], "funnels of means and scores need a value column")
    y = ru.numeric(frame, "value")
    if "se" in frame.columns:
        se = ru.numeric(frame, "se")
    elif "lower_ci" in frame.columns and "upper_ci" in frame.columns:
        lo, hi = ru.numeric(frame, "lower_ci"), ru.numeric(frame, "upper_ci")
        se = (hi - lo) / (2 * _Z[0.95])
    else:
        raise SchemaError(
            problem("se", "is missing (a normal funnel needs each unit's standard error)",
                    fix="Add an 'se' column, or lower_ci/upper_ci (95%) columns.")
        )
    ru.check(frame, "se", ~(se > 0), "is not positive", "Standard errors must be above zero.")
    # natural scale inside (value / multiplier); the x axis stays 1 / se^2 in value units
    return {"stat": "normal", "y": y / multiplier, "se": se / multiplier, "rho": (multiplier / se) ** 2,
            "x_axis": 1 / se**2, "x_to_rho": multiplier**2, "family": "normal"}


def _funnel_group(frame, keys, measure, multiplier, polarity, method, overdispersion, target, years,
                  winsorize, n_points):
    u = _unit_inputs(frame, measure, multiplier, years)
    stat = u["stat"]
    y, rho = u["y"], u["rho"]
    # baseline on the natural scale
    if target is not None:
        theta = target / multiplier
    elif stat == "ratio":
        theta = 1.0
    elif stat in ("proportion", "rate"):
        theta = u["x"].sum() / np.nansum(u["n"])
    else:
        w = 1 / u["se"] ** 2
        theta = float((w * y).sum() / w.sum())
    # z-scores under the baseline (s^2 = V(theta)/rho)
    if stat == "proportion":
        var_fn = lambda r: theta * (1 - theta) / r  # noqa: E731
    elif stat in ("ratio", "rate"):
        var_fn = lambda r: theta / r  # noqa: E731
    else:
        var_fn = None
    s = np.sqrt(var_fn(rho)) if var_fn else u["se"]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (y - theta) / s
    usable = np.isfinite(z)
    if stat == "rate" and u.get("rate_type") == "dsr":
        usable &= u["x"] >= 10
    disp = winsorised_dispersion(z[usable], s[usable], winsorize)
    phi, tau2 = disp["phi"], disp["tau2"]

    def normal_limits(rho_, s_):
        out = {}
        for level in _LEVELS:
            zz = _Z[level]
            if overdispersion == "multiplicative":
                half = zz * s_ * math.sqrt(max(phi, 1.0))
            elif overdispersion == "additive":
                half = zz * np.sqrt(s_**2 + tau2)
            else:
                half = zz * s_
            lo_, hi_ = theta - half, theta + half
            if stat in ("proportion", "ratio", "rate"):
                lo_ = np.maximum(lo_, 0.0)
            if stat == "proportion":
                hi_ = np.minimum(hi_, 1.0)
            out[f"lower_{_SUFFIX[level]}"] = lo_
            out[f"upper_{_SUFFIX[level]}"] = hi_
        return out

    def unit_limits(rho_):
        if method == "normal":
            s_ = np.sqrt(var_fn(rho_)) if var_fn else None
            return normal_limits(rho_, s_)
        if method == "phe" and stat == "proportion":
            out = {}
            for level, p in ((0.95, 0.975), (0.998, 0.999)):
                out[f"lower_{_SUFFIX[level]}"] = np.maximum(0, sigma_adjustment(p, rho_, theta, "low", 1))
                out[f"upper_{_SUFFIX[level]}"] = np.minimum(1, sigma_adjustment(p, rho_, theta, "high", 1))
            return out
        if u["family"] == "binomial":
            return exact_funnel_limits(rho_, theta, family="binomial")
        # Poisson: limits on the O / rho scale with mean theta * rho
        lim = exact_funnel_limits(rho_ * theta, 1.0, family="poisson")
        return {k: v * theta for k, v in lim.items()}

    limits = normal_limits(rho, u["se"]) if stat == "normal" else unit_limits(rho)
    # positions and labels
    pos = {}
    for level in _LEVELS:
        sfx = _SUFFIX[level]
        lo_, hi_ = limits[f"lower_{sfx}"], limits[f"upper_{sfx}"]
        pos[sfx] = np.where(y > hi_, "above", np.where(y < lo_, "below", "within"))
    if method == "phe":
        labels = _phe_labels(stat, u["x"], u["n"], u.get("rate_type"))
        hi998 = labels == "High (0.001)"
        hi95 = hi998 | (labels == "High (0.025)")
        lo998 = labels == "Low (0.001)"
        lo95 = lo998 | (labels == "Low (0.025)")
        pos["998"] = np.where(hi998, "above", np.where(lo998, "below", "within"))
        pos["95"] = np.where(hi95, "above", np.where(lo95, "below", "within"))
    else:
        labels = np.where(pos["998"] == "above", "High (0.001)",
                 np.where(pos["95"] == "above", "High (0.025)",
                 np.where(pos["998"] == "below", "Low (0.001)",
                 np.where(pos["95"] == "below", "Low (0.025)", "Not significant"))))
    not_applicable = ~np.isfinite(y)
    if method != "phe":
        labels = np.where(not_applicable, None, labels)
    if stat == "rate" and u.get("rate_type") == "dsr":
        not_applicable |= u["x"] < 10
        labels = np.where(u["x"] < 10, SIGNIFICANCE_LEVELS[5], labels)
    comparison = _comparison(pos["95"], pos["998"], polarity)
    if overdispersion == "multiplicative":
        z_adj = z / math.sqrt(max(phi, 1.0))
    elif overdispersion == "additive":
        z_adj = (y - theta) / np.sqrt(s**2 + tau2)
    else:
        z_adj = z
    mult = multiplier
    value = y * mult
    new = {
        "value": value,
        "precision": u["x_axis"],
        "baseline": np.full(y.shape, theta * mult),
        "z": z,
        "z_adjusted": z_adj,
        **{k: v * mult for k, v in limits.items()},
    }
    out = frame.drop([c for c in (*new, "position_95", "position_998", "significance", "comparison")
                      if c in frame.columns])
    pos_enum = pl.Enum(POSITION_LEVELS)
    out = out.with_columns(
        *[pl.Series(k, np.asarray(v, dtype=np.float64)).fill_nan(None) for k, v in new.items()],
        pl.Series("position_95", np.where(not_applicable, None, pos["95"]), dtype=pos_enum),
        pl.Series("position_998", np.where(not_applicable, None, pos["998"]), dtype=pos_enum),
        pl.Series("significance", labels, dtype=pl.Enum(SIGNIFICANCE_LEVELS)),
        pl.Series("comparison", np.where(not_applicable, None, comparison), dtype=pl.Enum(COMPARISON_LEVELS)),
    )
    # curves
    group_vals = {k: frame.get_column(k)[0] for k in keys}
    curves = _curves(method, stat, u, theta, mult, years, limits_fn=unit_limits, normal_fn=normal_limits,
                     n_points=n_points)
    curves = curves.with_columns(*[pl.lit(v, dtype=frame.schema[k]).alias(k) for k, v in group_vals.items()]).select(
        [*keys, "limit", "precision", "value"])
    disp_row = pl.DataFrame({
        **{k: pl.Series(k, [v], dtype=frame.schema[k]) for k, v in group_vals.items()},
        "method": [method],
        "overdispersion": [overdispersion or "none"],
        "baseline": [theta * mult],
        "n_units": [disp["n_units"]],
        "phi": [disp["phi"]],
        "tau2": [disp["tau2"] * mult * mult],
        "chi2_p": [disp["chi2_p"]],
    })
    return out, curves, disp_row


def _comparison(p95: np.ndarray, p998: np.ndarray, polarity: str) -> np.ndarray:
    if polarity == "higher_is_better":
        up, down = "better", "worse"
    elif polarity == "lower_is_better":
        up, down = "worse", "better"
    else:
        up, down = "higher", "lower"
    return np.where(p998 == "above", f"{up} (99.8%)",
           np.where(p95 == "above", f"{up} (95%)",
           np.where(p998 == "below", f"{down} (99.8%)",
           np.where(p95 == "below", f"{down} (95%)", "similar"))))


def _curves(method, stat, u, theta, mult, years, *, limits_fn, normal_fn, n_points):
    """Long-form curve points for charting."""
    names = ["lower_998", "lower_95", "upper_95", "upper_998"]
    if method == "phe":
        if stat == "proportion":
            fr = pl.DataFrame({"numerator": u["x"], "denominator": u["n"]})
            # PHE clamps to [0, 100]; computing as a percentage and rescaling clamps to [0, mult]
            t = funnel_limits(fr, statistic="proportion", multiplier=100, type="standard")
            xs = {nm: t["population"].to_numpy() for nm in names}
            ys = {nm: t[nm].to_numpy() * mult / 100 for nm in names}
            base_x = t["population"].to_numpy()
        elif stat == "ratio":
            fr = pl.DataFrame({"numerator": u["x"], "denominator": u["n"]})
            t = funnel_limits(fr, statistic="ratio", multiplier=mult, ratio_type="isr", type="standard")
            xs = {nm: t[f"{nm}_expected_events"].to_numpy() for nm in names}
            ys = {nm: t[nm].to_numpy() / 100 * mult for nm in names}
            base_x = np.unique(np.concatenate(list(xs.values())))
        else:
            w = u["work"]
            t = funnel_limits(w, statistic="rate", multiplier=mult, numerator="numerator", rate="_rate",
                              denominator="denominator" if "denominator" in w.columns else None,
                              rate_type=u["rate_type"], years_of_data=years, type="standard")
            xs = {nm: t[f"{nm}_population_1_year"].to_numpy() for nm in names}
            ys = {nm: t[nm].to_numpy() for nm in names}
            base_x = np.unique(np.concatenate(list(xs.values())))
        frames = [pl.DataFrame({"limit": nm, "precision": xs[nm], "value": ys[nm]}) for nm in names]
        frames.insert(2, pl.DataFrame({"limit": "baseline", "precision": np.sort(base_x),
                                       "value": np.full(base_x.size, theta * mult)}))
        return pl.concat(frames, how="vertical").with_columns(pl.col("limit").cast(pl.Enum(
            ["lower_998", "lower_95", "baseline", "upper_95", "upper_998"])))
    x_axis = u["x_axis"][np.isfinite(u["x_axis"])]
    lo = float(x_axis.min()) * 0.9 if x_axis.size else 1.0
    hi = float(x_axis.max()) * 1.1 if x_axis.size else 10.0
    grid = np.geomspace(max(lo, 1e-12), max(hi, lo * 1.01, 1e-11), n_points)
    if stat == "proportion" and method == "exact":
        grid = np.unique(np.maximum(np.round(grid), 1.0))
    rho = grid * u.get("x_to_rho", years if stat == "rate" else 1.0)
    if stat == "normal":
        lim = normal_fn(rho, 1 / np.sqrt(rho))
    else:
        lim = limits_fn(rho)
    frames = [pl.DataFrame({"limit": nm, "precision": grid, "value": lim[nm] * mult}) for nm in names]
    frames.insert(2, pl.DataFrame({"limit": "baseline", "precision": grid, "value": np.full(grid.size, theta * mult)}))
    return pl.concat(frames, how="vertical").with_columns(pl.col("limit").cast(pl.Enum(
        ["lower_998", "lower_95", "baseline", "upper_95", "upper_998"])))
