"""Result objects display themselves: snapshot tests per environment, escaping, themes.

Golden files live in ``tests/golden/display/<environment>/``. The HTML environments
(JupyterLab, VS Code, Quarto) all read ``_repr_html_``, so they share one golden HTML per
result, and each environment's own constraints are checked on it; terminals read
``__repr__``. Regenerate after an intended change with::

    PUBLICSERVICES_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_display.py

and review the diff.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publicservices.display import PALETTE, Block, Column, category_colour, format_interval, format_number, number_expr
from publicservices.indicators import Indicator
from publicservices.results import (
    FairnessResult,
    FunnelResult,
    OutcomeResult,
    RankingResult,
    ReportCardResult,
    ValueResult,
)

GOLDEN = Path(__file__).parent / "golden" / "display"
UPDATE = os.environ.get("PUBLICSERVICES_UPDATE_GOLDEN", "") not in ("", "0")

SHARE = Indicator(
    id="demo.share",
    title="Seen within 4 hours",
    sector="demo",
    measure="proportion",
    multiplier=100,
    polarity="higher_is_better",
    unit="%",
    floor=95.0,
)
RATE = Indicator(
    id="demo.deaths",
    title="Preventable deaths",
    sector="demo",
    measure="rate",
    multiplier=100000,
    polarity="lower_is_better",
    unit="per 100,000",
)
NAMES = [
    "Ashby & Crewe",
    "<script>alert(1)</script>",
    'Bryn "Quote"',
    "Dunmore",
    "Elm's Cross",
    "Fenwick",
    "Garth",
    "Holm",
    "Ilsley",
    "Jarrow",
    "Kirkby",
    "Lowick",
]
CODES = [f"X06{i:06d}" for i in range(1, 13)]
AREAS = pl.DataFrame({"area_code": CODES, "area_name": NAMES})


def outcome_result() -> OutcomeResult:
    values = [97.1, 96.0, 95.4, 94.9, 94.0, 93.2, 92.5, 91.0, 90.2, 89.9, 88.0, 85.5]
    frame = pl.DataFrame(
        {
            "indicator_id": ["demo.share"] * 12,
            "area_code": CODES,
            "period": ["2023/24"] * 12,
            "period_start": [dt.date(2023, 4, 1)] * 12,
            "value": values,
            "lower_95": [v - 1.5 for v in values],
            "upper_95": [v + 1.2 for v in values],
            "benchmark_value": [92.0] * 12,
            "comparison_95": [
                "better",
                "better",
                "better",
                "better",
                "similar",
                "similar",
                "similar",
                "similar",
                "similar",
                "worse",
                "worse",
                "worse",
            ],
            "prob_worse": [0.0, 0.0, 0.01, 0.02, 0.3, 0.4, 0.55, 0.8, 0.9, 0.97, 0.99, 0.999],
            "floor_status": [
                "meets",
                "meets",
                "meets",
                "possibly below",
                "possibly below",
                "confidently below",
                "confidently below",
                "confidently below",
                "confidently below",
                "confidently below",
                "confidently below",
                "confidently below",
            ],
            "recent_trend": ["No significant change"] * 10 + ["Decreasing and getting worse", "Increasing and getting better"],
        }
    )
    return OutcomeResult.from_frame(frame, indicators=[SHARE], areas=AREAS)


def funnel_result() -> FunnelResult:
    points = pl.DataFrame(
        {
            "indicator_id": ["demo.deaths"] * 4,
            "area_code": CODES[:4],
            "period": ["2023/24"] * 4,
            "value": [180.0, 120.0, 95.0, 60.0],
            "precision": [20000.0, 50000.0, 90000.0, 150000.0],
            "baseline": [110.0] * 4,
            "z_adjusted": [3.5, 0.4, -0.9, -4.1],
            "lower_998": [40.0, 65.0, 80.0, 86.0],
            "upper_998": [190.0, 160.0, 142.0, 135.0],
            "position_95": ["above", "within", "within", "below"],
            "position_998": ["within", "within", "within", "below"],
            "significance": ["High (0.025)", "Not significant", "Not significant", "Low (0.001)"],
            "comparison": ["worse (95%)", "similar", "similar", "better (99.8%)"],
        }
    )
    dispersion = pl.DataFrame({"overdispersion": ["none"], "phi": [3.2], "tau2": [55.0]})
    return FunnelResult(points, dispersion=dispersion, indicator=RATE, areas=AREAS)


def ranking_result() -> RankingResult:
    frame = pl.DataFrame(
        {
            "indicator_id": ["demo.share"] * 5,
            "area_code": CODES[:5],
            "value": [97.1, 96.0, 95.4, 94.9, 94.0],
            "lower_95": [95.6, 94.5, 93.9, 93.4, 92.5],
            "upper_95": [98.3, 97.2, 96.6, 96.1, 95.2],
            "rank": [1, 2, 3, 4, 5],
            "median_rank": [1, 2, 3, 4, 5],
            "rank_lower_95": [1, 1, 1, 2, 3],
            "rank_upper_95": [2, 4, 5, 5, 5],
            "p_top": [0.91, 0.4, 0.2, 0.05, 0.0],
            "p_bottom": [0.0, 0.02, 0.1, 0.3, 0.6],
        }
    )
    return RankingResult.from_frame(frame, indicators=[SHARE], areas=AREAS)


def report_card_result() -> ReportCardResult:
    frame = pl.DataFrame(
        {
            "area_code": CODES[:4],
            "score_environment": [80.0, 55.0, 30.0, 10.0],
            "score_progress": [90.0, 40.0, 45.0, 5.0],
            "score": [87.0, 44.5, 40.5, 6.5],
            "grade": ["A", "C", "C", "F"],
            "p_grade_change": [0.0, 0.35, 0.1, 0.0],
            "grade_best": ["A", "B", "C", "F"],
            "grade_worst": ["A", "D", "C", "F"],
        }
    )
    return ReportCardResult.from_frame(frame, areas=AREAS)


def fairness_result() -> FairnessResult:
    frame = pl.DataFrame(
        {
            "indicator_id": ["demo.share", "demo.deaths"],
            "period": ["2023/24", "2023/24"],
            "period_start": [dt.date(2023, 4, 1)] * 2,
            "true_cv": [0.064, 0.29],
            "true_cv_lower_95": [0.055, 0.257],
            "true_cv_upper_95": [0.07, 0.325],
            "i2": [0.98, 0.97],
            "sii": [10.5, -100.2],
            "sii_lower_95": [10.1, -104.0],
            "sii_upper_95": [10.9, -97.1],
            "gini": [0.021, 0.14],
            "summary": [
                "About 98% of the variation between areas in Seen within 4 hours is larger than chance would produce.",
                "About 97% of the variation between areas in Preventable deaths is larger than chance would produce.",
            ],
        }
    )
    return FairnessResult.from_frame(frame, indicators=[SHARE, RATE])


def value_result() -> ValueResult:
    frame = pl.DataFrame(
        {
            "indicator_id": ["demo.share"] * 3,
            "area_code": CODES[:3],
            "period": ["2023/24"] * 3,
            "spend_per_head": [310.0, 280.5, 402.0],
            "value": [97.1, 96.0, 95.4],
            "expected": [95.0, 94.8, 96.9],
            "residual_lower": [0.6, -0.3, -2.9],
            "residual_upper": [3.6, 2.7, -0.1],
            "assessment": [
                "achieves more than expected for its spend and need",
                "as expected for its spend and need",
                "achieves less than expected for its spend and need",
            ],
            "efficiency": [1.0, 1.0, 0.93],
            "efficient": [True, True, False],
        }
    )
    return ValueResult.from_frame(frame, indicators=[SHARE], areas=AREAS)


def international_result():
    from publicservices.results import compare_internationally

    frame = pl.DataFrame(
        {
            "indicator_id": ["demo.share"] * 4,
            "area_code": CODES[:4],
            "period": ["2022"] * 4,
            "value": [97.1, 96.0, 99.4, 90.2],
            "standard_error": [0.6, 0.5, 0.7, 1.1],
        }
    )
    return compare_internationally(frame, CODES[0], indicators=[SHARE], n_boot=200)


CASES = {
    "international": international_result,
    "outcomes": outcome_result,
    "funnel": funnel_result,
    "ranking": ranking_result,
    "report_cards": report_card_result,
    "fairness": fairness_result,
    "value": value_result,
}
HTML_ENVIRONMENTS = ("jupyterlab", "vscode", "quarto")


def check_golden(path: Path, text: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if not path.exists():  # never written silently: a missing snapshot is a failure everywhere
        pytest.fail(f"golden file {path} is missing (set PUBLICSERVICES_UPDATE_GOLDEN=1, review and commit it)")
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} differs from its snapshot; if the change is intended, regenerate with PUBLICSERVICES_UPDATE_GOLDEN=1"
    )


class _Structure(HTMLParser):
    """Checks that tags nest and close, and collects what a sanitiser would care about."""

    VOID = {"br", "img", "hr", "meta", "input", "col"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.styles += [v or "" for k, v in attrs if k == "style"]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Structure:
    parser = _Structure()
    parser.feed(html)
    parser.close()
    assert not parser.errors and not parser.stack, (parser.errors, parser.stack)
    return parser


# -- snapshots -------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", HTML_ENVIRONMENTS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_html_snapshot(case, environment):
    html = CASES[case]()._repr_html_()
    check_golden(GOLDEN / "html" / f"{case}.html", html)
    structure = parse(html)
    if environment == "jupyterlab":
        # JupyterLab's sanitiser (untrusted notebooks) strips <style>, <script> and external
        # resources: everything must survive as inline styles.
        assert not {"script", "style", "link", "iframe", "img"} & set(structure.tags)
        assert "url(" not in html and "http" not in html
    elif environment == "vscode":
        # VS Code themes set the page colours: text must inherit, backgrounds stay transparent.
        assert "color:inherit" in structure.styles[0] and "background:transparent" in structure.styles[0]
        fixed = [s for s in structure.styles if re.search(r"(?<![-\w])color:#", s)]
        assert all(re.fullmatch(r"color:#[0-9A-Fa-f]{6}", s) for s in fixed), fixed  # only the category dots
        assert "background:#" not in html and "background-color" not in html
    else:  # quarto: raw HTML inside Markdown ends at a blank line, and indented lines become code
        assert "\n" not in html
        assert html.startswith("<div")


@pytest.mark.parametrize("case", sorted(CASES))
def test_text_snapshot(case):
    text = repr(CASES[case]())
    check_golden(GOLDEN / "terminal" / f"{case}.txt", text)
    assert "<" not in text.replace("<script>alert(1)</script>", "") and "\x1b[" not in text
    lines = text.splitlines()
    table = lines[lines.index("") + 1 :]
    assert all(len(line) <= 100 for line in table[:-1]), "a table row is wider than a terminal"
    assert set(table[1]) <= {"-", " "}  # the rule under the header


# -- what the display must say ---------------------------------------------------------------


def test_html_escapes_every_string_from_data():
    html = outcome_result()._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Ashby &amp; Crewe" in html
    text = repr(outcome_result())
    assert "Ashby & Crewe" in text and "<script>alert(1)</script>" in text  # plain text stays plain


def test_html_shows_headline_first_rows_and_count_of_the_rest():
    result = outcome_result()
    html = result._repr_html_()
    structure = parse(html)
    assert structure.tags.count("tr") == 1 + 10  # header + the first ten rows
    assert "… and 2 more rows (12 in all)." in html
    for sentence in result.sentences():
        import html as html_module

        assert html_module.escape(sentence) in html
    assert "synthetic data" not in html  # only a synthetic Dataset is labelled synthetic


def test_headline_sentences_say_what_the_numbers_mean():
    sentences = outcome_result().sentences()
    assert sentences[0] == (
        "Seen within 4 hours, 2023/24: of 12 areas with a value, 4 are better than the benchmark (92.0%), "
        "5 similar and 3 worse, at 95% confidence."
    )
    assert "7 areas are confidently below the floor of 95.0%, and 2 possibly." in sentences
    assert any("Lowick is the area most likely to be truly worse" in s for s in sentences)
    assert any("1 area is getting better and 1 getting worse" in s for s in sentences)


def test_category_colours_follow_polarity_words():
    html = outcome_result()._repr_html_()
    assert f"color:{PALETTE['better']}" in html and f"color:{PALETTE['worse']}" in html
    assert category_colour("higher") != category_colour("better")
    assert category_colour("worse (99.8%)") == PALETTE["worse"]


def test_display_table_is_sorted_and_marked():
    html = ranking_result()._repr_html_()
    assert 'aria-sort="ascending"' in html
    first_row = re.search(r"<tbody><tr>(.*?)</tr>", html).group(1)
    assert ">1<" in first_row and "Ashby &amp; Crewe" in first_row


def test_terminal_table_drops_columns_rather_than_wrapping():
    frame = pl.DataFrame({f"column_{i}": ["x" * 20] for i in range(10)})
    block = Block(title="Wide", sentences=[], frame=frame, columns=[Column(c, c) for c in frame.columns])
    text = block.text(width=80)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "columns not shown" in text


def test_empty_result_still_displays():
    empty = OutcomeResult.from_frame(outcome_result().frame.head(0), indicators=[SHARE])
    assert parse(empty._repr_html_())
    assert "no area has a value" in repr(empty)


# -- formatting properties -------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_format_number_round_trips_to_three_significant_figures(x):
    text = format_number(x)
    back = float(text.replace(",", ""))
    assert abs(back - x) <= max(abs(x) * 0.006, 0.0051)


def _formatted_column(xs, unit="", digits=3):
    return pl.select(number_expr(pl.lit(pl.Series(xs, dtype=pl.Float64)), unit, digits=digits)).to_series().to_list()


def _near_a_tie(x: float, digits: int) -> bool:
    """Is x within a few ulps of a rounding tie? There x * 10**d can round either way."""
    if x == 0 or not math.isfinite(x):
        return False
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    scaled = abs(x) * 10.0**decimals
    return abs(scaled - math.floor(scaled) - 0.5) < 1e-9 * max(1.0, scaled)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            # (below ~1e-298 the column form keeps Polars' float text, as documented)
            st.floats(min_value=-1e17, max_value=1e17).filter(lambda v: v == 0 or abs(v) > 1e-290),
            st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0]),
            st.floats(min_value=1e-250, max_value=1e-3),
            st.integers(-(10**12), 10**12).map(float),
            st.none(),
        ),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from(["", "%", "per 1,000"]),
    st.integers(1, 6),
)
def test_the_column_form_writes_what_format_number_writes(xs, unit, digits):
    # one rule, two forms: the vectorised one (site tables and chart text) against the scalar reference
    got = _formatted_column(xs, unit, digits)
    for x, text in zip(xs, got, strict=True):
        if x is not None and _near_a_tie(x, digits):
            continue
        assert text == format_number(x, unit=unit, digits=digits), x


def test_powers_of_ten_and_their_neighbours_are_formatted_alike_in_both_forms():
    # Polars' log10(1000.0) is 2.9999999999999996: the column form once wrote "1,000.0" where
    # format_number wrote "1,000" (found by the property test above)
    xs = [
        s * v
        for k in range(-20, 18)
        for v in (10.0**k, math.nextafter(10.0**k, 0), math.nextafter(10.0**k, math.inf))
        for s in (1, -1)
    ]
    for digits in range(1, 7):
        assert _formatted_column(xs, "", digits) == [format_number(x, digits=digits) for x in xs]
    assert [format_number(x, digits=4) for x in (1000.0, 1e6, 0.001)] == ["1,000", "1,000,000", "0.001000"]
    # at the top of the float range the next power of ten overflows: no step up, and no error
    # (log10 of it rounds to 308.0; found by test_format_interval_never_raises)
    assert format_interval(0.0, 9.999999999999347e307).startswith("0–99,999,999,999,993")
    assert format_number(1.7e308, digits=4).startswith("169,999,999")


def test_the_column_form_rounds_ties_to_even_like_python():
    assert _formatted_column([74.25, 0.125, 2.5, 1234.5]) == [format_number(x) for x in (74.25, 0.125, 2.5, 1234.5)]
    assert _formatted_column([74.25, 0.125, 2.5, 1234.5]) == ["74.2", "0.125", "2.50", "1,234"]


def test_the_column_form_is_a_small_expression_whose_steps_are_computed_once():
    # Written as one nested expression, each step repeated the ones before it (an 86 KB tree
    # that Polars took about 40 ms to plan on any frame, a few seconds of every site build);
    # as struct fields read by name it grows with the number of steps, not their product.
    assert len(str(number_expr(pl.col("v"), pl.col("unit")))) < 5_000
    units = pl.DataFrame({"v": [1234.5, None, 0.5], "unit": ["%", "%", None]})
    assert units.select(number_expr(pl.col("v"), pl.col("unit"))).to_series().to_list() == ["1,234%", "–", None]


@settings(max_examples=50, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True))
def test_format_interval_never_raises(lo, hi):
    assert isinstance(format_interval(lo, hi), str)
