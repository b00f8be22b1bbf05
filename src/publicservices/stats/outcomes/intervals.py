"""Confidence intervals for indicator values, as Polars expressions and frame functions.

The methods are those of the Fingertips *Public Health Technical Guidance* and the R package
PHEindicatormethods (2.1.0), whose own test fixtures these functions reproduce:

========================  =====================================================================
measure                   method
========================  =====================================================================
proportion                Wilson score (Wilson 1927; Newcombe & Altman 2000); Clopper-Pearson
                          exact (Clopper & Pearson 1934) as an option
rate (crude)              exact Poisson (chi-square) below 10 events, Byar's approximation from
                          10 (Breslow & Day 1987)
mean                      Student's t
dsr                       Dobson et al. (1991), Byar's limits of the total count; optional
                          adjustment for non-independent events; suppressed below 10 events
ratio (ISR / SMR)         observed / expected with exact (< 10) or Byar's limits of observed
========================  =====================================================================

One module per family: :mod:`.proportions` (``wilson_ci``, ``clopper_pearson_ci``,
``proportions``), :mod:`.rates` (``byar_ci``, ``rates``), :mod:`.means` (``mean_ci``,
``means``), :mod:`.standardised` (``dsr``, ``isr``); confidence levels and limit names in
:mod:`.levels`. Expression builders return a Struct with fields ``lower`` and ``upper`` for one
level, or ``lower_95, upper_95, lower_998, upper_998`` for a sequence of levels;
``.struct.unnest()`` turns it into flat columns. Frame functions work on DataFrames and
LazyFrames and return the same type. This module holds the two entry points over them:
:func:`interval_columns` gives ``value`` plus the flat limits in one call, and
:func:`add_intervals` applies the right method to every row of a values frame according to
each indicator's ``measure``.

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"x": [65, 0], "n": [100, 50]})
    >>> (df.select(interval_columns("wilson", "x", "n", confidence=0.95))
    ...  .with_columns(pl.col(pl.Float64).round(6)).rows())
    [(0.65, 0.552544, 0.736358), (0.0, 0.0, 0.071348)]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

import polars as pl

from publicservices.errors import IndicatorError, OptionError, problem
from publicservices.stats._common import z_for
from publicservices.stats.outcomes._interval_core import (
    F64,
    Frame,
    IntoExpr,
    as_expr,
    check_rows,
    key_columns,
    lazy,
    multiplier_expr,
    require_schema,
)
from publicservices.stats.outcomes.levels import confidence_levels, limit_names, one_level
from publicservices.stats.outcomes.proportions import cp_limits, wilson_limits
from publicservices.stats.outcomes.rates import fractional_small, poisson_factor, poisson_limits

__all__ = ["interval_columns", "add_intervals", "CI_METHODS"]

#: Values the ``ci_method`` column can take (null means no interval could be computed).
CI_METHODS: tuple[str, ...] = (
    "wilson",
    "clopper_pearson",
    "exact_poisson",
    "byar",
    "dobson",
    "dobson_non_independent",
    "dobson_single_band",
    "dsr_suppressed_lt10",
    "student_t",
    "supplied_logit",
    "supplied_sqrt",
    "supplied_linear",
)


_METHODS = ("wilson", "clopper_pearson", "byar")


def interval_columns(
    method: str,
    x: IntoExpr,
    n: IntoExpr,
    confidence: float | Sequence[float] = (0.95, 0.998),
    multiplier: IntoExpr | None = None,
    exact_below: float = 10,
    integer_counts: bool = False,
) -> list[pl.Expr]:
    """``value`` plus flat limit columns for a proportion or a crude rate, in one call.

    ``method`` is ``"wilson"`` or ``"clopper_pearson"`` (proportions, multiplier default 1) or
    ``"byar"`` (rates: exact Poisson below ``exact_below`` events; multiplier default 100000).
    See :func:`wilson_ci`, :func:`clopper_pearson_ci`, :func:`byar_ci` for methods and
    references. Use inside ``with_columns`` (row by row) or ``group_by().agg`` with summed
    counts; for many groups it is faster to aggregate first, then add the columns.
    ``integer_counts`` is passed to :func:`byar_ci` (rates only).

    Example:
        >>> df = pl.DataFrame({"x": [20], "n": [100]})
        >>> (df.with_columns(interval_columns("byar", "x", "n", multiplier=100))
        ...  .with_columns(pl.col(pl.Float64).round(3)).row(0))
        (20, 100, 20.0, 12.211, 30.89, 8.923, 38.085)
    """
    if method not in _METHODS:
        raise OptionError(f"method {method!r} is not known.\nFix: use one of {', '.join(_METHODS)}.")
    if multiplier is None:
        multiplier = 100000.0 if method == "byar" else 1.0
    xe, ne, k = as_expr(x, "x"), as_expr(n, "n"), multiplier_expr(multiplier)
    levels, names = confidence_levels(confidence), limit_names(confidence)
    if method == "wilson":
        ci = wilson_limits(xe, ne, k, levels, names)
        value = pl.when((ne > 0) & (xe >= 0) & (xe <= ne)).then(xe / ne * k)
    elif method == "clopper_pearson":
        ci = cp_limits(xe, ne, k, levels, names)
        value = pl.when((ne > 0) & (xe >= 0) & (xe <= ne)).then(xe / ne * k)
    else:
        factor = poisson_factor(k, ne)
        ci = poisson_limits(xe, factor, levels, names, exact_below, integer_counts)
        value = pl.when((ne > 0) & (xe >= 0)).then(xe * factor)
    return [value.alias("value"), *ci.columns()]


# --------------------------------------------------------------------------------------------
# a whole values frame
# --------------------------------------------------------------------------------------------

# Scales on which supplied 95% limits are stretched to other levels: logit for proportions,
# square root (Poisson's variance-stabilising transform) for counts-based rates, DSRs and
# ratios, linear for means and scores. docs/methodology/intervals.md compares the choices.
_SCALE = {
    "proportion": "logit",
    "rate": "sqrt",
    "dsr": "sqrt",
    "ratio": "sqrt",
    "mean": "linear",
    "score": "linear",
}


def _forward(scale: pl.Expr, y: pl.Expr, k: pl.Expr) -> pl.Expr:
    return (
        pl.when(scale == "logit")
        .then((y / (k - y)).log())
        .when(scale == "sqrt")
        .then(pl.when(y >= 0).then(y.sqrt()))
        .otherwise(y)
    )


def _back(scale: pl.Expr, t: pl.Expr, k: pl.Expr) -> pl.Expr:
    return (
        pl.when(scale == "logit")
        .then(k / (1.0 + (-t).exp()))
        .when(scale == "sqrt")
        .then(t.clip(lower_bound=0.0).pow(2))
        .otherwise(t)
    )


@overload
def add_intervals(
    values: pl.DataFrame,
    indicators: Mapping[str, Any],
    confidence: float | Sequence[float] = ...,
    method_proportion: str = ...,
    *,
    supplied_confidence: float = ...,
    exact_below: float = ...,
    validate: bool = ...,
) -> pl.DataFrame: ...
@overload
def add_intervals(
    values: pl.LazyFrame,
    indicators: Mapping[str, Any],
    confidence: float | Sequence[float] = ...,
    method_proportion: str = ...,
    *,
    supplied_confidence: float = ...,
    exact_below: float = ...,
    validate: bool = ...,
) -> pl.LazyFrame: ...


def add_intervals(
    values: Frame,
    indicators: Mapping[str, Any],
    confidence: float | Sequence[float] = (0.95, 0.998),
    method_proportion: str = "wilson",
    *,
    supplied_confidence: float = 0.95,
    exact_below: float = 10,
    validate: bool = True,
) -> Frame:
    """Add ``value``, limits and ``ci_method`` to a values frame, by each indicator's measure.

    One vectorised pass over all indicators (the method is chosen per row with when/then):

    * ``proportion`` with counts: Wilson (Wilson 1927), or Clopper-Pearson when
      ``method_proportion="clopper_pearson"``;
    * ``rate`` with counts: exact Poisson below 10 events, Byar's above (Breslow & Day 1987);
    * ``ratio`` with counts (numerator = observed, denominator = expected): the same Poisson
      limits of the observed count, divided by expected (an SMR; Fingertips method);
    * otherwise, when the row has a value and supplied ``lower_ci``/``upper_ci`` (taken as
      ``supplied_confidence``, 95%): those are the 95% limits, and other levels are derived
      from the standard error each side implies, on the logit scale (proportions),
      square-root scale (rates, DSRs, ratios) or linear scale (means, scores):
      ``g⁻¹(g(v) ∓ (z_c/z_s)·|g(v) − g(limit)|)``, falling back to the linear scale where the
      transform is undefined (a proportion of 0% or 100%); ``ci_method`` is
      ``supplied_logit``, ``supplied_sqrt`` or ``supplied_linear``;
    * ``dsr`` with a total count and population but no age bands and no supplied limits: a
      one-band standardisation, for which Dobson's method gives Byar's limits of the count
      scaled to the value (``ci_method`` ``dobson_single_band``; null below 10 events, as PHE
      suppresses); with age bands use :func:`dsr`;
    * otherwise null limits and a
      null ``ci_method``.

    ``value`` is kept when published; when missing it is numerator / denominator × multiplier
    for proportions, rates, ratios and means.

    Parameters:
        values: a frame in the values contract (``indicator_id``; optional ``numerator``,
            ``denominator``, ``value``, ``lower_ci``, ``upper_ci``); DataFrame or LazyFrame.
        indicators: mapping indicator id -> :class:`~publicservices.indicators.Indicator`.
        confidence: levels to add (default 95% and 99.8% -> ``lower_95 ... upper_998``).
        method_proportion: ``"wilson"`` or ``"clopper_pearson"``.
        supplied_confidence: the level of supplied ``lower_ci``/``upper_ci``.
        exact_below: counts below this use exact Poisson limits.
        validate: check unknown indicators and counts first (raises with rows named).

    Returns:
        The same type as ``values`` with ``value``, the limit columns and ``ci_method`` added.

    Example:
        >>> from publicservices.indicators import Indicator
        >>> inds = {
        ...     "health.screen": Indicator(id="health.screen", title="Screened", sector="health",
        ...                                measure="proportion", multiplier=100),
        ...     "health.deaths": Indicator(id="health.deaths", title="Deaths", sector="health",
        ...                                measure="rate", multiplier=100000)}
        >>> vals = pl.DataFrame({"indicator_id": ["health.screen", "health.deaths"],
        ...                      "numerator": [65.0, 5.0], "denominator": [100.0, 10000.0]})
        >>> out = add_intervals(vals, inds)
        >>> (out.select("value", "lower_95", "upper_998", "ci_method")
        ...  .with_columns(pl.col(pl.Float64).round(3)).rows())
        [(65.0, 55.254, 77.835, 'wilson'), (50.0, 16.235, 164.547, 'exact_poisson')]
    """
    if method_proportion not in ("wilson", "clopper_pearson"):
        raise OptionError(f"method_proportion {method_proportion!r} must be 'wilson' or 'clopper_pearson'.")
    lf, eager = lazy(values, "values")
    schema = lf.collect_schema()
    require_schema(schema, ["indicator_id"])
    for c in ("numerator", "denominator", "value", "lower_ci", "upper_ci"):
        if c in schema and not schema[c].is_numeric():
            require_schema(schema, [c], [c])
    measures: dict[str, str] = {}
    mults: dict[str, float] = {}
    for key, ind in indicators.items():
        measure = getattr(ind, "measure", None)
        if measure not in _SCALE:
            raise IndicatorError(f"indicator {key!r} has measure {measure!r}.\nFix: use one of {', '.join(_SCALE)}.")
        measures[str(key)] = measure
        mults[str(key)] = float(getattr(ind, "multiplier", 1.0))
    levels, names = confidence_levels(confidence), limit_names(confidence)
    s_level = one_level(supplied_confidence)
    z_s = z_for(s_level)

    def col(c: str) -> pl.Expr:
        return pl.col(c).cast(F64) if c in schema else pl.lit(None, dtype=F64)

    x, n, lo_s, up_s = col("numerator"), col("denominator"), col("lower_ci"), col("upper_ci")
    keys = key_columns(schema, [])
    if validate:
        unknown = (
            lf.select(pl.col("indicator_id").cast(pl.String).unique())
            .filter(~pl.col("indicator_id").is_in(list(measures)) | pl.col("indicator_id").is_null())
            .collect()["indicator_id"]
            .to_list()
        )
        if unknown:
            raise IndicatorError(
                problem(
                    "indicator_id",
                    "has ids that are not in indicators",
                    rows=[repr(u) for u in unknown[:5]],
                    total=len(unknown),
                    fix="pass every indicator's definition in indicators= (or filter the rows out first).",
                )
            )

        def measured(*kinds: str) -> pl.Expr:  # the rows of indicators with one of these measures
            return pl.col("indicator_id").cast(pl.String).is_in([i for i, m in measures.items() if m in kinds])

        finite = [
            (c, "is not finite (NaN or infinite)", ~col(c).is_finite(), "use a number, or null if unknown.")
            for c in ("numerator", "denominator", "value", "lower_ci", "upper_ci")
            if c in schema
        ]
        checks = finite + [
            (
                "numerator",
                "is negative",
                (x < 0) & measured("proportion", "rate", "ratio", "dsr"),
                "counts must be greater than or equal to zero.",
            ),
            (
                "denominator",
                "is zero or negative",
                measured("proportion", "rate", "ratio", "mean") & x.is_not_null() & (n <= 0),
                "denominators must be greater than zero; use null when unknown.",
            ),
            (
                "numerator",
                "is greater than the denominator for a proportion",
                measured("proportion") & (x > n),
                "check the counts, or define the indicator with measure='rate'.",
            ),
            ("lower_ci", "is greater than upper_ci", lo_s > up_s, "swap or correct the supplied limits."),
        ]
        check_rows(lf, checks, keys)

    measure = _by_id(measures, pl.String())
    k = _by_id(mults, F64)
    tmp = ["__ps_m", "__ps_k", "__ps_scale"]  # the steps below are added as they are made
    m, kk = pl.col("__ps_m"), pl.col("__ps_k")
    has_counts = x.is_not_null() & n.is_not_null()
    from_counts = m.is_in(["proportion", "rate", "ratio", "mean"])
    computed = pl.when(has_counts & from_counts & (n > 0)).then(x / n * kk)
    v_pub = col("value")
    out = lf.with_columns(
        measure.alias("__ps_m"),
        k.alias("__ps_k"),
        _by_id({i: _SCALE[m] for i, m in measures.items()}, pl.String(), "linear").alias("__ps_scale"),
    ).with_columns(pl.coalesce(v_pub, computed).alias("value"))

    v = pl.col("value")
    scale = pl.col("__ps_scale")
    # Only the methods the indicators' measures can call for are built: a frame of one
    # proportion (a chart's ten deciles) then plans no Poisson limits, which is most of the
    # cost of a call on a few rows. Limits from counts need the counts.
    kinds = set(measures.values())
    by_prop = "proportion" in kinds and "numerator" in schema and "denominator" in schema
    by_pois = bool(kinds & {"rate", "ratio", "dsr"}) and "numerator" in schema and "denominator" in schema
    by_dsr = "dsr" in kinds and by_pois
    by_sup = "lower_ci" in schema and "upper_ci" in schema
    # Supplied limits: keep them at their own level; derive other levels side by side. Each
    # step is a column the next reads by name: as one nested expression the transformed value
    # would be repeated a few dozen times per limit, a plan Polars takes milliseconds to optimise.
    sup_fields: list[pl.Expr] = []
    if by_sup:
        g_lo, g_up, g_v, lin_v = (pl.col(c) for c in ("__ps_glo", "__ps_gup", "__ps_gv", "__ps_lin"))
        inside = (v >= lo_s) & (v <= up_s)
        out = out.with_columns(
            _forward(scale, lo_s, kk).alias("__ps_glo"),
            _forward(scale, up_s, kk).alias("__ps_gup"),
            pl.when(inside).then(v).otherwise((lo_s + up_s) / 2.0).alias("__ps_lin"),
        ).with_columns(pl.when(inside).then(_forward(scale, v, kk)).otherwise((g_lo + g_up) / 2.0).alias("__ps_gv"))
        derived = []
        for i, (level, (lo_name, up_name)) in enumerate(zip(levels, names, strict=True)):
            if abs(level - s_level) < 1e-12:
                sup_fields += [lo_s.alias(lo_name), up_s.alias(up_name)]
                continue
            r = z_for(level) / z_s
            t_lo, t_up = pl.col(f"__ps_tlo{i}"), pl.col(f"__ps_tup{i}")
            derived += [(g_v - r * (g_v - g_lo)).alias(f"__ps_tlo{i}"), (g_v + r * (g_up - g_v)).alias(f"__ps_tup{i}")]
            lo = pl.when(t_lo.is_finite()).then(_back(scale, t_lo, kk)).otherwise(lin_v - r * (lin_v - lo_s))
            up = pl.when(t_up.is_finite()).then(_back(scale, t_up, kk)).otherwise(lin_v + r * (up_s - lin_v))
            lo = pl.when(scale != "linear").then(lo.clip(lower_bound=0.0)).otherwise(lo)
            up = pl.when(scale == "logit").then(pl.min_horizontal(up, kk)).otherwise(up)
            sup_fields += [lo.alias(lo_name), up.alias(up_name)]
        tmp += ["__ps_glo", "__ps_gup", "__ps_gv", "__ps_lin", *(e.meta.output_name() for e in derived)]
        if derived:
            out = out.with_columns(derived)
    supplied_ok = lo_s.is_not_null() & up_s.is_not_null()
    steps, flags = [], []
    limits: list[tuple[pl.Expr, Callable[[str], pl.Expr]]] = []  # (rows, their limit of a name): first that applies
    methods: list[tuple[pl.Expr, pl.Expr]] = []  # (rows, their ci_method)
    if by_prop:
        prop_method = wilson_limits if method_proportion == "wilson" else cp_limits
        steps.append(prop_method(x, n, kk, levels, names).struct().alias("__ps_prop"))
        flags.append(((m == "proportion") & pl.col("__ps_prop").is_not_null()).alias("__ps_use_prop"))
        limits.append((pl.col("__ps_use_prop"), lambda name: pl.col("__ps_prop").struct.field(name)))
        methods.append((pl.col("__ps_use_prop"), pl.lit(method_proportion)))
    if by_pois:
        whole = eager and not fractional_small(lf, x, exact_below)
        steps.append(poisson_limits(x, poisson_factor(kk, n), levels, names, exact_below, whole).struct().alias("__ps_pois"))
        flags.append((m.is_in(["rate", "ratio"]) & pl.col("__ps_pois").is_not_null()).alias("__ps_use_pois"))
        use_pois = pl.col("__ps_use_pois")
        limits.append((use_pois, lambda name: pl.col("__ps_pois").struct.field(name)))
        methods += [(use_pois & (x < exact_below), pl.lit("exact_poisson")), (use_pois, pl.lit("byar"))]
    if by_sup:
        steps.append(pl.when(supplied_ok).then(pl.struct(sup_fields)).alias("__ps_sup"))
        flags.append(pl.col("__ps_sup").is_not_null().alias("__ps_use_sup"))
        limits.append((pl.col("__ps_use_sup"), lambda name: pl.col("__ps_sup").struct.field(name)))
        methods.append((pl.col("__ps_use_sup"), pl.lit("supplied_") + scale))
    if by_dsr:
        # A DSR given as one total count and population is a one-band standardisation, for
        # which Dobson's limits reduce to Byar's limits of the count, scaled to the published
        # value; PHE suppresses DSRs below 10 events. Published limits take precedence.
        unsupplied = pl.col("__ps_sup").is_null() if by_sup else pl.lit(True)
        flags.append(((m == "dsr") & unsupplied & has_counts & (n > 0) & (x >= 10) & v.is_not_null()).alias("__ps_use_dsr"))
        crude = x / n * kk
        limits.append((pl.col("__ps_use_dsr"), lambda name: pl.col("__ps_pois").struct.field(name) * v / crude))
        methods += [
            (pl.col("__ps_use_dsr"), pl.lit("dobson_single_band")),
            ((m == "dsr") & has_counts & (x < 10), pl.lit("dsr_suppressed_lt10")),
        ]
    tmp += [e.meta.output_name() for e in (*steps, *flags)]
    out = out.with_columns(steps).with_columns(flags) if steps else out
    limit_cols = [_first([(rows, limit(name)) for rows, limit in limits], F64).alias(name) for pair in names for name in pair]
    out = out.with_columns(*limit_cols, _first(methods, pl.String).alias("ci_method")).drop(tmp)
    return out.collect() if eager else out


def _by_id(values: Mapping[str, Any], dtype: Any, default: Any = None) -> pl.Expr:
    """Each row's value of its indicator (``default`` for an id not in ``values``), a branch per
    distinct value: a handful of ``is_in`` tests, which cost Polars less here than lookups by
    ``replace_strict`` (on ten rows, the checks' query took 3.7 ms with those, 1.0 ms with these)."""
    ids = pl.col("indicator_id").cast(pl.String)
    groups: dict[Any, list[str]] = {}
    for key, value in values.items():
        groups.setdefault(value, []).append(key)
    return _first([(ids.is_in(keys), pl.lit(value, dtype=dtype)) for value, keys in groups.items()], dtype, default)


def _first(choices: Sequence[tuple[pl.Expr, pl.Expr]], dtype: Any, default: Any = None) -> pl.Expr:
    """The expression of the first choice whose rows are true (``default`` where none is)."""
    if not choices:
        return pl.lit(default, dtype=dtype)
    chain: Any = pl.when(choices[0][0]).then(choices[0][1])
    for rows, expr in choices[1:]:
        chain = chain.when(rows).then(expr)
    return chain if default is None else chain.otherwise(pl.lit(default, dtype=dtype))
