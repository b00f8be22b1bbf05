"""The methodology and downloads pages."""

from __future__ import annotations

from collections.abc import Sequence

from publicservices.site.markup import link, table
from publicservices.site.pages.base import PagesBase
from publicservices.site.pages.words import METHODS_VERSION, public_text
from publicservices.site.templating import render, safe


class ReferencePages(PagesBase):
    """Methods, notes and files."""

    def methodology(self, versions: dict[str, str]) -> str:
        m = self.model
        page = "methodology.md"
        methods = [
            (
                "Values and confidence intervals",
                "publicservices.stats.outcomes.intervals",
                "Wilson score (proportions), Byar's method with exact Poisson "
                "limits below 10 events (rates), Student t (means), Dobson (directly standardised rates), observed over expected (ratios).",
            ),
            (
                "Comparison with the benchmark",
                "publicservices.stats.compare_to_benchmark",
                "Better, similar or worse than the benchmark when its "
                "interval excludes the benchmark at 95% and 99.8% (Fingertips); the probability that the true value is on the wrong side.",
            ),
            (
                "Floor standards",
                "publicservices.stats.floor_status",
                "Confidently below when the whole 95% interval lies below the floor.",
            ),
            (
                "Recent trend",
                "publicservices.stats.recent_trend",
                "The Fingertips chi-square test for trend over the latest five points.",
            ),
            (
                "Funnel plots",
                "publicservices.stats.build_funnel",
                "Control limits at 95% and 99.8% as PHEindicatormethods computes them; "
                "Spiegelhalter (2005) overdispersion available.",
            ),
            (
                "Shrunken estimates and rank intervals",
                "publicservices.stats.ranking.shrinkage",
                "Empirical-Bayes estimates (beta-binomial, Poisson-gamma or "
                "normal); ranks simulated from each area's uncertainty (Goldstein & Spiegelhalter 1996).",
            ),
            (
                "The postcode-lottery index",
                "publicservices.stats.assess_fairness",
                "The between-area variance beyond chance (DerSimonian-Laird), "
                "as a coefficient of variation around the national value with its Q-profile interval; I² is the share of variance that is real.",
            ),
            (
                "Social gradient",
                "publicservices.stats.fairness.gradient",
                "Slope and relative index of inequality across deprivation deciles "
                "(population-weighted regression on the ridit, simulated limits, as PHEindicatormethods).",
            ),
            (
                "Value for money",
                "publicservices.stats.value.value_for_money",
                "Spend per head; the outcome expected for an area's spend and need "
                "(weighted regression); the efficient frontier by data envelopment analysis (BCC), on need-adjusted outcomes.",
            ),
            (
                "Savings if areas matched their peers",
                "publicservices.stats.value.frontier_savings",
                "Each area's spend beyond what "
                "its frontier peers need for at least its outcomes, summed (potential input reduction); the range redraws every outcome "
                "within its confidence interval and solves the frontier again. An upper bound, not a budget.",
            ),
            (
                "Similar areas",
                "publicservices.stats.nearest_neighbours",
                "Nearest neighbours on standardised area characteristics.",
            ),
            (
                "Report cards",
                "publicservices.stats.build_report_cards",
                "Letter grades from percentile scores of each indicator, with how "
                "often a grade changes when the weights are perturbed.",
            ),
            (
                "Fifths of areas",
                "publicservices.stats.value_quintiles",
                "For figures without confidence intervals, as Fingertips "
                "does: areas grouped into fifths by value (the PHE quantile method), because chance variation cannot be judged.",
            ),
        ]
        if getattr(m, "international", None) is not None:
            methods.append(
                (
                    "International comparison",
                    "publicservices.compare_internationally",
                    "A country's difference from each other country with a normal interval from both standard errors "
                    "(independent national samples); from the average of the countries allowing for the country being "
                    "one of them (OECD, PISA technical standards); its rank with a marginal confidence set (Mogstad, "
                    "Romano, Shaikh and Wilhelm 2024).",
                )
            )
        report = {r["reason"]: r for r in m.suppression.to_dicts()}
        return render(
            "methodology.md.j2",
            methods_version=METHODS_VERSION,
            threshold=m.options["suppress_threshold"],
            methods_table=safe(
                table(["Statistic", "Function", "Method"], [[a, b, c] for a, b, c in methods], caption="Statistics on this site")
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
