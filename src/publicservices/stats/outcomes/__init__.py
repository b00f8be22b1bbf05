"""How good is each area, and is that real? Intervals, benchmark comparison, standards, trends.

Modules, by the question they answer:

* :mod:`.levels` -- confidence levels and the names of limit columns;
* :mod:`.proportions`, :mod:`.rates`, :mod:`.means`, :mod:`.standardised` -- confidence
  intervals by family (Wilson / Clopper-Pearson, Byar / exact Poisson, Student's t, DSR and
  ISR), with :mod:`.standard_populations` (ESP2013, ESP1976);
* :mod:`.intervals` -- ``interval_columns`` and ``add_intervals`` (the right method for every
  row of a values frame);
* :mod:`.benchmark` -- comparison with a benchmark (Fingertips categories, probability, FDR);
* :mod:`.standards` -- floor standards and targets;
* :mod:`.trends` and :mod:`.spc` -- recent trend, year-on-year change, XmR charts;
* :mod:`.quantiles` -- PHE quantiles and polarity-aware ranks;
* :mod:`.assess` -- :func:`~publicservices.stats.outcomes.assess.assess_outcomes`, all of the
  above in one table (``ps.outcomes``).

Import names from :mod:`publicservices.stats`; this package loads nothing until a module is used.
"""
