"""Numbers as publishers write them: thousands separators, a % sign on a percentage, and the
symbols written where a number is withheld, read by every reader."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import publicservices as ps
from publicservices.errors import PublicServicesError
from publicservices.published_numbers import SYMBOLS, number_from_text, unread_numbers, unread_reason

FIXTURES = Path(__file__).parent / "fixtures" / "readers"


def _read(texts: list[str | None], percent: bool = False) -> list[float | None]:
    return (
        pl.DataFrame({"t": texts}, schema={"t": pl.String})
        .select(number_from_text(pl.col("t"), percent=percent))
        .to_series()
        .to_list()
    )


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_number_written_with_thousands_separators_reads_back_exactly(x):
    # Python's "," format groups by three, as spreadsheets do; the naive reading drops the commas
    text = f"{x:,}"
    assert _read([text, f"  {text} "]) == [x, x] == [float(text.replace(",", ""))] * 2


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_a_percent_sign_is_read_only_where_the_value_is_a_percentage(x):
    assert _read([f"{x}%", f"{x} %"], percent=True) == [x, x]
    assert _read([f"{x}%"]) == [None]


@pytest.mark.parametrize("text", ["12,34", "1234,567", "1,2345", "1,234,5", ",123", "1,,234", "c", "[x]", "..", "%", "-"])
def test_anything_else_stays_unread_and_is_counted(text):
    frame = pl.DataFrame({"t": [text, "", None]}).with_columns(n=number_from_text(pl.col("t"), percent=True))
    assert frame.get_column("n").to_list() == [None, None, None]
    # only the text that is there and not a number is unread: blank and null cells are just missing
    assert frame.select(unread_numbers(pl.col("t"), pl.col("n"))).to_series().to_list() == [True, False, False]


def _reasons(texts: list[str]) -> list[str]:
    return pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(unread_reason(pl.col("t"))).to_series().to_list()


@given(st.sampled_from(sorted(SYMBOLS)), st.booleans(), st.booleans(), st.sampled_from(["", " ", "  "]))
def test_a_symbol_is_read_for_what_it_means_however_it_is_written(symbol, brackets, upper, pad):
    # the GSS guidance writes "[c]"; older tables "c"; a spreadsheet may add case and spaces
    text = f"[{symbol}]" if brackets else symbol
    text = pad + (text.upper() if upper else text) + pad
    assert _reasons([text]) == [SYMBOLS[symbol]]


# (no control characters: Python's strip() takes \x1c-\x1f for spaces, Polars' does not)
@given(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12).filter(
        lambda t: t.strip().lower().strip("[]") not in SYMBOLS
    )
)
def test_other_text_is_named_as_it_is(text):
    assert _reasons([text]) == [f"not a number in the source ({text.strip()})"]


ELS_HEADER = (
    "area_code,area_name,geography,indicator,period_start,period_length,value,measure,unit,lower_ci,upper_ci,status,notes"
)


def test_an_els_file_exported_with_percent_signs_and_separators_loses_no_value(tmp_path):
    rows = [
        "E06000001,Hartlepool,Unitary Authority,Pupils meeting the standard,2023-09-01,P1Y,65.0%,Percentage,%,61.2%,68.8%,,",
        "E06000002,Middlesbrough,Unitary Authority,Pupils meeting the standard,2023-09-01,P1Y, 58 % ,Percentage,%,,,,",
        'E06000001,Hartlepool,Unitary Authority,Claimants,2023-01-01,P1Y,"3,415",Count,number,,,,',
        "E06000002,Middlesbrough,Unitary Authority,Claimants,2023-01-01,P1Y,12%,Count,number,oops,,,",
    ]
    path = tmp_path / "export.csv"
    path.write_text("\n".join([ELS_HEADER, *rows]) + "\n", encoding="utf-8")
    result = ps.read(path)
    got = {(r["area_code"], r["indicator_id"].split(".")[-1][:6]): r for r in result.values.iter_rows(named=True)}
    standard = [r for k, r in got.items() if "pupils" in k[1]]
    assert sorted((r["value"], r["lower_ci"], r["upper_ci"]) for r in standard) == [(58.0, None, None), (65.0, 61.2, 68.8)]
    claimants = {r["area_code"]: r for k, r in got.items() if "claima" in k[1]}
    assert claimants["E06000001"]["value"] == 3415.0
    # a % sign on a count is not read as a percentage: the cell is missing, with its reason
    assert claimants["E06000002"]["value"] is None
    assert claimants["E06000002"]["missing_reason"] == "not a number in the source (12%)"
    assert any("1 lower_ci cells were not numbers (e.g. 'oops')" in n for n in result.report.notes), result.report.notes


def test_fingertips_counts_with_separators_are_read_and_other_text_is_noted(tmp_path):
    lines = list(csv.reader(io.StringIO((FIXTURES / "fingertips_extract.csv").read_text(encoding="utf-8"))))
    header, body = lines[0], lines[1:]
    num, den = header.index("numerator"), header.index("denominator")
    plain = ps.read(FIXTURES / "fingertips_extract.csv").values
    for row in body:
        for c in (num, den):
            if row[c]:
                row[c] = f"{float(row[c]):,.1f}"
    body[1][num] = "*"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *body])
    path = tmp_path / "fingertips.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    result = ps.read(path)
    key = ["indicator_id", "area_code", "period", "sex", "age", "category_type", "category"]
    key = [k for k in key if k in plain.columns]
    both = plain.join(result.values, on=key, how="left", suffix="_new", nulls_equal=True)
    assert both.height == plain.height
    counted = both.filter(pl.col("numerator").is_not_null())
    changed = counted.filter(pl.col("numerator_new").is_null() | (pl.col("numerator_new") != pl.col("numerator")))
    assert changed.height == 1  # only the cell written as "*"
    assert (both.get_column("denominator_new") == both.get_column("denominator")).all()
    assert any("1 numerator cells were not numbers (e.g. '*')" in n for n in result.report.notes), result.report.notes


def test_the_contract_reader_reads_separators_and_names_other_text(tmp_path):
    path = tmp_path / "values.csv"
    path.write_text(
        "indicator_id,area_code,period,value,numerator,denominator\n"
        'health.a,E06000001,2023,12.5,"1,250","10,000"\n'
        "health.a,E06000002,2023,13.0,130,1000\n",
        encoding="utf-8",
    )
    values = ps.read(path, format="contract").values
    assert values.get_column("numerator").to_list() == [1250.0, 130.0]
    assert values.get_column("denominator").to_list() == [10000.0, 1000.0]
    path.write_text(path.read_text(encoding="utf-8").replace('"1,250"', '"1,25"'), encoding="utf-8")
    with pytest.raises(PublicServicesError, match=r"numerator.*'1,25'"):
        ps.read(path, format="contract")
    # a symbol is named for what it is, and the fix is the contract's way to say why a value is missing
    path.write_text(path.read_text(encoding="utf-8").replace('"1,25"', "125").replace("13.0", "[c]"), encoding="utf-8")
    with pytest.raises(PublicServicesError) as err:
        ps.read(path, format="contract")
    assert "Fix: '[c]' is the symbol for confidential (suppressed) in the source" in str(err.value)
    assert "missing_reason" in str(err.value)
