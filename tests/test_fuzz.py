"""Fuzzing: hostile frames and files through every public function and the CLI.

The contract under test ("safe to publish"): whatever a user passes -- nulls everywhere,
zeros, negatives, NaN and infinities, numbers up to 1e300, numerators above denominators,
limits the wrong way round, duplicated keys, empty frames, one area, strings or lists in
numeric columns, escape characters in codes, files in odd encodings with ragged rows --
every public call either succeeds or raises a :class:`~publicservices.errors.PublicServicesError`,
and none runs for longer than :data:`LIMIT` seconds. Anything else fails the test with
the input, printed so that it can be pasted back into Python.

Budget: the example counts below are the CI configuration (about 3-4 minutes on two
cores, at least 4,000 frames and 1,000 files). ``PUBLICSERVICES_FUZZ_EXAMPLES=10`` scales
every count by ten, for the occasional long local run; the number of examples each test
ran is printed at the end of the module (``pytest -s``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import faulthandler
import functools
import math
import os
import re
import signal
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import publicservices as ps
from publicservices.errors import PublicServicesError
from publicservices.indicators import Indicator

pytestmark = pytest.mark.slow

#: Seconds one call may take before it counts as a hang.
LIMIT = 20.0
#: Multiplies every example count (``PUBLICSERVICES_FUZZ_EXAMPLES=10`` for a long local run).
SCALE = float(os.environ.get("PUBLICSERVICES_FUZZ_EXAMPLES", "1") or 1)
RAN: Counter[str] = Counter()
#: (call, "ok" or the PublicServicesError class): how far the examples got.
CALLS: Counter[tuple[str, str]] = Counter()
REASONS: Counter[tuple[str, str]] = Counter()
SPENT: Counter[str] = Counter()


def examples(n: int) -> int:
    return max(1, int(n * SCALE))


def fuzz_settings(n: int) -> settings:
    return settings(
        max_examples=examples(n),
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    if RAN:
        lines = [f"  {name}: {n:,} examples in {SPENT[name]:.0f} s" for name, n in sorted(RAN.items())]
        print(
            "\nfuzz examples run:\n"
            + "\n".join(lines)
            + f"\n  frames: {sum(n for k, n in RAN.items() if k.startswith('frames')):,}; "
            f"files: {sum(n for k, n in RAN.items() if k.startswith('files')):,}; "
            f"{sum(SPENT.values()):.0f} s"
        )


def counted(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def wrap(fn: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(fn)
        def inner(*args: Any, **kw: Any) -> None:
            start = time.perf_counter()
            try:
                fn(*args, **kw)
            finally:
                RAN[name] += 1
                SPENT[name] += time.perf_counter() - start

        return inner

    return wrap


# -- running one call -------------------------------------------------------------------------


class Hang(BaseException):
    """A call ran past LIMIT (a BaseException, so no ``except Exception`` in the code swallows it)."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Interrupt the call after ``seconds`` (SIGALRM); a hard backstop kills the run at 4x."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield  # pragma: no cover - no alarms here (Windows): the CI job's own timeout is the backstop
        return

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"{what} ran for more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    # A hang inside compiled code never returns to Python to see the alarm: dump every
    # thread's stack and end the run rather than hold CI for hours.
    faulthandler.dump_traceback_later(seconds * 4, exit=True)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, previous)


def shown(case: Any) -> str:
    """The input, as Python that rebuilds it."""
    return case.python() if hasattr(case, "python") else repr(case)


#: When a list, failures are appended to it instead of failing the test (for a survey of root causes).
COLLECT: list[tuple[str, BaseException, str]] | None = None


def _call_name(what: str) -> str:
    """``compare(ds).chart('funnel')`` -> ``compare().chart()``: calls counted by kind."""
    while (short := re.sub(r"\([^()]*\)", "()", what)) != what:
        what = short
    return what


def run(what: str, fn: Callable[..., Any], *args: Any, case: Any, **kw: Any) -> Any:
    """Call ``fn``: its result, or None when it raised a PublicServicesError; anything else fails."""
    try:
        with time_limit(LIMIT, what), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn(*args, **kw)
        CALLS[_call_name(what), "ok"] += 1
        return result
    except PublicServicesError as exc:
        CALLS[_call_name(what), type(exc).__name__] += 1
        if COLLECT is not None:
            REASONS[_call_name(what), str(exc).split("\n")[0][:90]] += 1
        assert str(exc).strip(), f"{what} raised {type(exc).__name__} with no message\ninput:\n{shown(case)}"
        return None
    except Hang as exc:
        if COLLECT is not None:
            COLLECT.append((what, exc, shown(case)))
            return None
        pytest.fail(f"HANG: {exc}\ninput:\n{shown(case)}", pytrace=False)
    except Exception as exc:  # noqa: BLE001 - this is what the test is looking for
        if COLLECT is not None:
            COLLECT.append((what, exc, shown(case)))
            return None
        raise AssertionError(
            f"{what} raised {type(exc).__name__} (not a PublicServicesError): {str(exc)[:2000]}\ninput:\n{shown(case)}"
        ) from exc


def look_at(what: str, result: Any, case: Any, pick: int = 0) -> None:
    """What a notebook user does with a result: its words, HTML and repr, and one of its charts
    (``pick`` chooses which, so that the examples share out the chart kinds within the budget)."""
    if result is None:
        return
    run(f"{what}.summary()", result.summary, case=case)
    run(f"{what}._repr_html_()", result._repr_html_, case=case)
    run(f"repr({what})", repr, result, case=case)
    kinds = sorted(result.chart_kinds())
    if kinds:
        kind = kinds[pick % len(kinds)]
        chart = run(f"{what}.chart({kind!r})", result.chart, kind, case=case)
        if chart is not None:
            run(f"{what}.chart({kind!r}).to_dict()", chart.to_dict, validate=False, case=case)


# -- hostile values ---------------------------------------------------------------------------

BOOLS = st.booleans()


@functools.cache
def _one(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(options)


def one(options: Any) -> st.SearchStrategy[Any]:
    """``st.sampled_from``, built once per list of options (building strategies is most of the cost of drawing)."""
    return _one(tuple(options))


@functools.cache
def ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


NAN, INF = math.nan, math.inf
ODD_TEXT = [
    "",
    " ",
    "é",
    "漢字",
    "🙂",
    "\x1b[31mred\x1b[0m",
    "\u202eevil",
    "tab\there",
    "new\nline",
    "'\"<>&",
    "<script>alert(1)</script>",
    "{{ config }}",
    "%s%n",
    "../../etc/passwd",
    "\x00",
    "\u200b",
    "e\u0301",
    "NULL",
    "NaN",
    "-",
    ":",
    "*",
    "..",
]
AREA_CODES = [
    "E92000001",
    "E12000001",
    "E12000002",
    "E06000001",
    "E06000002",
    "E06000003",
    "E07000001",
    "E07000002",
    "E08000001",
    "E09000001",
    "E10000001",
    "E23000001",
    "E23000002",
    "E38000001",
    "E54000001",
    "W06000001",
    "S12000001",
    "K02000001",
    "X06000001",
    "A",
    "B",
    "C",
    "D",
    "unit 1",
]
PERIODS = [
    "2019",
    "2020",
    "2021",
    "2020/21",
    "2021/22",
    "2022/23",
    "2022-24",
    "2023 Q1",
    "2023 Q2",
    "2023-03-31",
    "1800",
    "2200/01",
]
MULTIPLIERS = [1.0, 100.0, 1000.0, 100000.0, 1e6]
SEXES = ["Persons", "Male", "Female"]
AGES = ["All ages", "0-17", "18-64", "65+"]
CATEGORIES = [
    ("Deprivation decile", "Most deprived"),
    ("Deprivation decile", "Least deprived"),
    (None, None),
    ("Ethnic group", "é漢字"),
]


@st.composite
def indicators(draw: st.DrawFn) -> list[Indicator]:
    """One to three indicator definitions of every measure and polarity."""
    n = draw(ints(1, 3))
    sectors = draw(st.lists(one(["health", "schools", "fz"]), min_size=n, max_size=n))
    out = []
    for i, sector in enumerate(sectors):
        measure = draw(one(["proportion", "rate", "mean", "dsr", "ratio", "score"]))
        multiplier = draw(one(MULTIPLIERS))
        bound = multiplier if measure == "proportion" else 1e6
        floor = draw(st.one_of(st.none(), st.floats(0, bound)))
        target = draw(st.one_of(st.none(), st.floats(0, bound)))
        role = draw(one(["outcome"] * 5 + ["context"]))
        polarity = "no_judgement" if role == "context" else draw(one(["higher_is_better", "lower_is_better", "no_judgement"]))
        out.append(
            Indicator(
                id=f"{sector}.fz{i}",
                title=draw(one(["Fuzz", *ODD_TEXT[1:8]])) + f" {i}",
                sector=sector,
                measure=measure,
                multiplier=multiplier,
                polarity=polarity,
                floor=floor,
                target=target,
                role=role,
                unit=draw(one(["", "%", "per 100,000", "£", "<b>"])),
                service=draw(one([None, sector, "other"])),
            )
        )
    return out


@functools.cache
def numbers(kind: str) -> st.SearchStrategy[float | None]:
    """One numeric cell: ``clean`` (plausible), ``edgy`` (valid but awkward) or ``hostile`` (breaks the contract)."""
    clean = st.one_of(ints(1, 100000).map(float), st.floats(0.5, 1e6))
    edgy = st.one_of(
        st.none(), one([0.0, -0.0, 1.0, 1e-300, 5e-324, 0.5, 1e14, 9.99e14, 1e15, 2.0**53]), st.floats(0, 1e15), clean
    )
    hostile = st.one_of(
        edgy, one([NAN, INF, -INF, -1.0, -1e300, 1e300, 1e16, -0.5]), st.floats(allow_nan=True, allow_infinity=True)
    )
    return {"clean": clean, "edgy": edgy, "hostile": hostile}[kind]


@dataclass
class Case:
    """One generated input: frames, indicator definitions and how they were made (for the report)."""

    values: pl.DataFrame
    inds: list[Indicator]
    areas: pl.DataFrame | None = None
    spend: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def python(self) -> str:
        def frame(f: pl.DataFrame | None) -> str:
            if f is None:
                return "None"
            return f"pl.DataFrame({f.to_dict(as_series=False)!r}, schema={dict(f.schema)!r})"

        inds = ",\n    ".join(repr(i) for i in self.inds)
        return (
            f"# {'; '.join(self.notes)}\nvalues = {frame(self.values)}\nareas = {frame(self.areas)}\n"
            f"spend = {frame(self.spend)}\nindicators = [\n    {inds}]"
        )

    @property
    def indmap(self) -> dict[str, Indicator]:
        return {i.id: i for i in self.inds}


EDGY = [None, 0.0, -0.0, 1.0, 1e-300, 5e-324, 0.5, 3.0, 1e14, 9.99e14, 1e15, 2.0**53]
HOSTILE = [NAN, INF, -INF, -1.0, -1e300, 1e300, 1e16, -0.5, 1.7976931348623157e308, -5e-324]


def _rng(draw: st.DrawFn) -> np.random.Generator:
    return np.random.default_rng(draw(ints(0, 2**32 - 1)))


def _column(draw: st.DrawFn, n: int, kind: str) -> list[float | None]:
    """A column of cells of one kind. Bulk values come from a drawn seed (fast); which cells are
    awkward, and how awkward, is drawn too."""
    rng = _rng(draw)
    out: list[float | None] = np.where(
        rng.random(n) < 0.5, rng.integers(1, 100_001, n).astype(float), rng.uniform(0.5, 1e6, n)
    ).tolist()
    if kind == "clean" or not n:
        return out
    specials = EDGY + (HOSTILE if kind == "hostile" else [])
    share = draw(one([0.1, 0.3, 1.0]))
    for i in np.flatnonzero(rng.random(n) < share):
        out[i] = specials[rng.integers(len(specials))] if rng.random() < 0.8 else float(rng.uniform(0, 1e15))
    return out


def _fractions(draw: st.DrawFn, n: int, high: float = 1.0, specials: tuple[float, ...] = (0.0, 1.0, 1.5, 10.0)) -> list[float]:
    rng = _rng(draw)
    out = rng.uniform(0, high, n).tolist()
    for i in np.flatnonzero(rng.random(n) < 0.1):
        out[i] = specials[rng.integers(len(specials))]
    return out


@st.composite
def values_frames(
    draw: st.DrawFn,
    *,
    hostility: tuple[str, ...] = ("clean", "clean", "edgy", "edgy", "hostile"),
    areas: float = 0.8,
    spend: float = 0.5,
    spoil: bool = True,
    min_areas: int = 0,
) -> Case:
    """A values frame (with its indicators, areas and spend) built to break things."""
    inds = draw(indicators())
    notes: list[str] = []
    pool = draw(one(["codes", "codes", "codes", "odd"]))
    codes = draw(
        st.lists(one(AREA_CODES if pool == "codes" else AREA_CODES + ODD_TEXT), min_size=min_areas, max_size=8, unique=True)
    )
    periods = draw(st.lists(one(PERIODS), min_size=1, max_size=3, unique=True))
    breakdown = draw(one([None, None, "sex", "age", "category"]))
    groups: list[dict[str, Any]] = [{}]
    if breakdown == "sex":
        groups = [{"sex": s} for s in draw(st.lists(one(SEXES), min_size=1, max_size=3, unique=True))]
    elif breakdown == "age":
        groups = [{"age": a} for a in draw(st.lists(one(AGES), min_size=1, max_size=3, unique=True))]
    elif breakdown == "category":
        groups = [
            {"category_type": t, "category": c} for t, c in draw(st.lists(one(CATEGORIES), min_size=1, max_size=3, unique=True))
        ]
    rows = [(ind, code, period, g) for ind in inds for code in codes for period in periods for g in groups]
    if rows and draw(BOOLS):  # drop some rows (which: from a drawn seed, cheaply)
        keep = _rng(draw).random(len(rows)) < draw(one([0.3, 0.7, 0.9]))
        rows = [r for r, k in zip(rows, keep, strict=True) if k] or rows[:1]
    rows = rows[:60]
    if rows and draw(ints(0, 9)) == 0:
        rows.append(draw(st.sampled_from(rows)))
        notes.append("a duplicated key")
    n = len(rows)
    kind = {c: draw(one(hostility)) for c in ("numerator", "denominator", "value", "ci")}
    notes.append(f"cells: {kind}")
    den = _column(draw, n, kind["denominator"])
    share = _fractions(draw, n)
    num_mode = draw(one(["from_share", "from_share", "free", "absent"]))
    if num_mode == "from_share":
        num: list[float | None] = [
            None
            if d is None or (isinstance(d, float) and not math.isfinite(d))
            else float(math.floor(d * s))
            if math.isfinite(d * s)
            else d
            for d, s in zip(den, share, strict=True)
        ]
    elif num_mode == "free":
        num = _column(draw, n, kind["numerator"])
    else:
        num = [None] * n
    value_mode = draw(one(["from_counts", "free", "equal", "absent"]))
    mult = [r[0].multiplier for r in rows]
    if value_mode == "from_counts":
        value: list[float | None] = [
            None if a is None or b is None or b == 0 or not math.isfinite(a / b * m) else a / b * m
            for a, b, m in zip(num, den, mult, strict=True)
        ]
    elif value_mode == "free":
        value = _column(draw, n, kind["value"])
    elif value_mode == "equal":
        value = [draw(numbers(kind["value"]))] * n
    else:
        value = [None] * n
    ci_mode = draw(one(["absent", "absent", "around", "one_missing", "swapped", "free"]))
    half = _fractions(draw, n, 50.0, (0.0, 1e-9, 1e6))
    if ci_mode == "around":
        lower = [None if v is None else v - h for v, h in zip(value, half, strict=True)]
        upper = [None if v is None else v + h for v, h in zip(value, half, strict=True)]
    elif ci_mode == "one_missing":
        lower = [None if v is None else v - h for v, h in zip(value, half, strict=True)]
        upper = [None if v is None or i == 0 else v + h for i, (v, h) in enumerate(zip(value, half, strict=True))]
    elif ci_mode == "swapped":
        lower = [None if v is None else v + h for v, h in zip(value, half, strict=True)]
        upper = [None if v is None else v - h for v, h in zip(value, half, strict=True)]
    elif ci_mode == "free":
        lower, upper = _column(draw, n, kind["ci"]), _column(draw, n, kind["ci"])
    else:
        lower = upper = [None] * n
    # out of range floats from arithmetic (v - h with v = 1e15 ...) are still floats: fine
    data: dict[str, pl.Series] = {
        "indicator_id": pl.Series([r[0].id for r in rows], dtype=pl.String),
        "area_code": pl.Series([r[1] for r in rows], dtype=pl.String),
        "period": pl.Series([r[2] for r in rows], dtype=pl.String),
        "numerator": pl.Series(num, dtype=pl.Float64),
        "denominator": pl.Series(den, dtype=pl.Float64),
        "value": pl.Series(value, dtype=pl.Float64),
        "lower_ci": pl.Series(lower, dtype=pl.Float64),
        "upper_ci": pl.Series(upper, dtype=pl.Float64),
    }
    for key in ("sex", "age", "category_type", "category"):
        if any(key in r[3] for r in rows):
            data[key] = pl.Series([r[3].get(key) for r in rows], dtype=pl.String)
    if draw(ints(0, 3)) == 0:
        start = draw(one(["consistent", "random", "odd"]))
        if start == "consistent":
            starts = {p: dt.date(1990 + i, 4, 1) for i, p in enumerate(sorted(set(periods)))}
            data["period_start"] = pl.Series([starts[r[2]] for r in rows], dtype=pl.Date)
        elif start == "random":
            data["period_start"] = pl.Series(
                draw(st.lists(st.dates(dt.date(1700, 1, 1), dt.date(2300, 1, 1)), min_size=n, max_size=n)), dtype=pl.Date
            )
        else:
            data["period_start"] = pl.Series(
                draw(st.lists(one(["2020-01-01", "31/12/2020", "", "x"]), min_size=n, max_size=n)), dtype=pl.String
            )
        notes.append(f"period_start {start}")
    if draw(ints(0, 9)) == 0:  # an unknown indicator id
        ids = data["indicator_id"].to_list()
        if ids:
            ids[0] = draw(one(["fz.unknown", "", "Health.X", *ODD_TEXT]))
            data["indicator_id"] = pl.Series(ids, dtype=pl.String)
            notes.append("an unknown indicator id")
    frame = pl.DataFrame(data)
    frame = draw(_spoil(frame, notes)) if spoil else frame
    area_frame = draw(areas_frames(frame, notes)) if draw(st.floats(0, 1)) < areas else None
    spend_frame = draw(spend_frames(frame, inds, notes)) if draw(st.floats(0, 1)) < spend else None
    return Case(frame, inds, area_frame, spend_frame, notes)


@st.composite
def _spoil(draw: st.DrawFn, frame: pl.DataFrame, notes: list[str]) -> pl.DataFrame:
    """Sometimes: a wrong dtype, a missing column, or no rows at all."""
    how = draw(one(["none"] * 6 + ["dtype", "drop", "empty", "one_row"]))
    if how == "none":
        return frame
    notes.append(f"spoilt: {how}")
    if how == "empty":
        return frame.head(0)
    if how == "one_row":
        return frame.head(1)
    column = draw(one(frame.columns))
    if how == "drop":
        return frame.drop(column)
    n = frame.height
    bad = draw(one(["text", "numbers_as_text", "list", "bool", "int", "date", "null"]))
    notes.append(f"{column} as {bad}")
    if bad == "text":
        series = pl.Series(
            column,
            draw(st.lists(one(ODD_TEXT + ["12", "1e300", "nan", "inf", "-5", "1,000"]), min_size=n, max_size=n)),
            dtype=pl.String,
        )
    elif bad == "numbers_as_text":
        series = frame.get_column(column).cast(pl.String)
    elif bad == "list":
        series = pl.Series(column, [[1.0, 2.0]] * n, dtype=pl.List(pl.Float64))
    elif bad == "bool":
        series = pl.Series(column, draw(st.lists(BOOLS, min_size=n, max_size=n)), dtype=pl.Boolean)
    elif bad == "int":
        series = pl.Series(column, draw(st.lists(ints(-(2**63), 2**63 - 1), min_size=n, max_size=n)), dtype=pl.Int64)
    elif bad == "date":
        series = pl.Series(column, [dt.date(2020, 1, 1)] * n, dtype=pl.Date)
    else:
        series = pl.Series(column, [None] * n)
    return frame.with_columns(series.alias(column))


@st.composite
def areas_frames(draw: st.DrawFn, values: pl.DataFrame | None = None, notes: list[str] | None = None) -> pl.DataFrame:
    """An areas frame: the values' codes (some missing, some extra), odd populations and deprivation."""
    notes = notes if notes is not None else []
    codes = (
        values.get_column("area_code").unique(maintain_order=True).to_list()
        if values is not None and "area_code" in values.columns and values.schema["area_code"] == pl.String
        else []
    )
    codes = [c for c in codes if c is not None]
    extra = draw(st.lists(one(AREA_CODES), max_size=4))
    codes = list(dict.fromkeys(codes + extra))
    if codes and draw(ints(0, 9)) == 0:
        codes = codes[1:]
        notes.append("areas: one code missing")
    n = len(codes)
    kind = draw(one(["clean", "clean", "edgy", "hostile"]))
    notes.append(f"areas {kind}")
    population = _column(draw, n, kind)
    dep_mode = draw(one(["clean", "equal", "null", "edgy", "hostile"]))
    if dep_mode == "clean":
        deprivation = _fractions(draw, n, 80.0, (0.0, 80.0))
    elif dep_mode == "equal":
        deprivation = [draw(st.floats(0, 80))] * n
    elif dep_mode == "null":
        deprivation = [None] * n
    else:
        deprivation = _column(draw, n, dep_mode)
    data = {
        "area_code": pl.Series(codes, dtype=pl.String),
        "area_name": pl.Series(
            draw(st.lists(one(["Alpha", "Beta", "Ynys Môn", *ODD_TEXT]), min_size=n, max_size=n)), dtype=pl.String
        ),
        "area_type": pl.Series(
            draw(
                st.lists(
                    one([None, "Unitary authority", "County", "Region", "Country", "Police force area", "nonsense"]),
                    min_size=n,
                    max_size=n,
                )
            ),
            dtype=pl.String,
        ),
        "parent_code": pl.Series(draw(st.lists(one([None, *AREA_CODES[:4], "ZZ"]), min_size=n, max_size=n)), dtype=pl.String),
        "population": pl.Series(population, dtype=pl.Float64),
        "deprivation": pl.Series(deprivation, dtype=pl.Float64),
    }
    if draw(ints(0, 3)) == 0:
        data["density"] = pl.Series(_column(draw, n, draw(one(["clean", "edgy"]))), dtype=pl.Float64)
    if draw(ints(0, 4)) == 0:
        data["hex_q"] = pl.Series(draw(st.lists(ints(-3, 3), min_size=n, max_size=n)), dtype=pl.Int64)
        data["hex_r"] = pl.Series(draw(st.lists(ints(-3, 3), min_size=n, max_size=n)), dtype=pl.Int64)
    frame = pl.DataFrame(data)
    if draw(ints(0, 9)) == 0:
        frame = draw(_spoil(frame, notes))
    return frame


@st.composite
def spend_frames(draw: st.DrawFn, values: pl.DataFrame, inds: list[Indicator], notes: list[str]) -> pl.DataFrame:
    """Spend for the values' areas and periods, for the indicators' services (odd amounts)."""

    def column(name: str) -> list[Any]:
        if name in values.columns and values.schema[name] == pl.String:
            return [c for c in values.get_column(name).unique(maintain_order=True).to_list() if c is not None]
        return []

    services = list(dict.fromkeys(str(i.service) for i in inds)) + draw(st.lists(one(["other", "é"]), max_size=1))
    keys = [(a, p, s) for a in column("area_code") for p in column("period") for s in services][:80]
    if keys and draw(BOOLS):
        keep = draw(st.lists(BOOLS, min_size=len(keys), max_size=len(keys)))
        keys = [k for k, x in zip(keys, keep, strict=True) if x]
    kind = draw(one(["clean", "clean", "edgy", "hostile"]))
    notes.append(f"spend {kind}")
    n = len(keys)
    amounts = [None if x is None else x * 1000 for x in _column(draw, n, kind)]
    if amounts and draw(ints(0, 4)) == 0:
        amounts[draw(ints(0, n - 1))] = draw(one([0.0, -1e6]))  # no spend; net income
    frame = pl.DataFrame(
        {
            "area_code": pl.Series([k[0] for k in keys], dtype=pl.String),
            "period": pl.Series([k[1] for k in keys], dtype=pl.String),
            "service": pl.Series([k[2] for k in keys], dtype=pl.String),
            "spend": pl.Series(amounts, dtype=pl.Float64),
        }
    )
    if draw(ints(0, 9)) == 0:
        frame = draw(_spoil(frame, notes))
    return frame


# -- the door -------------------------------------------------------------------------------


def dataset(case: Case) -> Any:
    return run("Dataset(...)", ps.Dataset, case.values, areas=case.areas, spend=case.spend, indicators=case.inds, case=case)


@fuzz_settings(1000)
@given(values_frames())
@counted("frames: door (validate_*, Dataset, comparison_values, combine)")
def test_fuzz_the_door(case):
    values = run("validate_values(values)", ps.validate_values, case.values, case=case)
    run("validate_values(values, indicators)", ps.validate_values, case.values, case.indmap, case=case)
    areas = run("validate_areas(areas)", ps.validate_areas, case.areas, case=case) if case.areas is not None else None
    if case.spend is not None:
        run("validate_spend(spend)", ps.validate_spend, case.spend, case=case)
    if values is not None and areas is not None:
        run("comparison_values(values, areas)", ps.comparison_values, values, areas, case=case)
    ds = dataset(case)
    if ds is not None:
        run("repr(Dataset)", repr, ds, case=case)
        run("Dataset._repr_html_()", ds._repr_html_, case=case)
        conflict = "first" if len(case.notes) % 2 else "error"  # either way of settling a clash, cheaply chosen
        combined = run(f"combine(ds, ds, on_conflict={conflict!r})", ps.combine, ds, ds, on_conflict=conflict, case=case)
        if combined is not None:
            run("repr(combine(...))", repr, combined, case=case)
            run("combine(...).report.summary()", combined.report.summary, case=case)


# -- statistics and results ---------------------------------------------------------------------


def _data(case: Case) -> list[tuple[str, Any, dict[str, Any]]]:
    """The ways a user passes the case: as a Dataset, and as a plain frame with indicators= (and areas=)."""
    out: list[tuple[str, Any, dict[str, Any]]] = []
    ds = dataset(case)
    if ds is not None:
        out.append(("ds", ds, {}))
    plain = {"indicators": case.inds, **({"areas": case.areas} if case.areas is not None else {})}
    out.append(("frame", case.values, plain))
    return out


PICK = ints(0, 2**16)  # which chart of a result to draw


@fuzz_settings(250)
@given(values_frames(), PICK)
@counted("frames: outcomes, compare")
def test_fuzz_outcomes(case, pick):
    for how, data, kw in _data(case):
        run(f"outcomes({how})", ps.outcomes, data, **kw, case=case)
        look_at(f"compare({how})", run(f"compare({how})", ps.compare, data, **kw, case=case), case, pick)


@fuzz_settings(160)
@given(values_frames(), PICK)
@counted("frames: funnel_check, rank_areas, grade_areas")
def test_fuzz_funnels_ranks_and_grades(case, pick):
    for how, data, kw in _data(case):
        for ind in case.inds:
            look_at(
                f"funnel_check({how}, {ind.id!r})",
                run("funnel_check", ps.funnel_check, data, ind.id, **kw, case=case),
                case,
                pick,
            )
            look_at(
                f"rank_areas({how}, {ind.id!r})",
                run("rank_areas", ps.rank_areas, data, ind.id, n_sims=2000 if pick % 4 == 0 else 200, **kw, case=case),
                case,
                pick,
            )
        kw = {k: v for k, v in kw.items() if k != "areas"}
        look_at(f"grade_areas({how})", run("grade_areas", ps.grade_areas, data, **kw, case=case), case, pick)


@fuzz_settings(200)
@given(values_frames(), PICK)
@counted("frames: fairness, postcode_lottery")
def test_fuzz_fairness(case, pick):
    for how, data, kw in _data(case):
        run(f"fairness({how})", ps.fairness, data, **kw, case=case)  # the defaults: 10,000 repetitions
        look_at(f"postcode_lottery({how})", run("postcode_lottery", ps.postcode_lottery, data, **kw, case=case), case, pick)


@fuzz_settings(300)
@given(values_frames(areas=0.95, spend=0.95), PICK)
@counted("frames: value_for_money, service_frontier, spend_vs_outcome")
def test_fuzz_value_for_money(case, pick):
    for how, data, kw in _data(case):
        if how == "frame" and case.spend is not None:
            kw = {**kw, "spend": case.spend}
        run(f"value_for_money({how})", ps.value_for_money, data, **kw, case=case)
        frontier = run(f"service_frontier({how})", ps.service_frontier, data, **kw, case=case)
        if frontier is not None:
            run(f"repr(service_frontier({how}))", repr, frontier, case=case)
        for ind in case.inds:
            look_at(
                f"spend_vs_outcome({how}, {ind.id!r})",
                run("spend_vs_outcome", ps.spend_vs_outcome, data, ind.id, **kw, case=case),
                case,
                pick,
            )


# -- frames that are not values: DEA inputs, areas for neighbours ---------------------------------


@st.composite
def dea_frames(draw: st.DrawFn) -> tuple[pl.DataFrame, list[str], list[str], dict[str, Any]]:
    n = draw(ints(0, 12))
    n_in, n_out = draw(ints(1, 2)), draw(ints(1, 2))
    kind = draw(one(["clean", "clean", "clean", "edgy", "hostile"]))
    data: dict[str, Any] = {
        "area_code": pl.Series(
            draw(st.lists(one(AREA_CODES + ODD_TEXT), min_size=n, max_size=n, unique=draw(ints(0, 9)) > 0)), dtype=pl.String
        )
    }
    cols = [f"in{i}" for i in range(n_in)] + [f"out{i}" for i in range(n_out)]
    for c in cols:
        mode = draw(one(["column", "column", "column", "equal", "scaled"]))
        if mode == "equal":
            data[c] = pl.Series([draw(numbers(kind))] * n, dtype=pl.Float64)
        elif mode == "scaled" and c != cols[0]:
            data[c] = data[cols[0]] * draw(one([1.0, 2.0, 1e10, 1e-10]))
        else:
            data[c] = pl.Series(_column(draw, n, kind), dtype=pl.Float64)
    frame = pl.DataFrame(data)
    notes: list[str] = []
    frame = draw(_spoil(frame, notes)) if draw(ints(0, 5)) == 0 else frame
    options = {"model": draw(one(["ccr", "bcc"])), "orientation": draw(one(["input", "output"])), "slacks": draw(BOOLS)}
    return frame, cols[:n_in], cols[n_in:], options


@dataclass
class Call:
    """A generated call: a frame and options (shown on failure as Python)."""

    frame: pl.DataFrame
    args: dict[str, Any]

    def python(self) -> str:
        return (
            f"frame = pl.DataFrame({self.frame.to_dict(as_series=False)!r}, schema={dict(self.frame.schema)!r})\n"
            f"options = {self.args!r}"
        )


@fuzz_settings(1100)
@given(dea_frames())
@counted("frames: dea")
def test_fuzz_dea(drawn):
    frame, inputs, outputs, options = drawn
    case = Call(frame, {"inputs": inputs, "outputs": outputs, **options})
    result = run("dea", ps.dea, frame, inputs, outputs, **options, case=case)
    if result is not None:
        run("repr(dea(...))", repr, result, case=case)


@fuzz_settings(1100)
@given(areas_frames(), ints(-1, 20), one(["euclidean", "euclidean", "mahalanobis", "manhattan"]), one([None, "auto"]))
@counted("frames: nearest_neighbours")
def test_fuzz_nearest_neighbours(areas, k, metric, within):
    case = Call(areas, {"k": k, "metric": metric, "within": within})
    covariates = [c for c in ("population", "deprivation", "density") if c in areas.columns] or None
    run("nearest_neighbours", ps.nearest_neighbours, areas, k=k, covariates=covariates, metric=metric, within=within, case=case)


# -- hostile files ---------------------------------------------------------------------------

CONTRACT_HEADER = ["indicator_id", "area_code", "period", "numerator", "denominator", "value", "lower_ci", "upper_ci"]
FINGERTIPS_HEADER = [
    "Indicator ID",
    "Indicator Name",
    "Parent Code",
    "Parent Name",
    "Area Code",
    "Area Name",
    "Area Type",
    "Sex",
    "Age",
    "Category Type",
    "Category",
    "Time period",
    "Value",
    "Lower CI 95.0 limit",
    "Upper CI 95.0 limit",
    "Lower CI 99.8 limit",
    "Upper CI 99.8 limit",
    "Count",
    "Denominator",
    "Value note",
    "Recent Trend",
    "Compared to England value or percentiles",
    "Compared to percentiles",
    "Time period Sortable",
    "New data",
    "Compared to goal",
    "Time period range",
]
FINGERTIPS_SNAKE = [
    "indicator_id",
    "indicator",
    "value_type",
    "polarity",
    "period_type",
    "year",
    "area_code",
    "sex",
    "age",
    "category_type",
    "category",
    "numerator",
    "denominator",
    "value",
    "lower_ci",
    "upper_ci",
    "trend",
]
ELS_HEADER = [
    "area_code",
    "area_name",
    "geography",
    "indicator",
    "period_start",
    "period_length",
    "value",
    "measure",
    "unit",
    "lower_ci",
    "upper_ci",
    "status",
    "notes",
]
ELS_INDICATORS = [
    "Claimant Count",
    "Preventable cardiovascular mortality (England)",
    "Children in relative low income families",
    "GCSE English and maths",
    "Persistent absence",
    "Homicide rate",
    "Healthy life expectancy",
    "Made up",
    "",
]
FINGERTIPS_IDS = ["241", "90362", "93553", "92489", "1", "x", ""]
CELLS = [
    "",
    "0",
    "1",
    "12",
    "-3",
    "1e300",
    "NaN",
    "inf",
    "1,000",
    "12.5",
    "100",
    "99.9",
    "  7 ",
    "x",
    "*",
    ":",
    "..",
    "c",
    "2020",
    "2020/21",
    "2022-01-01",
    "P1Y",
    "P3Y",
    "Persons",
    "Male",
    "All ages",
    "Proportion",
    "Rate per 100,000 population",
    "Percentage",
    "Lower is better",
    "Higher is better",
    "No judgement",
    "E92000001",
    "E06000001",
    "E07000001",
    "E12000001",
    "E10000001",
    "Nation",
    "Region",
    "Local authority",
    '"',
    '"quoted, comma"',
    'a"b',
    "é",
    "漢字",
    "\x1b[2J",
    "<b>",
    "\u202e",
]


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A CSV in a published layout (contract, Fingertips, ELS ...) with garbage in its cells and bytes."""
    layout = draw(one(["contract", "contract", "fingertips", "fingertips_snake", "els", "els", "random"]))
    if layout == "contract":
        header = list(CONTRACT_HEADER) + draw(
            st.lists(one(["sex", "age", "period_start", "area_name", "extra"]), max_size=2, unique=True)
        )
    elif layout == "fingertips":
        header = list(FINGERTIPS_HEADER)
    elif layout == "fingertips_snake":
        header = list(FINGERTIPS_SNAKE)
    elif layout == "els":
        header = list(ELS_HEADER)
    else:
        header = draw(st.lists(one(CONTRACT_HEADER + ELS_HEADER + ODD_TEXT[:6]), min_size=1, max_size=8))
    if draw(ints(0, 9)) == 0 and header:  # a garbled header
        i = draw(ints(0, len(header) - 1))
        header[i] = draw(one(["", header[i].upper(), header[i] + " ", "é", header[i][:-1] or "x"]))
    n = draw(ints(0, 12))
    garbage = draw(one(["none", "none", "light", "heavy"]))
    ragged = draw(ints(0, 9)) == 0
    rows = []
    for r in range(n):
        row = [_plausible(draw, c, layout) for c in header]
        if row and (garbage == "heavy" or (garbage == "light" and r == 0)):  # garbage in some cells
            for _ in range(draw(ints(1, 3))):
                row[draw(ints(0, len(row) - 1))] = draw(one(CELLS))
        _coherent(header, row)
        if ragged and draw(BOOLS):
            row = row[:-1] if draw(BOOLS) else [*row, "extra"]
        rows.append(row)

    def cell(x: str) -> str:
        return f'"{x}"' if ("," in x and not x.startswith('"')) else x

    newline = draw(one(["\n", "\n", "\r\n", "\r"]))
    text = newline.join(",".join(cell(x) for x in row) for row in [header, *rows])
    if draw(BOOLS):
        text += newline
    if draw(ints(0, 9)) == 0:
        text = text.replace(newline, newline + newline, 1)  # a blank line
    encoding = draw(one(["utf-8"] * 6 + ["utf-8-sig", "cp1252", "latin-1", "utf-16", "garbage"]))
    if encoding == "garbage":
        data = text.encode("utf-8", "replace")
        cut = draw(st.integers(0, max(0, len(data) - 1)))
        data = data[:cut] + draw(st.binary(min_size=1, max_size=8)) + data[cut:]
    else:
        data = text.encode(encoding, "replace")
    if draw(ints(0, 29)) == 0:
        data = data[: draw(ints(0, len(data)))]  # truncated
    return layout, data


def _coherent(header: list[str], row: list[str]) -> None:
    """Put a row's limits around its value and its count under its denominator (where they are numbers)."""

    def number(x: str) -> float | None:
        try:
            return float(x)
        except ValueError:
            return None

    lower = [i for i, c in enumerate(header) if c.lower().startswith("lower")]
    upper = [i for i, c in enumerate(header) if c.lower().startswith("upper")]
    value = [i for i, c in enumerate(header) if c.lower() == "value"]
    for lo, hi in zip(lower, upper, strict=False):  # a header may have a lower limit and no upper one
        cells = [i for i in (lo, *value[:1], hi)]
        nums = [number(row[i]) for i in cells]
        if all(n is not None for n in nums):
            for i, n in zip(cells, sorted(nums), strict=True):  # type: ignore[type-var]
                row[i] = repr(n)
    count = [i for i, c in enumerate(header) if c.lower() in ("numerator", "count")]
    den = [i for i, c in enumerate(header) if c.lower() == "denominator"]
    if count and den:
        a, b = number(row[count[0]]), number(row[den[0]])
        if a is not None and b is not None and a > b:
            row[count[0]], row[den[0]] = row[den[0]], row[count[0]]


def _plausible(draw: st.DrawFn, column: str, layout: str) -> str:
    """A cell that a file of this layout could hold in this column."""
    c = column.lower()
    if c in ("indicator_id", "indicator id"):
        if layout.startswith("fingertips"):
            return draw(one(FINGERTIPS_IDS))
        return draw(
            one(
                [
                    "health.ae_4hr",
                    "health.cvd_mortality_preventable",
                    "schools.attainment8",
                    "welfare.claimant_rate",
                    "policing.homicide_rate",
                    "fz.x",
                ]
            )
        )
    if c in ("indicator", "indicator name"):
        return draw(one(ELS_INDICATORS))
    if c in ("area_code", "area code", "parent code"):
        return draw(one(AREA_CODES[:18]))
    if c == "year":
        return draw(one(["2018", "2019", "2020", "2021"]))
    if c == "period_type":
        return draw(one(["Financial", "Academic", "Calendar", "Calendar"]))
    if c in ("period", "time period"):
        return draw(one(["2019", "2020", "2020/21", "2021/22", "2022 Q1", "2018 - 20"]))
    if c == "period_start":
        return draw(one(["2019-01-01", "2020-04-01", "2021-01-01", "2022-01-01"]))
    if c == "period_length":
        return draw(one(["P1Y", "P3Y", "P1M", "P1Q"]))
    if c in ("sex",):
        return draw(one(SEXES))
    if c in ("age",):
        return draw(one(AGES))
    if c in ("numerator", "count"):
        return draw(one(["0", "1", "5", "12", "140", "3000", ""]))
    if c in ("denominator",):
        return draw(one(["0", "1", "10", "150", "3000", "100000", ""]))
    if c in ("value", "lower_ci", "upper_ci") or "ci" in c:
        return draw(one(["0", "1.5", "12.3", "55", "99.9", "100", "250.4", "", "-2"]))
    if c == "value_type":
        return draw(
            one(
                [
                    "Proportion",
                    "Crude rate",
                    "Directly standardised rate",
                    "Indirectly standardised ratio",
                    "Score",
                    "Count",
                    "Mean",
                ]
            )
        )
    if c == "measure":
        return draw(one(["Percentage", "Rate per 100,000 population", "Proportion", "Mean", "Count", ""]))
    if c in ("unit",):
        return draw(one(["%", "Rate per 100,000 population", "Count", ""]))
    if c in ("geography", "area type"):
        return draw(one(["Nation", "Region", "Local authority", "Unitary Authority", "Counties & UAs", ""]))
    if c in ("polarity",):
        return draw(one(["Lower is better", "Higher is better", "No judgement", "RAG - Low is good", ""]))
    if c in ("area_name", "area name", "parent name"):
        return draw(one(["England", "Alpha", "Ynys Môn", "<b>x</b>"]))
    return draw(one(["", "x", "1"]))


@dataclass
class File:
    layout: str
    data: bytes
    path: Path

    def python(self) -> str:
        return f"# layout {self.layout}\nPath({str(self.path.name)!r}).write_bytes({self.data!r})"


@contextlib.contextmanager
def written(drawn: tuple[str, bytes]) -> Iterator[File]:
    """The drawn file, written to a fresh temporary folder (removed afterwards)."""
    layout, data = drawn
    with tempfile.TemporaryDirectory(prefix="publicservices-fuzz-") as folder:
        path = Path(folder) / f"{layout}.csv"
        path.write_bytes(data)
        yield File(layout, data, path)


@fuzz_settings(1000)
@given(csv_files(), PICK)
@counted("files: read, Dataset, outcomes, fairness, compare")
def test_fuzz_files(drawn, pick):
    with written(drawn) as file:
        result = run("read(path)", ps.read, file.path, case=file)
        if result is None:
            return
        run("LoadReport.summary()", result.report.summary, case=file)
        ds = run("ReadResult.to_dataset()", result.to_dataset, case=file)
        if ds is None:
            return
        run("outcomes(read(path).to_dataset())", ps.outcomes, ds, case=file)
        run("fairness(read(path).to_dataset())", ps.fairness, ds, case=file)
        if pick % 3 == 0:  # results and charts of files: a third of them (the frame tests draw many more)
            look_at("compare(read(path).to_dataset())", run("compare", ps.compare, ds, case=file), file, pick)


def invoke(args: list[str], case: Any, limit: float = LIMIT) -> None:
    """Run the CLI in-process: exit status 0 or 1, and never an uncaught exception."""
    from click.testing import CliRunner

    from publicservices.cli import cli

    what = "publicservices " + " ".join(args[:1])
    try:
        with time_limit(limit, what):
            outcome = CliRunner().invoke(cli, args)
    except Hang as exc:
        if COLLECT is not None:
            COLLECT.append((what, exc, shown(case)))
            return
        pytest.fail(f"HANG: {exc}\ninput:\n{shown(case)}", pytrace=False)
    CALLS[what, f"exit {outcome.exit_code}"] += 1
    if COLLECT is not None and outcome.exit_code == 1:
        REASONS[what, " | ".join(outcome.output.strip().splitlines()[:3])[:200]] += 1
    problem = outcome.exception if not isinstance(outcome.exception, (SystemExit, type(None))) else None
    if problem is None and outcome.exit_code not in (0, 1):
        problem = AssertionError(f"exit status {outcome.exit_code}: {outcome.output[-2000:]}")
    if problem is not None:
        if COLLECT is not None:
            COLLECT.append((what, problem, shown(case)))
            return
        raise AssertionError(f"{what} raised {type(problem).__name__}: {str(problem)[:2000]}\ninput:\n{shown(case)}") from problem


@fuzz_settings(40)
@given(csv_files())
@counted("files: CLI validate FILE")
def test_fuzz_cli_validate(drawn):
    with written(drawn) as file:
        invoke(["validate", str(file.path)], file)


@fuzz_settings(10)
@given(csv_files())
@counted("files: CLI publish FILE --generate-only")
def test_fuzz_cli_publish_files(drawn):
    with written(drawn) as file:
        invoke(
            ["publish", str(file.path), "--generate-only", "--quiet", "--out", str(file.path.parent / "site")],
            file,
            limit=LIMIT * 3,
        )


@fuzz_settings(10)
@given(values_frames(hostility=("clean", "clean", "clean", "edgy"), spoil=False, min_areas=3))
@counted("frames: CLI publish DATASET --generate-only")
def test_fuzz_cli_publish_datasets(case):
    """Frames that pass the door, written as a dataset folder (with their indicators) and published."""
    ds = dataset(case)
    if ds is None:
        return
    with tempfile.TemporaryDirectory(prefix="publicservices-fuzz-") as folder:
        ds.to_dir(Path(folder) / "data")
        invoke(
            ["publish", str(Path(folder) / "data"), "--generate-only", "--quiet", "--out", str(Path(folder) / "site")],
            case,
            limit=LIMIT * 3,
        )
