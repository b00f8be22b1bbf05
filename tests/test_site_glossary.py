"""The glossary and "How to read this site": every term a page links exists, and the words are easy to read."""

from __future__ import annotations

import html
import re
import statistics
from pathlib import Path

import pytest

import publicservices as ps
from publicservices.site import publish
from publicservices.site.glossary import TERMS


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("glossary") / "site"
    publish(ps.demo(), out, sectors=["health", "schools"], generate_only=True)
    return out / "docs"


def _syllables(word: str) -> int:
    # The usual heuristic: vowel groups, less a silent final "e"/"es"/"ed" (good to about ±10% on prose)
    w = word.lower()
    if len(w) <= 3:
        return 1
    w = re.sub(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$", "", w)
    return max(1, len(re.findall(r"[aeiouy]{1,2}", re.sub(r"^y", "", w))))


def reading_grade(text: str) -> float:
    """Flesch–Kincaid grade level (Kincaid et al. 1975): 0.39 words/sentence + 11.8 syllables/word − 15.59.

    Grade 9 is a reading age of about 14; GOV.UK writes for a reading age of 9 where it can.
    """
    sentences = [s for s in re.split(r"[.!?:;]+(?:\s|$)", text) if re.search(r"[A-Za-z]", s)]
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", text)
    return 0.39 * len(words) / len(sentences) + 11.8 * sum(map(_syllables, words)) / len(words) - 15.59


def test_reading_grade_matches_worked_examples():
    # Kincaid et al.'s formula on two texts whose grade is easy to count by hand
    assert reading_grade("The cat sat on the mat.") == pytest.approx(0.39 * 6 + 11.8 - 15.59)
    assert reading_grade("Statistical variability complicates interpretation.") > 16


def test_every_term_is_short_and_easy_to_read():
    grades = {t.anchor: reading_grade(t.meaning) for t in TERMS.values()}
    assert max(grades.values()) <= 10, grades
    assert statistics.mean(grades.values()) <= 7, grades
    assert all(len(t.meaning.split()) <= 45 for t in TERMS.values())
    assert all(re.fullmatch(r"[a-z][a-z-]*", a) for a in TERMS)


def test_the_glossary_lists_every_term_under_its_anchor(docs):
    text = (docs / "glossary.md").read_text(encoding="utf-8")
    for t in TERMS.values():
        assert f"{{ #{t.anchor} }}" in text, t.anchor
    assert "how-to-read.md" in text and "methodology.md" in text


def test_every_glossary_link_names_a_term(docs):
    linked: set[str] = set()
    for page in docs.rglob("*.md"):
        for anchor in re.findall(r"glossary\.(?:md|html)#([A-Za-z0-9_-]+)", page.read_text(encoding="utf-8")):
            assert anchor in TERMS, (page, anchor)
            linked.add(anchor)
    # the how-to-read blocks link the terms a reader meets first
    assert {"benchmark", "interval", "better-worse-similar", "fifths"} <= linked


def test_how_to_read_blocks_link_the_glossary_on_every_kind_of_page(docs):
    for page in ["indicators/health.ae_4hr.md", "areas/x06000001.md", "sectors/health.md", "value/health.md"]:
        text = (docs / page).read_text(encoding="utf-8")
        block = text.split("<summary>How to read this page</summary>", 1)[1].split("</details>", 1)[0]
        assert 'href="../glossary.html#' in block and 'href="../how-to-read.html"' in block, page


def test_how_to_read_this_site_explains_the_colours_pages_and_limits_plainly(docs):
    text = (docs / "how-to-read.md").read_text(encoding="utf-8")
    for heading in (
        "## The colours",
        "## The pages",
        "## The charts",
        "## Numbers",
        "## What this site cannot tell you",
    ):
        assert heading in text
    assert "health and schools" in text  # the sectors this site covers
    prose = re.sub(r"\]\([^)]*\)|[\[\]*#`-]", " ", text.split("\n", 3)[-1])
    assert reading_grade(prose) <= 9, reading_grade(prose)


def test_area_summaries_stay_readable(docs):
    titles = sorted((i.title for i in ps.demo().indicators.values()), key=len, reverse=True)
    grades = []
    for page in sorted((docs / "areas").glob("*.md")):
        text = html.unescape(page.read_text(encoding="utf-8"))
        summary = text.split("## Strengths and concerns\n\n", 1)[1].split("\n## ", 1)[0]
        # indicator titles are the publishers' own: the grade is of the sentences around them
        for title in titles:
            summary = summary.replace(title, "this")
        grades.append(reading_grade(summary))
    assert statistics.median(grades) <= 6, statistics.median(grades)  # 4.2 on the demo: a reading age of about 9
