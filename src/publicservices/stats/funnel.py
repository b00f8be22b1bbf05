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
    "exact_tail_positions",
    "OVERDISPERSION_POLICIES",
    "sigma_adjustment",
    "poisson_funnel",
    "winsorised_dispersion",
    "winsorised_second_moment",
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
#: what ``overdispersion=`` accepts: "auto" tests phi and uses additive limits only when it
#: is significant; "none" allows for chance alone; the other two always widen the limits.
OVERDISPERSION_POLICIES: tuple[str, ...] = ("auto", "none", "additive", "multiplicative")
#: significance level of the test of phi = 1 that "auto" uses (Spiegelhalter 2005)
OVERDISPERSION_ALPHA = 0.05
#: counts above this are refused: beyond about 9e15 (2^53) adding one no longer changes a
#: float, so the exact quantile searches could not step; no real count comes near it.
MAX_COUNT = 1e15

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


def _check_array(values: np.ndarray, name: str) -> None:
    """Counts passed straight to a public function: finite where given and at most MAX_COUNT."""
    with np.errstate(invalid="ignore"):
        big = np.abs(values) > MAX_COUNT
    if np.any(big):
        raise DataError(
            f"{name} has {int(big.sum()):,} value(s) above {MAX_COUNT:.0e} (the first at position "
            f"{int(np.flatnonzero(big.ravel())[0])}), too large to be a count.\n"
            "Fix: check the units; counts above 1e15 cannot be handled exactly."
        )


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
    _check_array(obs, "obs")
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
    ru.check(frame, column, big, f"is above {MAX_COUNT:.0e}{what}, too large to be a count of people or events",
             "Check the column holds counts (not a currency amount or an identifier), and its units; "
             "counts above 1e15 cannot be handled exactly.")


def _counts(frame: pl.DataFrame, numerator: str, denominator: str | None, statistic: str,
            rate: str | None, rate_type: str | None, multiplier: float | None,
            rate_label: str | None = None) -> tuple[np.ndarray, np.ndarray]:
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
        ru.check(frame, rate_label or rate, (~zero) & ~np.isfinite(r), "is missing",
                 "for rates, rates must be provided for all records, or a denominator must be "
                 "provided if the rate is zero.")
        ru.check(frame, rate_label or rate, (~zero) & (r <= 0), "is zero or negative where events are above zero",
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
        _check_size(frame, numerator, x)
        _check_size(frame, rate_label or rate, derived,
                    " once turned into a population (multiplier x events / rate)")
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
    x, n = _counts(frame, numerator, denominator, statistic, rate, rate_type, multiplier)
    if x.size == 0:
        raise DataError("the frame has no rows.\nFix: pass at least one unit.")
    with np.errstate(divide="ignore", invalid="ignore"):
        av = x.sum() / np.nansum(n)
    usable = np.isfinite(n)
    if not usable.any() or not math.isfinite(av):
        raise DataError(
            problem(numerator, "gives no usable average: no row has both events and a finite denominator",
                    rows=ru.row_labels(frame, ~usable), total=int((~usable).sum()),
                    fix="funnel limits need at least one row with events (dsr rows with 0 events carry no "
                        "denominator); check the numerator and rate columns.")
        )
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
    _check_size(frame, numerator, x)
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


def _interpolated_quantile(q: np.ndarray, size: np.ndarray, theta: float, family: str,
                           upper: np.ndarray | None = None) -> np.ndarray:
    """Spiegelhalter (2005) Appendix A.1: (r_q - alpha) / size, with r_q the q-quantile of the
    count and alpha = (F(r_q) - q) / (F(r_q) - F(r_q - 1)) smoothing the discrete steps.

    Where ``upper`` is true the same construction is applied to the upper tail
    P(X >= r) = 1 - F(r - 1), which works out as (r_q + 1 - alpha) / size: the smallest whole
    count above that limit is the smallest whose one-sided exact p-value P(X >= x) is below
    1 - q, so a unit lies above a drawn upper limit exactly when the exact test says so.
    (A.1 applied to the CDF at q = 0.975 sits one count lower and flags units at the limit's
    quantile, up to 2.5 times the nominal rate at high baselines, and every unit at a 100%
    target.) The lower tail needs no change: below (r_q - alpha) / size means P(X <= x) < q.
    """
    from scipy.special import ndtri

    if family == "binomial":
        mean, var = size * theta, size * theta * (1 - theta)
        cdf = lambda r, idx: _binom_cdf(r, size[idx], theta)  # noqa: E731
        top = size
    else:
        mean = var = size * theta
        cdf = lambda r, idx: _pois_cdf(r, mean[idx])  # noqa: E731
        top = np.full(size.shape, np.inf)
    _check_array(mean, "the expected count (precision x baseline)")
    sd = np.sqrt(var)
    z = ndtri(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.where(sd > 0, (1 - 2 * theta) / sd if family == "binomial" else 1 / sd, 0.0)
    # Cornish-Fisher start, then step to the smallest r with F(r) >= q (1-3 steps; every count
    # is at most MAX_COUNT < 2^53, so each step changes r and the searches end)
    r = np.clip(np.floor(mean + sd * (z + skew * (z * z - 1) / 6)), 0, top)
    every = np.arange(r.size)
    f = cdf(r, every)
    active = np.flatnonzero(f < q)
    steps = 0
    while active.size:
        r[active] += 1
        f[active] = cdf(r[active], active)
        active = active[f[active] < q[active]]
        steps = _count_step(steps)
    f_prev = cdf(r - 1, every)
    active = np.flatnonzero(f_prev >= q)
    while active.size:
        r[active] -= 1
        f[active] = f_prev[active]
        f_prev[active] = cdf(r[active] - 1, active)
        active = active[f_prev[active] >= q[active]]
        steps = _count_step(steps)
    alpha = (f - q) / (f - f_prev)
    if upper is not None:
        r = r + upper
    return (r - alpha) / size


def _count_step(steps: int, limit: int = 100_000) -> int:
    """A guard: the quantile searches take a handful of steps; never loop without end."""
    if steps >= limit:  # pragma: no cover - unreachable for counts below MAX_COUNT
        raise DataError(
            "the exact funnel limits did not converge (the counts are too large or not finite).\n"
            "Fix: check the numerator and denominator columns hold counts."
        )
    return steps + 1


def exact_funnel_limits(
    precision: Any,
    baseline: float,
    *,
    family: Literal["binomial", "poisson"],
    levels: Sequence[float] = _LEVELS,
) -> dict[str, np.ndarray]:
    """Exact binomial or Poisson control limits with interpolation, at any precision.

    Spiegelhalter (2005) Stat Med 24:1185, Appendix A.1, applied to each tail: for a unit of
    size n (binomial) or expected count E (Poisson; limits are then on the ratio scale O/E),
    with r_q the q-quantile of the count under the baseline and
    alpha = (F(r_q) - q) / (F(r_q) - F(r_q - 1)), the lower limit (q = (1 - level) / 2) is
    (r_q - alpha) / size and the upper limit (q = (1 + level) / 2), the same interpolation
    on the upper tail P(X >= r), is (r_q + 1 - alpha) / size. A whole count lies outside a
    limit exactly when its one-sided exact p-value is below (1 - level) / 2, so the curves
    drawn and the labels of :func:`funnel` agree. Binomial limits are kept within [0, 1],
    Poisson limits at or above 0.

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
    >>> float(exact_funnel_limits([20], 1.0, family="binomial")["upper_998"][0])  # nothing is above 100%
    1.0
    """
    prec = np.asarray(precision, dtype=np.float64)
    shape = prec.shape
    flat = prec.ravel()
    _check_array(flat, "precision")
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
    upper = np.repeat(np.asarray(qs) > 0.5, flat.size).astype(np.float64)
    size = np.tile(flat, len(qs))
    lims = np.full(size.shape, np.nan)
    valid = np.isfinite(size) & (size > 0)  # units without a usable precision get no limits
    if valid.any():
        lims[valid] = np.maximum(
            _interpolated_quantile(q[valid], size[valid], float(baseline), family, upper[valid]), 0.0)
    if family == "binomial":
        lims = np.minimum(lims, 1.0)
    return {nm: lims[i * flat.size:(i + 1) * flat.size].reshape(shape) for i, nm in enumerate(names)}


def exact_tail_positions(
    count: Any,
    precision: Any,
    baseline: float,
    *,
    family: Literal["binomial", "poisson"],
    levels: Sequence[float] = _LEVELS,
) -> dict[str, np.ndarray]:
    """Where each unit lies by the one-sided exact tests: ``below``, ``within`` or ``above``.

    A unit with count x is above the ``level`` limits when P(X >= x) < (1 - level) / 2 and
    below them when P(X <= x) < (1 - level) / 2, with X ~ Binomial(n, baseline) or
    Poisson(E x baseline) (the exact test behind Spiegelhalter's (2005) exact limits; the
    interpolated limits of :func:`exact_funnel_limits` agree for whole counts). Discrete tests
    are conservative, so under the baseline at most (1 - level) of units are flagged, whatever
    n and the baseline; a unit at a 100% target is never above it.

    Tail probabilities by the regularised incomplete beta (binomial: P(X >= x) =
    I_p(x, n - x + 1), P(X <= x) = I_{1-p}(n - x, x + 1)) and gamma functions (Poisson:
    P(X >= x) = P(x, mu), P(X <= x) = Q(x + 1, mu)).

    Parameters:
        count: observed counts x.
        precision: denominators n (binomial) or expected counts E (Poisson).
        baseline: proportion (binomial) or rate per unit of precision (Poisson; 1 for ratios).
        family: ``"binomial"`` or ``"poisson"``.
        levels: two-sided levels; keys ``"95"``, ``"998"``.

    Returns ``{"95": ..., "998": ...}``: Polars Enum series (below/within/above), null where
    the count or precision is missing.

    >>> exact_tail_positions([20, 19, 14], [20, 20, 20], 0.95, family="binomial")["998"].to_list()
    ['within', 'within', 'below']
    """
    from scipy.special import betainc, gammainc, gammaincc

    x = np.asarray(count, dtype=np.float64)
    n = np.broadcast_to(np.asarray(precision, dtype=np.float64), x.shape)
    _check_array(x, "count")
    _check_array(n, "precision")
    theta = float(baseline)
    with np.errstate(invalid="ignore", divide="ignore"):
        if family == "binomial":
            tiny = 1e-300  # betainc needs positive shapes; the edge cases are set explicitly
            p_hi = np.where(x <= 0, 1.0, np.where(x > n, 0.0, betainc(np.maximum(x, tiny), np.maximum(n - x + 1, tiny), theta)))
            p_lo = np.where(x >= n, 1.0, np.where(x < 0, 0.0, betainc(np.maximum(n - x, tiny), x + 1, 1 - theta)))
        else:
            mu = n * theta
            p_hi = np.where(x <= 0, 1.0, gammainc(np.maximum(x, 1e-300), mu))
            p_lo = np.where(x < 0, 0.0, gammaincc(x + 1, mu))
    unusable = ~(np.isfinite(x) & np.isfinite(n) & (n > 0))
    out = {}
    for level in levels:
        a = (1 - level) / 2
        pos = np.where(p_hi < a, "above", np.where(p_lo < a, "below", "within"))
        key = _SUFFIX.get(level, f"{level * 100:g}".replace(".", "_"))
        out[key] = _enum_series(f"position_{key}", pos, unusable, POSITION_LEVELS)
    return out


def winsorised_second_moment(winsorize: float) -> float:
    """E[Z_w^2] for a standard normal Z Winsorised at its ``winsorize`` and ``1 - winsorize``
    quantiles: (1 - 2q) - 2 z_q phi(z_q) + 2 q z_q^2 with z_q = Phi^-1(1 - q); 1 without
    Winsorising. Spiegelhalter's Winsorised phi is divided by it, so that phi is 1 on average
    when units differ by chance alone (at q = 0.1 the raw estimate is about 0.68 then).

    >>> round(winsorised_second_moment(0.1), 4), winsorised_second_moment(0.0)
    (0.6787, 1.0)
    """
    from scipy.special import ndtri

    q = float(winsorize)
    if q <= 0:
        return 1.0
    if not q < 0.5:
        raise DataError(f"winsorize must be at least 0 and below 0.5, not {winsorize!r}.\nFix: use 0.1 (the default) or 0.")
    zq = float(ndtri(1 - q))
    density = math.exp(-zq * zq / 2) / math.sqrt(2 * math.pi)
    return (1 - 2 * q) - 2 * zq * density + 2 * q * zq * zq


def winsorised_dispersion(z: Any, se: Any, winsorize: float = 0.1, *, df: int | None = None) -> dict[str, float]:
    """Over-dispersion from z-scores: Spiegelhalter's robust phi and tau^2, and the test of phi = 1.

    * ``phi_winsorised``: the mean of the squared z-scores after Winsorising them at the
      ``winsorize`` and ``1 - winsorize`` quantiles (the lowest 10% set to the 10th percentile,
      the highest 10% to the 90th; quantiles by linear interpolation, R type 7) -- Spiegelhalter
      (2005), robust to a few extreme units.
    * ``phi``: that estimate divided by :func:`winsorised_second_moment` (0.679 at 10%), the
      value it has on average when units differ by chance alone, so phi is 1 then. Without the
      rescaling, additive limits from it flag about 11% of units at the 95% level when areas
      differ by normal random effects; with it, 5-6% (simulations in the methodology page and
      ``tests/test_funnel_null.py``).
    * ``tau2`` = (I phi - (I - 1)) / (sum w - sum w^2 / sum w), w = 1 / se^2, floored at 0
      (DerSimonian-Laird form with the robust phi).
    * the test: without over-dispersion the Pearson statistic sum z^2 (all units, not
      Winsorised) is chi^2 on ``df`` degrees of freedom -- I - 1 when the baseline was estimated
      from the same units (the default), I for an external target; ``chi2`` and ``chi2_p`` =
      P(chi^2_df > chi2). (The Winsorised sum is not chi^2: tested as one it almost never finds
      over-dispersion.)

    Reference: Spiegelhalter DJ (2005) Qual Saf Health Care 14:347, and Stat Med 24:1185 s.6;
    DerSimonian R, Laird N (1986) Control Clin Trials 7:177.

    Parameters:
        z: z-scores (y - theta0) / se under the baseline.
        se: the standard errors used for those z-scores.
        winsorize: fraction Winsorised in each tail (0 to switch off; then phi = mean z^2).
        df: degrees of freedom of the test (default I - 1).

    Returns ``n_units``, ``phi``, ``phi_winsorised``, ``tau2``, ``chi2``, ``chi2_df`` and
    ``chi2_p`` (NaN when there are too few units: none for phi, fewer than 2 for the default test).

    >>> d = winsorised_dispersion([-3.0, -1.0, 0.0, 1.0, 3.0], [1.0] * 5, winsorize=0.0)
    >>> d["phi"], d["tau2"], d["chi2"], d["chi2_df"]
    (4.0, 4.0, 20.0, 4)
    """
    from scipy.special import chdtrc

    z = np.asarray(z, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    i = z.size
    dof = i - 1 if df is None else int(df)
    scale = winsorised_second_moment(winsorize)
    if i == 0:
        nan = float("nan")
        return {"n_units": 0, "phi": nan, "phi_winsorised": nan, "tau2": nan, "chi2": nan, "chi2_df": dof,
                "chi2_p": nan}
    chi2 = float(np.sum(z * z))
    zw = z
    if winsorize > 0:
        lo, hi = np.quantile(z, [winsorize, 1 - winsorize])
        zw = np.clip(z, lo, hi)
    raw = float(np.mean(zw * zw))
    phi = raw / scale
    w = 1 / se**2
    denom = w.sum() - (w * w).sum() / w.sum()
    tau2 = max(0.0, (i * phi - (i - 1)) / denom) if denom > 0 else 0.0
    p = float(chdtrc(dof, chi2)) if dof >= 1 else float("nan")
    return {"n_units": i, "phi": phi, "phi_winsorised": raw, "tau2": float(tau2), "chi2": chi2, "chi2_df": dof,
            "chi2_p": p}


# --------------------------------------------------------------------------------------
# funnel(): the frame-level function
# --------------------------------------------------------------------------------------
class Funnel(NamedTuple):
    """Result of :func:`funnel`: ``points`` (one row per unit), ``limits`` (long form, one row
    per curve point: ``limit`` in lower_998/lower_95/baseline/upper_95/upper_998, ``precision``,
    ``value``) and ``dispersion`` (one row per group: the limits used and why -- ``method``,
    ``overdispersion`` (applied), ``overdispersion_policy`` (asked for), ``phi``, ``chi2_df``,
    ``chi2_p``, ``tau2``, ``overdispersion_reason``). The points' positions and comparisons
    always come from the limits in ``limits``."""

    points: pl.DataFrame
    limits: pl.DataFrame
    dispersion: pl.DataFrame


_Z = {0.95: 1.959963984540054, 0.998: 3.090232306167813}


def _policy(overdispersion: str | None) -> str:
    policy = "none" if overdispersion is None else overdispersion
    if policy not in OVERDISPERSION_POLICIES:
        raise DataError(
            f"overdispersion must be one of {', '.join(repr(p) for p in OVERDISPERSION_POLICIES)}, "
            f"not {overdispersion!r}.\n"
            "Fix: 'auto' (test for variation beyond chance and allow for it when significant), 'none', "
            "'additive' or 'multiplicative'."
        )
    return policy


def funnel(
    frame: Any,
    indicator: Indicator | str | None = None,
    overdispersion: Literal["auto", "none", "multiplicative", "additive"] | None = None,
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

    * ``"phe"`` (default for proportion, ratio, rate, dsr without a target):
      curves from :func:`funnel_limits`, labels from :func:`funnel_significance`, positions
      from the labels. Per-unit limit columns: Wilson inversion for proportions; exact
      interpolated Poisson limits for ratios and rates (PHE labels those with Byar's interval,
      so a unit within a count of a limit can differ).
    * ``"exact"`` (default with ``target=``): exact binomial / Poisson limits with
      interpolation (:func:`exact_funnel_limits`), baseline sum(O)/sum(n) (ratios: 1) or
      ``target``; each unit is placed by the one-sided exact tests
      (:func:`exact_tail_positions`: above when P(X >= x) < 0.025 (95%) or 0.001 (99.8%)),
      which agree with the drawn limits for whole counts and keep the false-flag rate under the
      baseline at or below nominal for any n and baseline; nothing is above a 100% target.
    * ``"normal"``: theta0 +/- z se; the only method for ``mean`` and ``score`` measures,
      which need an ``se`` column (or ``lower_ci``/``upper_ci``, read as 95% limits).

    ``overdispersion`` (Spiegelhalter 2005, s.6; QSHC 14:347): z_i = (y_i - theta0)/s_i with
    s_i^2 = V(theta0)/rho_i, 10% Winsorised (``winsorize``); phi = mean z^2; I phi is compared
    with chi^2 on I - 1 degrees of freedom (I with a ``target``, or for ratios against 1).

    * ``None`` / ``"none"`` (default here): limits for chance alone (the method above).
    * ``"auto"`` (the default of :func:`publicservices.funnel_check` and the published site):
      in each group, when the test is significant at 5% the additive random-effects limits
      below, otherwise no adjustment (the method above). ``method`` then applies to the
      unadjusted groups only.
    * ``"additive"``: theta0 +/- z sqrt(s^2 + tau^2), tau^2 = (I phi - (I-1)) / (sum w -
      sum w^2 / sum w), w = 1/s^2 (normal limits).
    * ``"multiplicative"``: theta0 +/- z sqrt(phi) s (only when phi > 1; normal limits).

    Parameters:
        frame: a Dataset or a values frame (numerator/denominator for counts; value and
            se or lower_ci/upper_ci otherwise).
        indicator: the Indicator (or its id, looked up in ``indicators`` / the Dataset).
        overdispersion: ``"auto"``, ``"none"`` (or None), ``"additive"`` or ``"multiplicative"``.
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
    (PHE labels) and ``comparison`` (better/similar/worse by polarity, with the level), all
    from the limits in ``limits``. ``dispersion`` says, per group, which limits were used
    and why: ``method``, ``overdispersion`` (``none``/``additive``/``multiplicative``: the
    adjustment applied), ``overdispersion_policy`` (asked for), ``baseline``, ``n_units``,
    ``phi``, ``chi2_df``, ``chi2_p``, ``overdispersed`` (the test significant at 5%),
    ``tau2`` (indicator scale, x multiplier^2) and ``overdispersion_reason`` (a sentence).

    >>> from publicservices.indicators import Indicator
    >>> ind = Indicator(id="health.screen", title="Screening", sector="health", measure="proportion",
    ...                 multiplier=100, polarity="higher_is_better")
    >>> df = pl.DataFrame({"area_code": ["A", "B", "C", "D"], "numerator": [700.0, 820.0, 410.0, 900.0],
    ...                    "denominator": [1000.0, 1000.0, 500.0, 1100.0]})
    >>> f = funnel(df, ind)
    >>> f.points["comparison"].to_list()
    ['worse (99.8%)', 'better (95%)', 'similar', 'better (95%)']
    >>> wider = funnel(df, ind, "auto")  # chi^2 = 61 on 3 degrees of freedom: areas differ beyond chance
    >>> wider.dispersion["overdispersion"].to_list(), wider.points["comparison"].to_list()
    (['additive'], ['similar', 'similar', 'similar', 'similar'])
    """
    frame, ind = ru.resolve(frame, indicator, indicators)
    measure = measure or (ind.measure if ind else None)
    if measure is None:
        raise SchemaError("funnel needs an indicator or measure=...\nFix: pass the Indicator, or measure='proportion'.")
    if multiplier is None:
        multiplier = ind.multiplier if ind else 1.0
    polarity = polarity or (ind.polarity if ind else "no_judgement")
    policy = _policy(overdispersion)
    widened = policy in ("multiplicative", "additive")
    counted = measure in ("proportion", "ratio", "rate", "dsr")
    if method is None:
        method = "phe" if counted and not widened and target is None else "normal"
        if counted and not widened and target is not None:
            method = "exact"
    if method not in ("phe", "exact", "normal"):
        raise DataError(f"method must be 'phe', 'exact' or 'normal', not {method!r}.\nFix: choose one.")
    if method in ("phe", "exact") and not counted:
        raise DataError(
            f"method {method!r} needs counts, but the measure is {measure!r}.\n"
            "Fix: use method='normal' with an se column (or lower_ci/upper_ci)."
        )
    if widened and method == "exact":
        raise DataError(
            "over-dispersed limits are normal approximations (Spiegelhalter 2005), not exact ones.\n"
            "Fix: drop method='exact' (or pass method='normal') when overdispersion is set."
        )
    if method == "phe" and widened:
        method = "normal"
    if method == "phe" and target is not None:
        raise DataError("method 'phe' always uses the data's average as baseline.\nFix: use method='exact' for a target.")
    if frame.height == 0:
        raise DataError(problem(None, "the frame has no rows, so there is no funnel to draw",
                                fix="Pass the values of at least one unit (check any filter applied before)."))
    keys = ru.group_keys(frame, by)
    pts, lims, disp = [], [], []
    for part in ru.partitions(frame, keys):
        p, lm, d = _funnel_group(part, keys, measure, float(multiplier), polarity, method, policy,
                                 target, float(years_of_data), winsorize, points)
        pts.append(p)
        lims.append(lm)
        disp.append(d)
    return Funnel(pl.concat(pts, how="vertical"), pl.concat(lims, how="vertical"),
                  pl.concat(disp, how="vertical"))


def _enum_series(name: str, values: np.ndarray, null: np.ndarray, levels: Sequence[str]) -> pl.Series:
    """An Enum column from label strings, null where ``null`` is true.

    Never through a NumPy object array: Polars guesses an object column's type from its first
    element, so a leading None (a dsr unit with under 10 events first) would fail the cast.
    """
    null = np.asarray(null, dtype=bool)
    text = np.where(null, levels[0], np.asarray(values, dtype=object)).astype(str)
    series = pl.Series(name, text, dtype=pl.String).cast(pl.Enum(list(levels)))
    return pl.select(pl.when(pl.Series(~null)).then(series).otherwise(None).alias(name)).to_series()


def _decide(policy: str, disp: dict[str, Any]) -> tuple[str, str]:
    """The adjustment applied in one group, and the reason in plain words."""
    phi, p, df, n, tau2 = disp["phi"], disp["chi2_p"], disp["chi2_df"], disp["n_units"], disp["tau2"]
    phi_text = f"φ = {phi:.3g}" if math.isfinite(phi) else ""
    p_text = (f"p {'< 0.001' if p < 0.001 else f'= {p:.3f}'} on {df} degrees of freedom" if math.isfinite(p) else "")
    test = ", ".join(t for t in (phi_text, p_text) if t)
    beyond = "the limits allow for variation between areas beyond chance"
    significant = math.isfinite(p) and p < OVERDISPERSION_ALPHA
    if policy == "auto":
        if not math.isfinite(p):
            if n == 0:
                return "none", ("No area's value can show variation beyond chance (none has a usable count, or "
                                "the average leaves no room for chance), so the limits allow for chance alone.")
            return "none", (f"Too few areas ({n}) to test for variation beyond chance, so the limits allow for "
                            "chance alone.")
        if significant and tau2 > 0:
            return "additive", (f"Areas vary more than chance alone would make them ({test}), so {beyond} "
                                "(additive random-effects limits).")
        if significant:
            return "none", (f"Areas vary more than chance would make them ({p_text}) only through a few extreme "
                            f"areas: with those down-weighted ({phi_text}) they vary no more than chance, so the "
                            "limits allow for chance alone.")
        return "none", (f"Areas vary no more than chance would make them ({test}), so the limits allow for "
                        "chance alone.")
    if policy == "additive":
        return "additive", f"As chosen, {beyond} (additive random-effects limits{', ' + test if test else ''})."
    if policy == "multiplicative":
        if math.isfinite(phi) and phi > 1:
            return "multiplicative", (f"As chosen, {beyond} (limits widened by the square root of φ, multiplicative "
                                      f"overdispersion; {test}).")
        return "multiplicative", ("Multiplicative limits were chosen but areas vary no more than chance"
                                  f"{' (' + test + ')' if test else ''}, so the limits are not widened.")
    if significant:
        return "none", (f"The limits allow for chance alone, although areas vary more than chance would make them "
                        f"({test}): many areas outside them may differ for lasting reasons, not by chance.")
    return "none", f"The limits allow for chance alone{' (' + test + ')' if test else ''}."


def _variance_function(stat: str) -> Any:
    """V(theta) / rho: the sampling variance of a unit's value at precision rho (None: own se)."""
    if stat == "proportion":
        return lambda theta, r: theta * (1 - theta) / r
    if stat in ("ratio", "rate"):
        return lambda theta, r: theta / r
    return None


def _funnel_group(frame, keys, measure, multiplier, polarity, method, policy, target, years,
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
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = u["x"].sum() / np.nansum(u["n"])
    else:
        w = 1 / u["se"] ** 2
        theta = float((w * y).sum() / w.sum())
    # z-scores under the baseline (s^2 = V(theta)/rho)
    variance = _variance_function(stat)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(variance(theta, rho)) if variance else u["se"]
        z = (y - theta) / s
        # Over-dispersion is variation *between* areas, so it is measured around the areas' own
        # pooled average (sum O / sum n; the precision-weighted mean), never around a target or a
        # ratio's 1: areas that all sit 5 points below a target differ from it, not from each
        # other, and must not widen the limits. The test then has I - 1 degrees of freedom.
        if stat in ("proportion", "ratio", "rate"):
            pooled = u["x"].sum() / np.nansum(u["n"])
        else:
            pooled = float((y / u["se"] ** 2).sum() / (1 / u["se"] ** 2).sum())
        s_d = np.sqrt(variance(pooled, rho)) if variance else u["se"]
        z_d = (y - pooled) / s_d
    usable = np.isfinite(z_d)
    if stat == "rate" and u.get("rate_type") == "dsr":
        usable &= u["x"] >= 10
    disp = winsorised_dispersion(z_d[usable], s_d[usable], winsorize)
    # no usable unit: no evidence of variation beyond chance, so widening changes nothing
    phi = disp["phi"] if math.isfinite(disp["phi"]) else 1.0
    tau2 = disp["tau2"] if math.isfinite(disp["tau2"]) else 0.0
    overdispersion, reason = _decide(policy, disp)
    if overdispersion != "none" and method != "normal":
        method = "normal"  # "auto" found over-dispersion: additive limits are normal ones
    if overdispersion == "none":
        widen = None
    else:
        widen = overdispersion

    def normal_limits(rho_, s_):
        out = {}
        for level in _LEVELS:
            zz = _Z[level]
            if widen == "multiplicative":
                half = zz * s_ * math.sqrt(max(phi, 1.0))
            elif widen == "additive":
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
            with np.errstate(divide="ignore", invalid="ignore"):
                s_ = np.sqrt(variance(theta, rho_)) if variance else None
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
    with np.errstate(invalid="ignore"):
        for level in _LEVELS:
            sfx = _SUFFIX[level]
            lo_, hi_ = limits[f"lower_{sfx}"], limits[f"upper_{sfx}"]
            pos[sfx] = np.where(y > hi_, "above", np.where(y < lo_, "below", "within"))
    if method == "exact":
        # the one-sided exact tests (agree with the drawn limits for whole counts; never
        # above a 100% target, and at most nominal false flags under the baseline)
        if u["family"] == "binomial":
            tails = exact_tail_positions(u["x"], rho, theta, family="binomial")
        else:
            tails = exact_tail_positions(u["x"], rho * theta, 1.0, family="poisson")
        pos = {k: v.cast(pl.String).fill_null("within").to_numpy().astype(str) for k, v in tails.items()}
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
    label_null = not_applicable.copy() if method != "phe" else np.zeros(y.shape, dtype=bool)
    if stat == "rate" and u.get("rate_type") == "dsr":
        not_applicable |= u["x"] < 10
        labels = np.where(u["x"] < 10, SIGNIFICANCE_LEVELS[5], labels)
        label_null &= ~(u["x"] < 10)
    comparison = _comparison(pos["95"], pos["998"], polarity)
    with np.errstate(divide="ignore", invalid="ignore"):
        if widen == "multiplicative":
            z_adj = z / math.sqrt(max(phi, 1.0))
        elif widen == "additive":
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
    out = out.with_columns(
        *[pl.Series(k, np.asarray(v, dtype=np.float64)).fill_nan(None) for k, v in new.items()],
        _enum_series("position_95", pos["95"], not_applicable, POSITION_LEVELS),
        _enum_series("position_998", pos["998"], not_applicable, POSITION_LEVELS),
        _enum_series("significance", labels, label_null, SIGNIFICANCE_LEVELS),
        _enum_series("comparison", comparison, not_applicable, COMPARISON_LEVELS),
    )
    # curves
    group_vals = {k: frame.get_column(k)[0] for k in keys}
    curves = _curves(method, stat, u, theta, mult, years, limits_fn=unit_limits, normal_fn=normal_limits,
                     n_points=n_points)
    curves = curves.with_columns(*[pl.lit(v, dtype=frame.schema[k]).alias(k) for k, v in group_vals.items()]).select(
        [*keys, "limit", "precision", "value"])
    p_value = disp["chi2_p"]
    disp_row = pl.DataFrame({
        **{k: pl.Series(k, [v], dtype=frame.schema[k]) for k, v in group_vals.items()},
        "method": [method],
        "overdispersion": [overdispersion],
        "overdispersion_policy": [policy],
        "baseline": [theta * mult],
        "n_units": [disp["n_units"]],
        "phi": [disp["phi"]],
        "phi_winsorised": [disp["phi_winsorised"]],
        "chi2": [disp["chi2"]],
        "chi2_df": pl.Series([disp["chi2_df"]], dtype=pl.Int64),
        "chi2_p": [p_value],
        "overdispersed": [bool(math.isfinite(p_value) and p_value < OVERDISPERSION_ALPHA)],
        "tau2": [disp["tau2"] * mult * mult],
        "overdispersion_reason": [reason],
    })
    return out, curves, disp_row


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
        source = "value"  # the column the working rate comes from, named in messages
        if measure == "rate" and "denominator" in frame.columns:
            source = "denominator"
            # a crude rate is events over population: both columns, as numbers, before any arithmetic
            ru.require_columns(frame, ["numerator"], "a crude rate's funnel needs its events (numerator) as well as "
                                                     "its population (denominator)")
            ru.numeric(frame, "numerator", allow_null=True)
            ru.numeric(frame, "denominator", what=" (a crude rate needs its population)")
            # crude rate: numerator / denominator is the rate, whatever `value` says
            work = frame.with_columns(
                (pl.col("numerator") / pl.col("denominator") * multiplier).alias("_rate")
            )
        else:
            ru.require_columns(frame, ["numerator", "value"], "dsr funnels need events (numerator) and value")
            work = frame.with_columns(pl.col("value").alias("_rate"))
        den = "denominator" if "denominator" in frame.columns else None
        x, n = _counts(work, "numerator", den, "rate", "_rate", rate_type, multiplier, rate_label=source)
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
