"""``BasinConfig`` and ``LLCConfig``: every setting of the basin-volume and llc commands, with
its default (spec section 8), type and validation; the command-line options are built from
them (``percolation_tms.settings``)."""

from __future__ import annotations

from dataclasses import dataclass

from percolation_tms.settings import (
    check_choice,
    check_non_negative_int,
    check_positive_int,
    is_int,
    is_real,
    setting,
)

COSTS = ("output", "loss")
PRECONDITIONERS = ("none", "diagonal", "full")


def _check_optional_positive(config, name, integer=False):
    value = getattr(config, name)
    if value is None:
        return
    ok = is_int(value) if integer else is_real(value)
    if not ok or value <= 0:
        raise ValueError(f"{name} must be a positive {'integer' if integer else 'number'} or "
                         f"none, got {value!r}")


def _check_instances(config):
    for index in config.instances:
        if not is_int(index) or index < 0:
            raise ValueError(f"instances must be non-negative integers, got {index!r}")


@dataclass(frozen=True)
class BasinConfig:
    """Settings of a basin-volume estimate of toy-model instances (spec sections 1, 2, 8)."""

    cost: str = setting("output", "cost: output distance on the evaluation set, or the "
                        "training-loss difference", choices=COSTS)
    cutoff_rel: tuple[float, ...] = setting(
        (0.1,), "cutoffs eps relative to the anchor's loss on the evaluation set, "
        "comma-separated (several: a cutoff scan)")
    n_directions: int = setting(1000, "random rays per instance and cutoff")
    sigma: float | None = setting(None, "prior scale (default the initialisation scale "
                                  "sqrt(2/(n+m)))")
    preconditioner: str = setting("none", "rays along P d: none, diagonal or full "
                                  "(rotated) Gauss-Newton", choices=PRECONDITIONERS)
    eval_samples: int | None = setting(None, "evaluation-set size (default "
                                       "max(1e4, ceil(200/(1-S))))")
    seed: int = setting(0, "seed of the ray directions and of the bootstrap")
    n_bootstrap: int = setting(1000, "bootstrap resamples of the log-mean-exp interval")
    instances: tuple[int, ...] = setting((), "instance indices of the run (default all)")

    def __post_init__(self):
        check_choice(self, "cost", COSTS)
        check_choice(self, "preconditioner", PRECONDITIONERS)
        if len(self.cutoff_rel) == 0:
            raise ValueError("cutoff_rel must hold at least one cutoff")
        for value in self.cutoff_rel:
            if not is_real(value) or value <= 0:
                raise ValueError(f"cutoff_rel must be positive numbers (cutoff > 0), "
                                 f"got {value!r}")
        if is_int(self.n_directions) and self.n_directions < 2:
            raise ValueError(f"n_directions must be at least 2, got {self.n_directions!r}")
        check_positive_int(self, "n_directions", "n_bootstrap")
        _check_optional_positive(self, "sigma")
        _check_optional_positive(self, "eval_samples", integer=True)
        check_non_negative_int(self, "seed")
        _check_instances(self)


@dataclass(frozen=True)
class LLCConfig:
    """Settings of an SGLD estimate of the local learning coefficient (spec sections 5, 8)."""

    cost: str = setting("output", "the loss L sampled: output distance or training loss",
                        choices=COSTS)
    n_chains: int = setting(8, "SGLD chains")
    n_burnin: int = setting(500, "steps before the first draw")
    n_draws: int = setting(2000, "draws per chain")
    draw_every: int = setting(1, "steps between draws")
    step_size: float | None = setting(None, "SGLD step size epsilon (default 0.1 / (n beta "
                                      "h_max + gamma), h_max the largest Gauss-Newton "
                                      "eigenvalue)")
    localization: float = setting(1.0, "localisation strength gamma")
    nbeta: float | None = setting(None, "n beta (default N / ln N, N the evaluation-set size)")
    eval_samples: int | None = setting(None, "evaluation-set size (default "
                                       "max(1e4, ceil(200/(1-S))))")
    seed: int = setting(0, "seed of the chains' noise")
    instances: tuple[int, ...] = setting((), "instance indices of the run (default all)")

    def __post_init__(self):
        check_choice(self, "cost", COSTS)
        check_positive_int(self, "n_chains", "n_draws", "draw_every")
        check_non_negative_int(self, "n_burnin", "seed")
        _check_optional_positive(self, "step_size")
        if not is_real(self.localization) or self.localization < 0:
            raise ValueError(f"localization must be >= 0, got {self.localization!r}")
        _check_optional_positive(self, "nbeta")
        _check_optional_positive(self, "eval_samples", integer=True)
        _check_instances(self)
