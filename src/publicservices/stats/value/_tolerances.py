"""Numerical tolerances of the DEA solver."""

# Scores within this of 1 count as on the frontier; slacks (in units of each variable's mean)
# above it make a unit only weakly efficient. HiGHS solves to 1e-9, so 1e-6 is far from noise.
EFFICIENT_TOL = 1e-6
_WEIGHT_TOL = 1e-7  # peers contributing less (relative to the unit's size) are solver noise
_REDUCED_COST_TOL = 1e-9
_PHASE2_MARGIN = 1e-12
# Presolve only costs time on these small, already tight block-diagonal LPs.
_HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10, "presolve": False}
