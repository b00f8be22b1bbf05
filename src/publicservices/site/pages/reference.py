"""The methodology and downloads pages."""

from __future__ import annotations

from collections.abc import Sequence

from publicservices.site.markup import front_matter, link, table
from publicservices.site.pages.base import PagesBase
from publicservices.site.pages.words import METHODS_VERSION, public_text
from publicservices.site.safety import html_text, md_text


class ReferencePages(PagesBase):
    """Methods, notes and files."""

    def methodology(self, versions: dict[str, str]) -> str:
        m = self.model
        page = "methodology.md"
        t = m.options["suppress_threshold"]
        out = [front_matter("Methodology"), "# Methodology\n",
               f"Every number on this site is computed by the open-source package publicservices (methods version {METHODS_VERSION}). "
               "Each statistic below names the function that computes it; its documentation gives the formula, assumptions and reference.\n"]
        methods = [
            ("Values and confidence intervals", "publicservices.stats.intervals", "Wilson score (proportions), Byar's method with exact Poisson "
             "limits below 10 events (rates), Student t (means), Dobson (directly standardised rates), observed over expected (ratios)."),
            ("Comparison with the benchmark", "publicservices.stats.outcomes.compare", "Better, similar or worse than the benchmark when its "
             "interval excludes the benchmark at 95% and 99.8% (Fingertips); the probability that the true value is on the wrong side."),
            ("Floor standards", "publicservices.stats.outcomes.floor_status", "Confidently below when the whole 95% interval lies below the floor."),
            ("Recent trend", "publicservices.stats.trends.recent_trend", "The Fingertips chi-square test for trend over the latest five points."),
            ("Funnel plots", "publicservices.stats.funnel.funnel", "Control limits at 95% and 99.8% as PHEindicatormethods computes them; "
             "Spiegelhalter (2005) overdispersion available."),
            ("Shrunken estimates and rank intervals", "publicservices.stats.shrinkage", "Empirical-Bayes estimates (beta-binomial, Poisson-gamma or "
             "normal); ranks simulated from each area's uncertainty (Goldstein & Spiegelhalter 1996)."),
            ("The postcode-lottery index", "publicservices.stats.fairness.fairness", "The between-area variance beyond chance (DerSimonian-Laird), "
             "as a coefficient of variation around the national value with its Q-profile interval; I² is the share of variance that is real."),
            ("Social gradient", "publicservices.stats.gradient", "Slope and relative index of inequality across deprivation deciles "
             "(population-weighted regression on the ridit, simulated limits, as PHEindicatormethods)."),
            ("Value for money", "publicservices.stats.value.value_for_money", "Spend per head; the outcome expected for an area's spend and need "
             "(weighted regression); the efficient frontier by data envelopment analysis (BCC), on need-adjusted outcomes."),
            ("Savings if areas matched their peers", "publicservices.stats.value.frontier_savings", "Each area's spend beyond what "
             "its frontier peers need for at least its outcomes, summed (potential input reduction); the range redraws every outcome "
             "within its confidence interval and solves the frontier again. An upper bound, not a budget."),
            ("Similar areas", "publicservices.stats.comparators.nearest_neighbours", "Nearest neighbours on standardised area characteristics."),
            ("Report cards", "publicservices.stats.report_cards.report_cards", "Letter grades from percentile scores of each indicator, with how "
             "often a grade changes when the weights are perturbed."),
            ("Fifths of areas", "publicservices.stats.quantiles.value_quintiles", "For figures without confidence intervals, as Fingertips "
             "does: areas grouped into fifths by value (the PHE quantile method), because chance variation cannot be judged."),
        ]
        out.append(table(["Statistic", "Function", "Method"], [[a, b, c] for a, b, c in methods], caption="Statistics on this site") + "\n")
        out.append("## Small numbers\n")
        if t > 0:
            report = {r["reason"]: r for r in m.suppression.to_dicts()}
            primary = report.get("primary", {}).get("rows", 0)
            secondary = report.get("secondary", {}).get("rows", 0)
            out.append(f"Counts from 1 to {t - 1} are suppressed, so that no person can be singled out; and in every region and the whole "
                       "country with exactly one hidden cell the next smallest is hidden too, so that no hidden count can be worked out "
                       f"from the totals. On this site {primary:,} cells were suppressed for small numbers and {secondary:,} more to "
                       "protect them. Benchmarks use every count, as an official total would; every per-area figure of a hidden cell is "
                       "blank, and ranks, funnel plots and fairness measures use only the published values.\n")
        else:
            out.append("Small numbers are **not** suppressed on this site (the publisher turned suppression off).\n")
        notes = [t for t in (public_text(n) for n in m.notes) if t]
        if notes:
            out.append("## Notes on the data\n")
            out.append("\n".join(f"- {md_text(n)}" for n in notes) + "\n")
        out.append("## Provenance\n")
        out.append(table(["Component", "Version"], sorted(versions.items()), caption="Software that built this site") + "\n")
        out.append(f"SHA-256 of the input data: `{m.data_hash}`.\n")
        out.append(f"See also: {link(page, 'downloads.html', 'downloads')}.\n")
        return "\n".join(out)

    def downloads(self, files: Sequence[tuple[str, str]]) -> str:
        page = "downloads.md"
        base = (self.base_url or "").rstrip("/") + "/" if self.base_url else ""
        out = [front_matter("Downloads"), "# Downloads\n",
               "All the data behind the site, free to reuse. Each indicator and area page also links to its own CSV and Parquet files.\n"]
        out.append(table(["File", "What it holds"], [[link(page, path, path), what] for path, what in files],
                         caption="Data files", raw=[True, False]) + "\n")
        where = f"{base}data/all/results.parquet" if base else "data/all/results.parquet"
        out.append(f"The CSV files open in any spreadsheet. The Parquet files (for example {html_text(where)}) keep the column types "
                   "and open in data tools such as R (the arrow package), Python (Polars or pandas) and DuckDB.\n")
        return "\n".join(out)
