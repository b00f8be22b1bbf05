"""The methodology, downloads, glossary and "how to read this site" pages."""

from __future__ import annotations

from collections.abc import Sequence

from publicservices.display import join_words
from publicservices.site.glossary import TERMS
from publicservices.site.markup import link, table
from publicservices.site.pages.base import PagesBase
from publicservices.site.pages.words import METHODS_VERSION, public_text, sector_title
from publicservices.site.templating import render, safe


class ReferencePages(PagesBase):
    """Methods, notes and files."""

    def methodology(self, versions: dict[str, str]) -> str:
        m = self.model
        page = "methodology.md"
        # Per method: the question it answers, the method in a sentence or two, its reference, and
        # (for analysts) the function that computes it.
        methods = [
            (
                "Values and confidence intervals",
                "How sure can we be of an area's figure?",
                "Each figure has a 95% confidence interval: the range its true value very probably lies in, given the "
                "play of chance in small numbers. Proportions use the Wilson score method, rates Byar's method (exact "
                "Poisson limits below 10 events), means Student's t, standardised rates Dobson's method.",
                "Wilson (1927); Breslow and Day (1987); Dobson et al. (1991)",
                "publicservices.stats.outcomes.intervals",
            ),
            (
                "Comparison with the benchmark",
                "Is an area better or worse than the benchmark, or could the difference be chance?",
                "An area is better or worse when its 95% interval (and, for the stricter test, its 99.8% interval) "
                "does not include the benchmark; otherwise it is similar. This is the method of Public Health "
                "England's Fingertips.",
                "Public Health England, Technical guide: confidence intervals (2018)",
                "publicservices.stats.compare_to_benchmark",
            ),
            (
                "Floor standards",
                "Is an area confidently below the minimum standard?",
                "Only when the whole of its 95% interval lies below the floor.",
                "",
                "publicservices.stats.floor_status",
            ),
            (
                "Recent trend",
                "Is an area's figure rising or falling by more than chance?",
                "A chi-square test for trend over the latest five points, as Fingertips does.",
                "Cochran (1954); Armitage (1955); Public Health England, Fingertips technical guidance",
                "publicservices.stats.recent_trend",
            ),
            (
                "Funnel plots",
                "Which areas stand out once their size is allowed for?",
                "Each area's value is plotted against its size inside control limits at 95% and 99.8%; when areas "
                "differ by more than chance (overdispersion, measured by the statistic φ), the limits are widened "
                "by a random-effects allowance for the real spread between areas (τ).",
                "Spiegelhalter (2005), Statistics in Medicine 24",
                "publicservices.stats.build_funnel",
            ),
            (
                "Ranks and adjusting for chance",
                "How certain is an area's place in a league table?",
                "Ranks are simulated many times from each area's uncertainty, giving the range of places it could "
                "hold. Each value is also adjusted towards the average to allow for chance (empirical-Bayes "
                "shrinkage: the beta-binomial, Poisson-gamma or normal model), most for small areas.",
                "Goldstein and Spiegelhalter (1996), JRSS A 159",
                "publicservices.stats.ranking.shrinkage",
            ),
            (
                "The postcode-lottery index",
                "How much do areas really differ, beyond chance?",
                "The spread between areas that is left once chance is removed (the between-area variance of "
                "DerSimonian and Laird), as a share of the overall value of the areas compared, with its Q-profile interval. "
                "\u201cVariation that is real\u201d is the statistic I\u00b2: the share of the variation between areas "
                "that chance does not explain.",
                "DerSimonian and Laird (1986); Higgins and Thompson (2002)",
                "publicservices.stats.assess_fairness",
            ),
            (
                "Social gradient",
                "How much worse off are the most deprived places?",
                "The slope index of inequality: the modelled gap between the most and least deprived ends of the "
                "country, from a population-weighted regression across deprivation deciles; the relative index "
                "is the same gap as a ratio.",
                "Low and Low (2004); Public Health England (PHEindicatormethods)",
                "publicservices.stats.fairness.gradient",
            ),
            (
                "Value for money",
                "Does an area achieve more or less than expected for what it spends, given its need?",
                "The expected outcome comes from a weighted regression of outcome on spend per head, deprivation "
                "and population. Efficiency compared with similar-spending areas comes from data envelopment "
                "analysis (variable returns to scale, the BCC model), on outcomes adjusted for need.",
                "Banker, Charnes and Cooper (1984), Management Science 30",
                "publicservices.stats.value.value_for_money",
            ),
            (
                "Savings if areas matched their peers",
                "How much less might areas spend if they matched the best-value areas?",
                "Each area's spend beyond what its best-value peers need for at least its outcomes, summed; the "
                "range redraws every outcome within its confidence interval and solves the comparison again. An "
                "upper bound, not a budget.",
                "Charnes, Cooper and Rhodes (1978); Simar and Wilson (1998)",
                "publicservices.stats.value.frontier_savings",
            ),
            (
                "Similar areas",
                "Which areas are most like this one?",
                "The nearest neighbours on area characteristics (population, deprivation and others), each put on "
                "the same scale first.",
                "",
                "publicservices.stats.nearest_neighbours",
            ),
            (
                "Report cards",
                "How does an area do across a whole service, in one grade?",
                "Letter grades from percentile scores of each indicator, with how likely the grade would change if "
                "the weights given to the indicators were chosen differently (the weights are varied at random).",
                "OECD and JRC, Handbook on constructing composite indicators (2008)",
                "publicservices.stats.build_report_cards",
            ),
            (
                "Fifths of areas",
                "How do we compare figures that have no confidence interval?",
                "Areas are grouped into fifths by value, because chance variation cannot be judged; as Fingertips "
                "does (the quantile method).",
                "Public Health England, Fingertips technical guidance",
                "publicservices.stats.value_quintiles",
            ),
        ]
        if getattr(m, "international", None) is not None:
            methods.append(
                (
                    "International comparison",
                    "How does the country compare with other countries?",
                    "Its difference from each other country has a normal interval from both standard errors; its "
                    "difference from the average of the countries allows for it being one of them; its rank has a "
                    "confidence set covering all countries at once.",
                    "OECD, PISA technical standards; Mogstad, Romano, Shaikh and Wilhelm (2024)",
                    "publicservices.compare_internationally",
                )
            )
        report = {r["reason"]: r for r in m.suppression.to_dicts()}
        return render(
            "methodology.md.j2",
            methods_version=METHODS_VERSION,
            threshold=m.options["suppress_threshold"],
            methods=[
                {"name": name, "question": question, "method": method, "reference": ref, "function": function}
                for name, question, method, ref, function in methods
            ],
            functions_table=safe(
                table(
                    ["Method", "Function (publicservices package)"],
                    [[name, function] for name, _, _, _, function in methods],
                    caption="For analysts: the function that computes each method",
                )
            ),
            primary=report.get("primary", {}).get("rows", 0),
            secondary=report.get("secondary", {}).get("rows", 0),
            notes=[t for t in (public_text(n) for n in m.notes) if t],
            versions_table=safe(
                table(["Component", "Version"], sorted(versions.items()), caption="Software that built this site")
            ),
            data_hash=m.data_hash,
            downloads_link=safe(link(page, "downloads.html", "downloads")),
        )

    def glossary(self) -> str:
        return render("glossary.md.j2", terms=list(TERMS.values()))

    def how_to_read_site(self, value: bool) -> str:
        """The reader's guide: the colours, the pages, the charts, the units, and what the site cannot say."""
        sectors = [sector_title(s).lower() for s in self.model.sectors]
        return render("how_to_read_site.md.j2", sectors=join_words(sectors), value=value)

    def downloads(self, files: Sequence[tuple[str, str]]) -> str:
        page = "downloads.md"
        base = (self.base_url or "").rstrip("/") + "/" if self.base_url else ""
        return render(
            "downloads.md.j2",
            parquet_path=f"{base}data/all/results.parquet",
            files_table=safe(
                table(
                    ["File", "What it holds"],
                    [[link(page, path, path), what] for path, what in files],
                    caption="Data files",
                    raw=[True, False],
                )
            ),
        )
