"""``PersianRugConfig``: every setting of a Persian Rug sweep, its default, type and validation.

The API functions (``train_large``, ``fit_persian_rug``) take the same settings as keyword
arguments with the defaults below (the module constants are the one home of each default; the
dataclass fields and the keyword defaults both read them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from percolation_tms.settings import (
    check_choice,
    check_positive_int,
    check_positive_real,
    check_seeds,
    is_int,
    is_real,
    setting,
)

KINDS = ("trained", "rug", "theory")
SCHEDULES = ("fixed", "repo")
RUG_FITS = ("exact", "adam")
DTYPES = ("float32", "float64")

# Defaults (specification sections 2 and 4).
STEPS = 1500
BATCH_SIZE = 1024
LR_SCALE = 3e-3  # lr = LR_SCALE / sqrt(n)
BETA1 = 0.9
BETA2 = 0.999
EPS = 1e-7
MAX_EPOCHS = 1500  # schedule "repo": epochs of 30,000 samples, stopping rule window 200
EPOCH_SAMPLES = 30_000
STOP_WINDOW = 200
EVAL_SAMPLES = 20_000
EVAL_SEED = 0
RUG_DRAWS = 5
FIT_ENTRIES = 4_000_000  # samples x n of the rug's fit sample (at least MIN_FIT_SAMPLES samples)
MIN_FIT_SAMPLES = 1000
KS_SAMPLES = 2000


def is_power_of_two(n) -> bool:
    return is_int(n) and n >= 1 and (n & (n - 1)) == 0


def check_probability(p, name: str = "p") -> None:
    """p in (0, 1]."""
    if not is_real(p) or not 0 < p <= 1:
        raise ValueError(f"{name} must be in (0, 1], got {p!r}")


def check_cell(n, m, p, *, rug: bool = False) -> None:
    """The checks every (n, m, p) passes: positive sizes, m <= n, p in (0, 1], n = 2^k for
    the rug."""
    if not is_int(n) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not is_int(m) or m < 1:
        raise ValueError(f"m must be a positive integer, got {m!r}")
    if m > n:
        raise ValueError(f"m must be at most n = {n}, got m = {m}")
    check_probability(p)
    if rug and not is_power_of_two(n):
        raise ValueError(f"the Persian rug needs n a power of two (Sylvester Hadamard "
                         f"matrix), got n = {n}")


def hidden_units(n: int, ratio: float) -> int:
    """m = max(1, int(n r)), the public code's rounding (specification section 3)."""
    return max(1, int(n * ratio))


def _check_tuple(config, name, check_one):
    values = getattr(config, name)
    if not isinstance(values, tuple):
        raise ValueError(f"{name} must be a tuple, got {values!r}")  # noqa: TRY004 (CLI: exit 2)
    for value in values:
        check_one(value)
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat, got {values}")


@dataclass(frozen=True)
class PersianRugConfig:
    """Settings of one sweep over n, m/n, p and seeds (specification sections 2-5).

    ``n_features`` cells get every kind in ``kinds``; ``large_n_features`` cells only the rug
    and the Gaussian limit (trained models at n >= 4096 need a GPU, section 3).
    """

    n_features: tuple[int, ...] = setting((256, 512), "n of the cells with every model kind")
    large_n_features: tuple[int, ...] = setting(
        (8192,), "n of the cells with the rug and the Gaussian limit only (empty: none)")
    ratios: tuple[float, ...] = setting((0.125, 0.25, 0.5),
                                        "target m/n; m = max(1, int(n r))")
    probabilities: tuple[float, ...] = setting((0.02, 0.1),
                                               "p, the probability a feature is on")
    seeds: tuple[int, ...] = setting((0,), "model seeds: one trained model and one rug per "
                                     "(n, m, p, seed)")
    kinds: tuple[str, ...] = setting(KINDS, "model kinds: trained, rug, theory",
                                     parse=lambda text: tuple(t for t in text.split(",") if t))
    steps: int = setting(STEPS, "training steps (schedule fixed; the cap of schedule repo)")
    schedule: str = setting("fixed", "fixed: `steps` batches of batch_size; repo: the public "
                            "code's epochs of 30,000 samples and its stopping rule",
                            choices=SCHEDULES)
    batch_size: int = setting(BATCH_SIZE, "samples per training step")
    lr_scale: float = setting(LR_SCALE, "Adam learning rate times sqrt(n)")
    beta1: float = setting(BETA1, "Adam beta1")
    beta2: float = setting(BETA2, "Adam beta2")
    eps: float = setting(EPS, "Adam epsilon")
    dtype: str = setting("float32", "floating type of training", choices=DTYPES)
    eval_samples: int = setting(EVAL_SAMPLES, "fresh samples of the clean evaluation")
    eval_seed: int = setting(EVAL_SEED, "seed of the evaluation (and fit) samples: one "
                             "sample per (n, p) shared by every model")
    rug_draws: int = setting(RUG_DRAWS, "row draws of the rug; the best on the fit sample "
                             "is kept")
    rug_fit: str = setting("exact", "exact: deterministic fit of (a, b); adam: the public "
                           "code's Adam fit", choices=RUG_FITS)
    fit_entries: int = setting(FIT_ENTRIES, "entries (samples x n) of the rug's fixed fit "
                               "sample, at least 1000 samples")
    ks_samples: int = setting(KS_SAMPLES, "samples of one interference term for the KS test")

    def __post_init__(self):
        for name in ("n_features", "large_n_features"):
            _check_tuple(self, name, lambda n, name=name: _check_n(name, n))
        if not self.n_features and not self.large_n_features:
            raise ValueError("n_features and large_n_features must not both be empty")
        _check_tuple(self, "ratios", _check_ratio)
        if not self.ratios:
            raise ValueError("ratios must not be empty")
        _check_tuple(self, "probabilities", lambda p: check_probability(p, "probabilities"))
        if not self.probabilities:
            raise ValueError("probabilities must not be empty")
        check_seeds(self)
        if not self.kinds:
            raise ValueError("kinds must not be empty")
        _check_tuple(self, "kinds", _check_kind)
        check_positive_int(self, "steps", "batch_size", "eval_samples", "rug_draws",
                           "fit_entries", "ks_samples")
        if not is_int(self.eval_seed) or self.eval_seed < 0:
            raise ValueError(f"eval_seed must be a non-negative integer, got {self.eval_seed!r}")
        check_choice(self, "schedule", SCHEDULES)
        check_choice(self, "rug_fit", RUG_FITS)
        check_choice(self, "dtype", DTYPES)
        check_positive_real(self, "lr_scale", "eps")
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if not is_real(value) or not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        if "rug" in self.kinds:
            for n in self.n_features + self.large_n_features:
                if not is_power_of_two(n):
                    raise ValueError(f"n_features: the rug needs powers of two, got {n}")

    def cells(self, kind: str) -> list[tuple[int, int, float, float]]:
        """(n, m, target ratio, p) of every cell of a kind, in table order."""
        ns = self.n_features if kind == "trained" else self.n_features + self.large_n_features
        return [(n, hidden_units(n, r), r, p) for n in ns for r in self.ratios
                for p in self.probabilities]


def _check_n(name, n):
    if not is_int(n) or n < 2:
        raise ValueError(f"{name} must be integers >= 2, got {n!r}")


def _check_ratio(r):
    if not is_real(r) or not 0 < r <= 1:
        raise ValueError(f"ratios must be in (0, 1] (m = int(n r) must not exceed n), "
                         f"got {r!r}")


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(f"kinds must be among {KINDS}, got {kind!r}")


def lr_for(n: int, lr_scale: float = LR_SCALE) -> float:
    """The public code's learning rate 3e-3 / sqrt(n)."""
    return lr_scale / math.sqrt(n)
