"""The ONS Explore local statistics (ELS) catalogue: every indicator in the four sectors has a direction.

``../shared/data/els_metadata`` holds the metadata sidecar of every ELS indicator folder (72 files;
see its README). Each indicator that belongs to health, schools (education and skills), policing
(crime and justice) or welfare (work, income, poverty, benefits) must map, by the name in the CSV's
``indicator`` column, to an indicator a plugin registers, with a direction (or ``role="context"``
where it describes the economy rather than an outcome). Population files are context; the rest of
ELS (economy, housing, transport, culture, environment, connectivity) belongs to no sector here
and is read as ``other.*`` with no direction. A new file in the folder fails
``test_every_metadata_file_is_classified`` until someone decides where it belongs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

import publicservices as ps
from publicservices.default_plugins.els import _norm, read_els_metadata, registered_els_mappings

pytestmark = pytest.mark.shared

HEALTH = (
    "adult-obesity-prevalence",
    "cancer-diagnosis-at-stage-1-and-2",
    "child-weight",
    "cigarette-smokers",
    "healthy-life-expectancy",
    "mortality-rate-from-coronary-heart-disease-scotland",
    "personal-wellbeing-estimates",
    "preventable-cardiovascular-mortality-england",
    "preventable-cardiovascular-mortality-ni",
)
SCHOOLS = (
    "apprenticeships",
    "apprenticeships-ni",
    "apprenticeships-scotland",
    "early-years",
    "further-education-and-skills-learner-achievements",
    "further-education-and-skills-participation",
    "gcses-in-english-and-maths",
    "persistent-absences-for-all-pupils",
    "persistent-absences-for-pupils-eligible-for-free-school-meals",
    "persistent-absences-for-pupils-looked-after-by-local-authorities",
    "pupils-at-expected-standards-by-end-of-primary-school",
    "qualifications-level-3-or-above",
    "qualifications-level-3-or-above-ni",
    "qualifications-none-gb",
)
POLICING = ("homicide-offences",)
WELFARE = (
    "children-in-relative-poverty",
    "claimant-count",
    "employment-rate",
    "employment-rate-ni",
    "gross-disposable-household-income-per-head",
    "gross-median-weekly-pay",
    "modelled-unemployment",
)
SECTORS = {
    **dict.fromkeys(HEALTH, "health"),
    **dict.fromkeys(SCHOOLS, "schools"),
    **dict.fromkeys(POLICING, "policing"),
    **dict.fromkeys(WELFARE, "welfare"),
}
# Economic context in the welfare sector: registered, but not compared (pay and income are not adjusted for prices).
CONTEXT_IDS = {"welfare.median_weekly_pay", "welfare.gdhi_per_head"}
# Describe the population: read by the core reader as context.<slug>, never compared.
POPULATION = ("population-by-age-and-sex", "population-indicators")
# Not in the four sectors: economy, housing, transport, culture, environment, connectivity. Read as other.<slug>.
OTHER = (
    "average-house-price",
    "average-travel-time",
    "business-demography",
    "domestic-electricity-consumption",
    "domestic-gas-consumption",
    "engagement-with-culture-and-heritage",
    "environment-regulating",
    "first-time-buyer-mortgage-sales",
    "food-outlets",
    "foreign-direct-investment",
    "gdp-per-head",
    "gigabit-capable-broadband",
    "greenhouse-gas-emissions",
    "gross-value-added",
    "housing-affordability-ratio",
    "library-walk",
    "motor-vehicle-flow",
    "museums",
    "net-additions-to-the-housing-stock",
    "net-additions-to-the-housing-stock-northern-ireland",
    "net-additions-to-the-housing-stock-wales",
    "network-coverage-4g",
    "network-coverage-5g",
    "premises-below-30",
    "public-electric-vehicle-chargers",
    "railway-station-walk",
    "research-and-development-business",
    "research-and-development-public-funded",
    "short-term-let-average-length-of-stay",
    "short-term-let-number-of-guests-nights",
    "sports-facilities",
    "supermarkets",
    "total-value-of-uk-exports",
)
# Geography lookups (CSVW and context documents), not indicators: no ess-beta-metadata.
LOOKUPS = tuple(
    f"2011-{area}{suffix}"
    for area in ("england-and-wales-super-output-areas-lower-layer", "northern-ireland-super-output-areas", "scottish-data-zones")
    for suffix in ("", "-context")
)


@pytest.fixture
def catalogue(shared_data) -> Path:
    return shared_data("els_metadata")


def csv_names(path: Path) -> list[str]:
    """The values of the CSV's `indicator` column this sidecar describes (its label for a one-indicator file)."""
    entries, single = read_els_metadata(path)
    if single is not None:
        return [single.label]
    return sorted({e.key for e in entries.values()})


def test_every_metadata_file_is_classified(catalogue):
    stems = {p.stem for p in catalogue.glob("*.json")}
    classified = [*SECTORS, *POPULATION, *OTHER, *LOOKUPS]
    assert len(classified) == len(set(classified)), "a file is classified twice"
    assert stems == set(classified)
    assert len(stems) == 72
    for stem in LOOKUPS:
        with pytest.raises(ValueError, match="ess-beta-metadata"):
            read_els_metadata(catalogue / f"{stem}.json")


@pytest.mark.parametrize("stem", sorted(SECTORS))
def test_sector_indicators_map_to_registered_indicators_with_a_direction(catalogue, stem):
    mapping, conflicts = registered_els_mappings()
    assert conflicts == []
    registered = ps.registered_indicators()
    entries, single = read_els_metadata(catalogue / f"{stem}.json")
    for entry in [single] if single else {e.key: e for e in entries.values()}.values():
        for name in filter(None, (entry.key, entry.label)):  # the CSV name and the sidecar's label
            target = mapping.get(_norm(name))
            assert target is not None, f"{stem}: ELS indicator {name!r} is not mapped by any plugin"
            ind = registered[target]
            assert ind.sector == SECTORS[stem], (stem, name, target)
            if target in CONTEXT_IDS:
                assert ind.is_context and ind.polarity == "no_judgement", target
            else:
                assert ind.role == "outcome" and ind.polarity != "no_judgement", f"{target} ({name!r}) has no direction"
            assert ind.unit and ind.source and len(ind.definition) > 40


@pytest.mark.parametrize("stem", sorted(SECTORS))
def test_reading_an_els_file_laid_out_as_published_gives_no_generic_ids(catalogue, tmp_path, stem):
    # x/x.csv with x/x.json beside it, one row per indicator the sidecar describes.
    folder = tmp_path / stem
    folder.mkdir()
    shutil.copy(catalogue / f"{stem}.json", folder / f"{stem}.json")
    rows = [
        {"area_code": "E06000001", "indicator": name, "period_start": "2023-01-01", "period_length": "P1Y", "value": "12.5"}
        for name in csv_names(catalogue / f"{stem}.json")
    ]
    pl.DataFrame(rows).write_csv(folder / f"{stem}.csv")
    result = ps.read(folder / f"{stem}.csv")
    ids = set(result.values.get_column("indicator_id"))
    assert ids <= set(ps.registered_indicators()) and all(i.startswith(SECTORS[stem] + ".") for i in ids), ids
    assert not any("no known direction" in note for note in result.report.notes)


def test_the_shared_els_files_give_no_generic_ids(shared_data):
    folder = shared_data("README.md").parent
    registered = ps.registered_indicators()
    els = [p for p in sorted(folder.glob("*.csv")) if {"indicator", "period_start"} <= set(ps.reading.read_header(p))]
    assert len(els) == 7
    for path in els:
        result = ps.read(path)
        ids = set(result.values.get_column("indicator_id"))
        assert ids <= set(registered), (path.name, ids - set(registered))
        assert all(registered[i].has_polarity for i in ids), path.name
        assert not any("generic ids" in note or "no known direction" in note for note in result.report.notes), path.name


def test_employment_and_inactivity_point_opposite_ways():
    mapping, _ = registered_els_mappings()
    registered = ps.registered_indicators()
    for employed, inactive in (
        ("Employment rate", "Economically inactive"),
        ("Employment rate (Northern Ireland)", "Economically inactive (Northern Ireland)"),
    ):
        up, down = registered[mapping[_norm(employed)]], registered[mapping[_norm(inactive)]]
        assert (up.polarity, down.polarity) == ("higher_is_better", "lower_is_better")
        assert up.id != down.id


@pytest.mark.parametrize("stem", POPULATION)
def test_population_files_are_context(catalogue, tmp_path, stem):
    folder = tmp_path / stem
    folder.mkdir()
    shutil.copy(catalogue / f"{stem}.json", folder / f"{stem}.json")
    names = csv_names(catalogue / f"{stem}.json")
    pl.DataFrame(
        {"area_code": "E06000001", "indicator": names, "period_start": "2023-01-01", "period_length": "P1Y", "value": "5"}
    ).write_csv(folder / f"{stem}.csv")
    result = ps.read(folder / f"{stem}.csv")
    assert len(result.indicators) == len(names)
    for ind in result.indicators.values():
        assert (ind.sector, ind.role, ind.polarity) == ("context", "context", "no_judgement"), ind.id
    assert not any("no known direction" in note for note in result.report.notes)


def test_other_files_are_read_with_their_sidecar_and_no_direction(catalogue, tmp_path):
    # Every file outside the four sectors: unmapped, so other.<slug>, described by its sidecar, direction unknown.
    for stem in OTHER:
        folder = tmp_path / stem
        folder.mkdir()
        shutil.copy(catalogue / f"{stem}.json", folder / f"{stem}.json")
        names = csv_names(catalogue / f"{stem}.json")
        pl.DataFrame(
            {"area_code": "E06000001", "indicator": names, "period_start": "2023-01-01", "period_length": "P1Y", "value": "5"}
        ).write_csv(folder / f"{stem}.csv")
        result = ps.read(folder / f"{stem}.csv")
        labels = json.dumps(json.loads((catalogue / f"{stem}.json").read_text(encoding="utf-8")))
        for ind in result.indicators.values():
            assert ind.sector == "other" and ind.polarity == "no_judgement" and ind.role == "outcome", (stem, ind.id)
            assert json.dumps(ind.title)[1:-1] in labels and "via ONS Explore local statistics" in ind.source, (stem, ind.title)
        assert f"{len(names)} indicator(s) have no known direction" in result.report.summary(), stem
