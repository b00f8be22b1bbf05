"""Honest comparisons: funnels, shrinkage, rank intervals and rank sets, report cards, comparators.

Modules, by the question they answer:

* :mod:`.phe_funnel` -- the PHEindicatormethods funnel API, ported exactly (limits table,
  significance labels, rate chart points);
* :mod:`.funnels` -- the package's own funnel: every unit against limits at its own
  precision, with over-dispersion (:func:`~publicservices.stats.ranking.funnels.build_funnel`),
  built on :mod:`.exact_funnel` (Spiegelhalter's exact limits and robust phi);
* :mod:`.shrinkage` (with :mod:`.full_bayes`) -- empirical and fully Bayesian shrinkage;
* :mod:`.rank_intervals` -- simulated rank intervals (the honest league table);
* :mod:`.rank_sets` (with :mod:`.rank_set_engine`) -- rank confidence sets with guaranteed
  coverage;
* :mod:`.report_cards` (with :mod:`.grading`, :mod:`.report_card_schemes` and
  :mod:`.report_card_gaps`) -- A-F grades with a grade-stability check, and
  :mod:`.closing_gaps` -- whether each area's gap narrowed significantly (extra credit);
* :mod:`.comparators` -- nearest statistical neighbours and comparison with them.

Import names from :mod:`publicservices.stats`; this package loads nothing until a module is used.
"""
