"""The site's glossary: each term a public page uses, in plain words, with an anchor to link to.

The "How to read this page" blocks and the "How to read this site" page link their terms here
(``glossary.html#<anchor>``), so a reader meets the term in context and its meaning one click
away. Meanings are short sentences a reader of about fourteen can follow
(``tests/test_site_glossary.py`` holds them to it); the methodology page keeps the formulas.

Example:
    >>> TERMS["benchmark"].term
    'Benchmark'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Term", "TERMS"]


@dataclass(frozen=True)
class Term:
    """One glossary entry: its anchor, the term as pages show it, and its meaning."""

    anchor: str
    term: str
    meaning: str


_TERMS = (
    Term(
        "benchmark",
        "Benchmark",
        "The figure an area is compared with. It is usually the figure for all areas together. "
        "Each page says which benchmark it uses.",
    ),
    Term(
        "interval",
        "95% interval (confidence interval)",
        "The range the true figure very probably lies in. Small areas and rare events give wide ranges, "
        "because chance moves their figures a lot. A narrow range means a sure figure.",
    ),
    Term(
        "better-worse-similar",
        "Better, worse and similar",
        "Better or worse means the area's 95% interval does not reach the benchmark: the gap is too big "
        "to be chance. Similar means the gap could be chance. It does not mean the figures are equal.",
    ),
    Term(
        "higher-lower",
        "Higher and lower",
        "Used where neither a higher nor a lower figure is better, such as how common an illness is. "
        "Higher or lower means the gap from the benchmark is too big to be chance.",
    ),
    Term(
        "fifths",
        "Fifths",
        "When figures have no interval, we cannot tell chance from real gaps. Areas are then put in five "
        "equal groups, from the lowest fifth to the highest fifth, by their figure alone.",
    ),
    Term(
        "percentage-points",
        "Percentage points",
        "The gap between two percentages. From 50% to 55% is a rise of 5 percentage points. It is a "
        "rise of 10 per cent of the first figure.",
    ),
    Term(
        "rate",
        "Rate per 1,000 or per 100,000",
        "A count divided by the number of people, then scaled up. 25 per 100,000 means 25 events for "
        "every 100,000 people. Rates let areas of different sizes be compared.",
    ),
    Term(
        "standardised-rate",
        "Age-standardised rate",
        "A rate worked out as if every area had the same mix of ages. Older areas have more deaths and "
        "illness, so this makes the comparison fair.",
    ),
    Term(
        "trend",
        "Recent trend",
        "Whether an area's figure has risen or fallen over its latest five periods by more than chance. "
        "Getting better or worse follows the direction that is better for the indicator.",
    ),
    Term(
        "funnel-plot",
        "Funnel plot",
        "A chart of each area's figure against its size. The funnel lines show how far chance alone could "
        "move a figure. Areas outside the lines differ by more than chance.",
    ),
    Term(
        "rank-range",
        "Rank range",
        "The places in the league table an area could really hold, once chance is allowed for. Many "
        "areas could swap places, so a single rank can mislead.",
    ),
    Term(
        "adjusted-value",
        "Value adjusted for chance",
        "A figure moved a little towards the average to allow for chance. Small areas move most, since "
        "their figures are least sure.",
    ),
    Term(
        "postcode-lottery",
        "Postcode-lottery index",
        "How much areas really differ, once chance is removed. It is given as a share of the overall "
        "figure: that of all the areas compared, taken together. The larger it is, the more where you live decides what you get.",
    ),
    Term(
        "real-variation",
        "Variation that is real",
        "The share of the differences between areas that chance does not explain. Near 0% means the "
        "differences are mostly chance; near 100% means they are mostly real.",
    ),
    Term(
        "deprivation-gap",
        "Gap between most and least deprived",
        "The gap in a figure between the most and least deprived areas, found from a line through all "
        "areas ranked by deprivation. For percentages it is in percentage points.",
    ),
    Term(
        "spend-per-head",
        "Spend per head",
        "What an area spends on a service, divided by the number of people who live there, in pounds.",
    ),
    Term(
        "expected",
        "More, less or as expected for its spend",
        "Each area's result is compared with the result we would expect for an area that spends the same "
        "and has the same need. More or less than expected means the gap is too big to be chance.",
    ),
    Term(
        "best-value",
        "Best-value areas and efficiency",
        "Best-value areas are those no other area, or mix of areas, beats on every result for less money. "
        "An area's efficiency is the share of its spending with which those areas get at least as much.",
    ),
    Term(
        "peers",
        "Peers and similar areas",
        "Peers are the best-value areas an area is compared with on spending. Similar areas are those most "
        "like it in population, deprivation and other features.",
    ),
    Term(
        "floor-target",
        "Floor standard and target",
        "A floor is the least a service should reach, set by policy. An area is below the floor only when "
        "its whole 95% interval is below it. A target is a level to aim for.",
    ),
    Term(
        "gap-closing",
        "Closing the gap",
        "Whether the gap between two groups, such as poorer pupils and others, is narrowing over time by more than chance.",
    ),
    Term(
        "suppressed",
        "Hidden figures (small numbers)",
        "Figures based on very few people are hidden, shown as a dash. This protects privacy and avoids "
        "figures that chance would swing too much.",
    ),
)

#: Every term by its anchor, in the order the glossary lists them.
TERMS: dict[str, Term] = {t.anchor: t for t in _TERMS}
