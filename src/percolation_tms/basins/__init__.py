"""Basin volumes (prior probability of the region that behaves like a trained model, tyche's
estimator done right) and local learning coefficients (SGLD) of trained toy models."""

from percolation_tms.basins.config import BasinConfig, LLCConfig
from percolation_tms.basins.llc import LLCEstimate, default_nbeta, estimate_llc
from percolation_tms.basins.precondition import (
    adam_preconditioner,
    diagonal_preconditioner,
    full_preconditioner,
)
from percolation_tms.basins.toy import (
    ToyCost,
    load_instance,
    toy_basin_and_llc,
    toy_basin_volume,
    toy_llc,
)
from percolation_tms.basins.volume import (
    LogProbability,
    Rays,
    estimate_log_probability,
    log_gamma_p,
    log_radial_integral,
    search_radii,
    summarise,
)

__all__ = ["BasinConfig", "LLCConfig", "LLCEstimate", "LogProbability", "Rays", "ToyCost",
           "adam_preconditioner", "default_nbeta", "diagonal_preconditioner", "estimate_llc",
           "estimate_log_probability", "full_preconditioner", "load_instance", "log_gamma_p",
           "log_radial_integral", "search_radii", "summarise", "toy_basin_and_llc",
           "toy_basin_volume", "toy_llc"]
