"""Is there a postcode lottery, how much of it is real, and does it follow deprivation?

Modules, by the question they answer:

* :mod:`.dispersion` -- how far apart are areas: range, IQR, P90/P10, SD, CV;
* :mod:`.inequality` -- inequality indices: Gini, Theil T and L, Atkinson;
* :mod:`.sii` -- the slope and relative index of inequality (a port of ``phe_sii``);
* :mod:`.variation` and :mod:`.tau2` -- true between-area variation beyond chance (tau2 by
  DerSimonian-Laird, Paule-Mandel or REML, I2, the true CV), reliability, McPherson's SCV;
* :mod:`.gradient` -- the deprivation gradient of area-level data (deciles, SII/RII, quintile
  gap, concentration index);
* :mod:`.spatial` -- Moran's I over neighbouring areas;
* :mod:`.assess` (with :mod:`.assess_inputs`) --
  :func:`~publicservices.stats.fairness.assess.assess_fairness`, all of the above per
  indicator and period (``ps.fairness``).

Import names from :mod:`publicservices.stats`; this package loads nothing until a module is used.
"""
