"""The Persian Rug (Cowsik, Dolev, Infanger, arXiv:2410.12101): toy autoencoders at large n on
permutation-symmetric sparse data -- trained models, the artificial Hadamard model, the
Gaussian-limit theory, the statistics of trained weights, and grid sweeps.  See
``docs/persianrug.md``."""

from percolation_tms._lazy import lazy_exports

__all__ = ["KINDS", "STATISTICS", "EvalResult", "GaussianLimit", "PersianRugConfig", "RugFit",
           "SparseBatch", "Sweep", "TrainedModel", "WeightStatistics", "draw_rug_rows",
           "elementwise_floor", "evaluate_rug", "evaluate_weights", "fit_persian_rug", "fwht",
           "gaussian_limit", "gaussian_limit_loss", "hadamard", "hidden_units",
           "high_sparsity_loss", "init_parameters", "linear_optimum_loss", "loss_and_gradient",
           "public_linear_loss", "rug_apply", "rug_kernel", "rug_matrix", "rug_statistics",
           "run_sweep", "sample_batch", "save_sweep", "theory_curves", "train_large",
           "weight_statistics"]

# Imported from their submodules on first use (percolation_tms._lazy).
__getattr__, __dir__ = lazy_exports(__name__, {
    "config": ("KINDS", "PersianRugConfig", "hidden_units"),
    "data": ("SparseBatch", "sample_batch"),
    "rug": ("RugFit", "draw_rug_rows", "evaluate_rug", "fit_persian_rug", "fwht", "hadamard",
            "rug_apply", "rug_kernel", "rug_matrix"),
    "stats": ("STATISTICS", "WeightStatistics", "rug_statistics", "weight_statistics"),
    "sweep": ("Sweep", "run_sweep", "save_sweep", "theory_curves"),
    "theory": ("GaussianLimit", "elementwise_floor", "gaussian_limit", "gaussian_limit_loss",
               "high_sparsity_loss", "linear_optimum_loss", "public_linear_loss"),
    "train": ("EvalResult", "TrainedModel", "evaluate_weights", "init_parameters",
              "loss_and_gradient", "train_large"),
})
