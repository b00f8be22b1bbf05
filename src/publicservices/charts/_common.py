"""What every chart shares: data embedding, colours, titles, descriptions.

Data go into a chart as inline ``values`` built from only the columns a chart draws, with
floats rounded to six significant figures. Inline values are not passed through Altair's
data transformers, so thousands of units never trip the max-rows error, and the global
transformer setting is never touched.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from publicservices.display import PALETTE, category_colour, format_number, join_words
from publicservices.errors import DataError, SchemaError
from publicservices.keys import group_label, present_keys, varying_keys

if TYPE_CHECKING:  # pragma: no cover
    import altair as alt

    from publicservices.indicators import Indicator

# Category words in display order, per polarity.
JUDGED = ("better (99.8%)", "better (95%)", "better", "similar", "worse", "worse (95%)", "worse (99.8%)", "not compared")
UNJUDGED = ("higher (99.8%)", "higher (95%)", "higher", "similar", "lower", "lower (95%)", "lower (99.8%)", "not compared")
ALTAIR_ENV = "PUBLICSERVICES_SITE_ALTAIR"
LIMIT_POINTS = 100  # points per drawn limit line: smooth to the eye, small to embed
WIDTH, HEIGHT = 520, 340


# Rows set aside by detached_data(), by dataset name (None: charts carry their rows inline).
_DETACHED: contextvars.ContextVar[dict[str, list[dict[str, Any]]] | None] = contextvars.ContextVar(
    "publicservices_detached_chart_data", default=None
)


@contextlib.contextmanager
def detached_data() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Charts made inside are plain Vega-Lite, their rows kept aside by name; :func:`chart_spec` writes them.

    A site's hundreds of charts only ever become JSON. Inside, the chart builders make them
    with :mod:`publicservices.charts._lite` in Altair's place (the same dicts, without Altair's
    schema objects, checks and deep copies), and each chart refers to its rows by name
    (Vega-Lite's named data) until :func:`chart_spec` writes the spec with its ``datasets``.

    >>> import polars as pl
    >>> from publicservices.charts import league_table
    >>> frame = pl.DataFrame({"area_name": ["A", "B"], "value": [1.0, 2.0]})
    >>> with detached_data():
    ...     spec = chart_spec(league_table(frame))
    >>> spec["data"], [row["_label"] for row in spec["datasets"]["rows-1"]]
    ({'name': 'rows-1'}, ['B', 'A'])
    """
    store: dict[str, list[dict[str, Any]]] = {}
    token = _DETACHED.set(store)
    try:
        yield store
    finally:
        _DETACHED.reset(token)


def vega() -> Any:
    """The module the chart builders draw with: Altair, or inside :func:`detached_data` the light
    builder that makes the same Vega-Lite dicts (:mod:`publicservices.charts._lite`), unless the
    environment variable ``PUBLICSERVICES_SITE_ALTAIR`` is set (the tests hold the two equal)."""
    if _DETACHED.get() is not None and os.environ.get(ALTAIR_ENV, "") in ("", "0"):
        from publicservices.charts import _lite

        return _lite
    import altair as alt

    return alt


def chart_spec(chart: Any) -> dict[str, Any]:
    """A chart as a Vega-Lite dict, unvalidated, with the rows :func:`detached_data` set aside.

    Chart types are validated against the Vega-Lite schema in the tests, once per type,
    not once per chart while a site is built.
    """
    spec: dict[str, Any] = chart.to_dict(validate=False)
    store = _DETACHED.get()
    if store:
        used = sorted(_data_names(spec) & store.keys())
        if used:
            spec["datasets"] = {**spec.get("datasets", {}), **{name: store[name] for name in used}}
    return spec


def _data_names(spec: Any) -> set[str]:
    if isinstance(spec, dict):
        found = {spec["name"]} if isinstance(spec.get("name"), str) and set(spec) <= {"name", "format"} else set()
        return found.union(*(_data_names(v) for k, v in spec.items() if k != "datasets"))
    if isinstance(spec, list):
        return set().union(*(_data_names(v) for v in spec))
    return set()


def json_rows(frame: pl.DataFrame, columns: Iterable[str]) -> list[dict[str, Any]]:
    """Only ``columns`` of ``frame`` as JSON-ready rows: floats to six significant figures,
    dates as ISO strings, NaN as null."""
    names = list(dict.fromkeys(c for c in columns if c in frame.columns))
    exprs = []
    for name in names:
        dtype = frame.schema[name]
        col = pl.col(name)
        if dtype.is_float():
            exprs.append(col.round_sig_figs(6).fill_nan(None))
        elif dtype.is_temporal():
            exprs.append(col.dt.to_string("%Y-%m-%d"))
        elif dtype.is_numeric() or dtype == pl.Boolean or dtype == pl.String:
            exprs.append(col)
        else:
            exprs.append(col.cast(pl.String))
    return frame.select(exprs).to_dicts()


def inline(frame: pl.DataFrame, columns: Iterable[str]) -> alt.InlineData | alt.NamedData:
    """A chart's data: :func:`json_rows` as inline Vega-Lite values, or by name inside
    :func:`detached_data`."""
    return inline_values(json_rows(frame, columns))


def inline_values(rows: list[Any]) -> alt.InlineData | alt.NamedData:
    """Ready-made JSON rows as a chart's data: inline, or by name inside :func:`detached_data`."""
    store = _DETACHED.get()
    if store is not None:
        name = f"rows-{len(store) + 1}"  # in the order charts are made: the same build, the same names
        store[name] = rows
        return vega().NamedData(name=name)
    import altair as alt
    from altair.utils.schemapi import debug_mode

    # Altair's debug mode validates (and deep-copies) every row at construction: about a
    # second per 5,000 rows. These rows are plain JSON values, made by the caller.
    with debug_mode(False):
        return alt.InlineData(values=rows)


def require(frame: pl.DataFrame, columns: Sequence[str], chart: str, fix: str) -> None:
    """Raise a SchemaError naming the columns a chart needs and does not find."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{chart}: required column(s) {', '.join(map(repr, missing))} missing.\n"
            f"Columns present: {', '.join(frame.columns)}.\nFix: {fix}"
        )


def first_present(frame: pl.DataFrame, names: Sequence[str]) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def polarity_of(frame: pl.DataFrame, indicator: Indicator | None) -> str:
    if indicator is not None:
        return indicator.polarity
    if "polarity" in frame.columns:
        values = frame.get_column("polarity").drop_nulls().unique().to_list()
        if len(values) == 1:
            return str(values[0])
    return "no_judgement"


def one_group(frame: pl.DataFrame, chart: str, by: Sequence[str] = ()) -> str:
    """The label of the one group a chart's rows belong to ('' when they carry no group keys).

    A chart shows one set of areas compared together: one comparable set, one breakdown
    (sex, age, category). Rows of several groups (within each ``by`` group, e.g. per
    indicator) raise a DataError asking for one; the label names the group for the title.
    """
    keys = present_keys(frame)
    if not keys or frame.height == 0:
        return ""
    by = [c for c in by if c in frame.columns]
    if by:
        spread = frame.group_by(by).agg(pl.col(k).n_unique() for k in keys)
        mixed = [k for k in keys if (spread.get_column(k) > 1).any()]
    else:
        mixed = varying_keys(frame)
    if mixed:
        values = {k: frame.get_column(k).unique(maintain_order=True).head(4).to_list() for k in mixed}
        raise DataError(
            f"{chart}: the rows hold several groups of areas ({'; '.join(f'{k}: {v}' for k, v in values.items())}); "
            "a chart shows one, and pooling them would compare men with women or one comparable set with another.\n"
            f"Fix: filter the rows to one group first, e.g. frame.filter(pl.col({mixed[0]!r}) == {values[mixed[0]][0]!r}), "
            "or pass breakdown={...} to a result's .chart()."
        )
    row = frame.row(0, named=True)
    return group_label(row, [k for k in keys if row[k] is not None]) if not by else ""


def category_scale(polarity: str, present: Iterable[Any] = ()) -> alt.Scale:
    """Colour scale for the comparison categories that occur, in display order.

    Colours are fixed per word (better blue, worse vermillion, similar grey; higher/lower
    blues for indicators without polarity), so a category looks the same in every chart.
    """
    alt = vega()
    found = {str(w) for w in present if w is not None}
    judged = polarity != "no_judgement" or any(w.startswith(("better", "worse")) for w in found)
    canonical = list(JUDGED if judged else UNJUDGED)
    canonical += [w for w in (*JUDGED, *UNJUDGED) if w not in canonical]
    words = [w for w in canonical if w in found] + sorted(found - set(canonical))
    if not words:
        words = [w for w in canonical if w != "not compared"][:3]
    colours = [category_colour(w) or PALETTE["neutral"] for w in words]
    return alt.Scale(domain=words, range=colours)


def value_label(indicator: Indicator | None, fallback: str = "value") -> str:
    """Axis title: the indicator's unit (``%`` or ``per 100,000``) or a fallback."""
    if indicator is None:
        return fallback
    unit = indicator.unit.strip()
    if not unit:
        return fallback
    return "per cent" if unit == "%" else unit


def chart_title(
    indicator: Indicator | None, default: str, subtitle: Sequence[str] | str = (), group: str = ""
) -> alt.TitleParams:
    """Title (the indicator's, with the group shown, e.g. ``Screening (Female)``) and subtitle."""
    alt = vega()
    text = indicator.title if indicator is not None else default
    if group:
        text = f"{text} ({group})"
    subtitles = [subtitle] if isinstance(subtitle, str) else list(subtitle)
    return alt.TitleParams(text=text, subtitle=[s for s in subtitles if s] or alt.Undefined, anchor="start")


def fmt(value: Any, indicator: Indicator | None) -> str:
    return format_number(value, unit=indicator.unit if indicator is not None else "")


def fmt_gap(value: Any, indicator: Indicator | None) -> str:
    """A difference between two values (a slope index of inequality, a gap) in the indicator's
    units: percentage points for a percentage, never a percentage of something.

    >>> from publicservices.indicators import Indicator
    >>> fmt_gap(0.918, Indicator(id="a.b", title="B", sector="a", measure="proportion", unit="%"))
    '0.918 percentage points'
    """
    if indicator is not None and indicator.unit.strip() == "%":
        text = format_number(value)
        return text if text == "–" else f"{text} percentage point{'' if text in ('1', '-1') else 's'}"
    return fmt(value, indicator)


def counts_sentence(frame: pl.DataFrame, column: str, noun: str = "area") -> str:
    """``12 better, 100 similar and 8 worse`` (only categories that occur, in display order)."""
    if column not in frame.columns:
        return ""
    counts = frame.get_column(column).fill_null("not compared").value_counts()
    found = dict(zip(counts.get_column(column).to_list(), counts.get_column("count").to_list(), strict=True))
    order = [w for w in (*JUDGED, *UNJUDGED) if w in found] + sorted(w for w in found if w not in (*JUDGED, *UNJUDGED))
    order = list(dict.fromkeys(order))
    return join_words([f"{found[w]:,} {w}" for w in order])


def finish(
    chart: Any, *, kind: str, description: str, indicator: Indicator | None = None, extra: Mapping[str, Any] | None = None
) -> Any:
    """Attach the text description (Vega-Lite ``description``) and publicservices metadata.

    The description is what a screen reader announces and what the published site shows
    beside the chart; :func:`describe` reads it back.
    """
    if _DETACHED.get() is None:  # a chart for the screen, not for a site's JSON
        from publicservices.notebook import use_offline_charts

        use_offline_charts()  # in a Jupyter kernel, charts draw with no network (see publicservices.notebook)
    meta: dict[str, Any] = {"kind": kind, "description": description}
    if indicator is not None:
        meta["indicator_id"] = indicator.id
    if extra:
        meta.update(extra)
    return chart.properties(description=description, usermeta={"publicservices": meta})


def describe(chart: Any) -> str:
    """The plain-text description attached to a chart built here (empty if none).

    Example:
        >>> import polars as pl
        >>> from publicservices.charts import funnel_plot
        >>> frame = pl.DataFrame({"area_code": ["A", "B"], "denominator": [100.0, 400.0],
        ...                       "value": [12.0, 9.5]})
        >>> describe(funnel_plot(frame))[:20]
        'Funnel plot of value'
    """
    text = getattr(chart, "description", None)
    return text if isinstance(text, str) else ""


def thin(frame: pl.DataFrame, x: str, n: int = LIMIT_POINTS) -> pl.DataFrame:
    """At most about ``n`` rows of a curve sampled along ``x``, keeping both ends.

    Points are taken at geometrically spaced ``x`` when ``x`` is positive (funnel limits bend
    most at small denominators), evenly otherwise; each target picks the nearest row, so the
    drawn points are exact rows of the input, never interpolated values.
    """
    frame = frame.filter(pl.col(x).is_not_null()).unique(subset=x, keep="first").sort(x)
    if frame.height <= n:
        return frame
    import math

    import numpy as np

    xs = frame.get_column(x).cast(pl.Float64).to_numpy()
    lo, hi = float(xs.min()), float(xs.max())
    if lo > 0:
        targets = [math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * i / (n - 1)) for i in range(n)]
    else:
        targets = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
    # the nearest row to each target, the later of two as near (as join_asof(strategy="nearest")
    # picks, in NumPy: a site thins a few hundred curves, where the join's queries cost more)
    t = np.asarray(targets)
    after = np.minimum(np.searchsorted(xs, t, side="left"), len(xs) - 1)
    before = np.maximum(after - 1, 0)
    nearest = np.where(xs[after] - t <= t - xs[before], after, before)
    return frame[np.unique(nearest)]


def area_labels(frame: pl.DataFrame, label: str | None) -> pl.DataFrame:
    """Add ``_label``: the area name where known, else the code."""
    name = label if label and label in frame.columns else None
    code = "area_code" if "area_code" in frame.columns else None
    if name and code:
        expr = pl.coalesce(pl.col(name).cast(pl.String), pl.col(code))
    elif name or code:
        expr = pl.col(name or code).cast(pl.String)  # type: ignore[arg-type]
    else:
        expr = pl.int_range(1, pl.len() + 1).cast(pl.String)
    return frame.with_columns(expr.alias("_label"))
