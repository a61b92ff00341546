"""Basin volumes (prior probability of the region that behaves like a trained model, tyche's
estimator done right) and local learning coefficients (SGLD) of trained toy models."""

from percolation_tms._lazy import lazy_exports

__all__ = ["BasinConfig", "LLCConfig", "LLCEstimate", "LogProbability", "Rays", "ToyCost",
           "adam_preconditioner", "default_nbeta", "diagonal_preconditioner", "estimate_llc",
           "estimate_log_probability", "full_preconditioner", "load_instance", "log_gamma_p",
           "log_radial_integral", "search_radii", "summarise", "toy_basin_and_llc",
           "toy_basin_volume", "toy_llc"]

# Imported from their submodules on first use (percolation_tms._lazy).
__getattr__, __dir__ = lazy_exports(__name__, {
    "config": ("BasinConfig", "LLCConfig"),
    "llc": ("LLCEstimate", "default_nbeta", "estimate_llc"),
    "precondition": ("adam_preconditioner", "diagonal_preconditioner", "full_preconditioner"),
    "toy": ("ToyCost", "load_instance", "toy_basin_and_llc", "toy_basin_volume", "toy_llc"),
    "volume": ("LogProbability", "Rays", "estimate_log_probability", "log_gamma_p",
               "log_radial_integral", "search_radii", "summarise"),
})
