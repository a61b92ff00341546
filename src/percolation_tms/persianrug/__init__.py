"""The Persian Rug (Cowsik, Dolev, Infanger, arXiv:2410.12101): toy autoencoders at large n on
permutation-symmetric sparse data -- trained models, the artificial Hadamard model, the
Gaussian-limit theory, the statistics of trained weights, and grid sweeps.  See
``docs/persianrug.md``."""

from percolation_tms.persianrug.config import KINDS, PersianRugConfig, hidden_units
from percolation_tms.persianrug.data import SparseBatch, sample_batch
from percolation_tms.persianrug.rug import (
    RugFit,
    draw_rug_rows,
    evaluate_rug,
    fit_persian_rug,
    fwht,
    hadamard,
    rug_apply,
    rug_kernel,
    rug_matrix,
)
from percolation_tms.persianrug.stats import (
    STATISTICS,
    WeightStatistics,
    rug_statistics,
    weight_statistics,
)
from percolation_tms.persianrug.sweep import Sweep, run_sweep, save_sweep, theory_curves
from percolation_tms.persianrug.theory import (
    GaussianLimit,
    elementwise_floor,
    gaussian_limit,
    gaussian_limit_loss,
    high_sparsity_loss,
    linear_optimum_loss,
    public_linear_loss,
)
from percolation_tms.persianrug.train import (
    EvalResult,
    TrainedModel,
    evaluate_weights,
    init_parameters,
    loss_and_gradient,
    train_large,
)

__all__ = ["KINDS", "STATISTICS", "EvalResult", "GaussianLimit", "PersianRugConfig", "RugFit",
           "SparseBatch", "Sweep", "TrainedModel", "WeightStatistics", "draw_rug_rows",
           "elementwise_floor", "evaluate_rug", "evaluate_weights", "fit_persian_rug", "fwht",
           "gaussian_limit", "gaussian_limit_loss", "hadamard", "hidden_units",
           "high_sparsity_loss", "init_parameters", "linear_optimum_loss", "loss_and_gradient",
           "public_linear_loss", "rug_apply", "rug_kernel", "rug_matrix", "rug_statistics",
           "run_sweep", "sample_batch", "save_sweep", "theory_curves", "train_large",
           "weight_statistics"]
