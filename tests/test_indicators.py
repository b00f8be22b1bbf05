from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publicservices import Indicator, IndicatorError
from publicservices.indicators import ID_PATTERN


def make(**kw):
    base = dict(
        id="health.ae_4hr",
        title="A&E",
        sector="health",
        measure="proportion",
        multiplier=100,
        polarity="higher_is_better",
        unit="%",
        floor=95,
    )
    base.update(kw)
    return Indicator(**base)


def test_defaults_and_round_trip():
    ind = make()
    assert ind.service == "health" and ind.multiplier == 100.0 and ind.is_count_based
    assert Indicator.from_dict(ind.to_dict()) == ind


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"id": "Health.AE"}, "must look like 'sector.name'"),
        ({"id": "../etc.passwd"}, "must look like 'sector.name'"),
        ({"id": "schools.x"}, "must start with its sector 'health'"),
        ({"measure": "percent"}, "measure 'percent' must be one of"),
        ({"polarity": "up"}, "polarity 'up' must be one of"),
        ({"multiplier": 0}, "multiplier 0 must be a positive number"),
        ({"floor": 120}, "floor 120 must lie between 0 and the multiplier 100"),
        ({"title": " "}, "title must be a non-empty string"),
    ],
)
def test_invalid_definitions_raise_clearly(kw, message):
    with pytest.raises(IndicatorError, match=message.replace("(", r"\(").replace(".", r"\.")):
        make(**kw)


def test_unknown_fields_are_named():
    with pytest.raises(IndicatorError, match="unknown field"):
        Indicator.from_dict({**make().to_dict(), "colour": "red"})


def test_frozen():
    with pytest.raises(AttributeError):
        make().title = "x"  # type: ignore[misc]


@given(st.one_of(st.text(max_size=30), st.from_regex(ID_PATTERN, fullmatch=True)))
def test_valid_ids_are_safe_file_names(text):
    # the regex strategy makes sure matching ids are generated: plain text almost never matches
    if ID_PATTERN.match(text):
        assert "/" not in text and "\\" not in text and ".." not in text and text == text.lower()


def test_the_id_property_sees_matching_ids():
    from hypothesis import find

    assert ID_PATTERN.match(find(st.from_regex(ID_PATTERN, fullmatch=True), lambda t: len(t) > 5))


def test_role_defaults_to_outcome_and_round_trips():
    ind = make()
    assert (ind.role, ind.is_context, ind.decimals) == ("outcome", False, None)
    population = make(
        id="context.population",
        sector="context",
        measure="score",
        multiplier=1,
        polarity="no_judgement",
        unit="people",
        floor=None,
        role="context",
        decimals=0,
    )
    assert population.is_context and Indicator.from_dict(population.to_dict()) == population
    assert population.to_dict()["role"] == "context"
    # A definition saved before roles existed still loads, as an outcome.
    old = {k: v for k, v in make().to_dict().items() if k not in ("role", "decimals")}
    assert Indicator.from_dict(old).role == "outcome"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"role": "background"}, "role 'background' must be one of outcome, context"),
        (
            {"role": "context"},
            "a context indicator is not judged better or worse: polarity 'higher_is_better' must be 'no_judgement'",
        ),
        ({"decimals": -1}, "decimals -1 must be a whole number from 0 to 10"),
        ({"decimals": 1.5}, "decimals 1.5 must be a whole number from 0 to 10"),
        ({"decimals": True}, "decimals True must be a whole number from 0 to 10"),
    ],
)
def test_invalid_role_and_decimals_raise_clearly(kw, message):
    with pytest.raises(IndicatorError, match=message.replace("(", r"\(").replace(".", r"\.")):
        make(**kw)
