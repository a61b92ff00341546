"""``ToyConfig``: everything that changes the result of a toy-model run, validated, saved as JSON.

One run trains one *instance* per (sparsity setting, importance setting, model seed), in that
nesting order (sparsity slowest, seed fastest).  ``instances(config)`` expands the grid into
per-instance arrays, the form the trainer works with.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import NamedTuple

import numpy as np

from percolation_tms.io import InputFileError, write_json

MODELS = ("tied", "untied", "linear", "hidden_relu")
FEATURE_SELECTIONS = ("first", "frequent")
FEATURE_VALUES = ("binary", "values", "abs")
# The importance setting giving I_i = 100**(-i/(n-1)), the paper's choice for larger models.
IMPORTANCE_LOG100 = "log100"
# The section 4 sweep of the specification.
SECTION4_SPARSITIES = (0.0, 0.7, 0.9, 0.99, 0.999)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class ToyConfig:
    """Settings of one toy-model run (specification sections 1, 2 and 5).

    model : one of ``MODELS``.
    n_features, n_hidden : n and m.  With percolation features n is the number k of columns.
    sparsities : the sparsity settings S in [0, 1); every feature present with probability 1 - S.
    feature_probability : optional per-feature presence probabilities (n values in (0, 1]);
        when given it is the single sparsity setting and ``sparsities`` must be empty.
    importance : importance settings, each a decay ratio r > 0 (I_i = r**i), the string
        ``"log100"`` (I_i = 100**(-i/(n-1))) or n explicit non-negative weights.
    seeds : model seeds; each gives its own initial weights and batch streams.
    steps, batch_size, lr, weight_decay, beta1, beta2, eps : AdamW training (PyTorch's update,
        weight decay on every parameter including the bias).
    eval_batch_size : size of the held-out batch the final loss is measured on.
    history_every : the loss history holds the mean training loss of every window of this
        many steps.
    percolation_features : path of a dataset's ``<stem>_gt_features.npz``; then the inputs are
        rows of that matrix and ``sparsities`` must be empty.
    feature_selection : ``"first"`` k columns, or the k most ``"frequent"`` (most frequent
        first).
    feature_values : ``"binary"`` (1 where present), ``"values"`` (the stored z_j) or ``"abs"``
        (|z_j|).
    """

    model: str = "tied"
    n_features: int = 20
    n_hidden: int = 5
    sparsities: tuple[float, ...] = SECTION4_SPARSITIES
    feature_probability: tuple[float, ...] | None = None
    importance: tuple = (0.7,)
    seeds: tuple[int, ...] = (0,)
    steps: int = 10_000
    batch_size: int = 1024
    lr: float = 1e-3
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    eval_batch_size: int = 100_000
    history_every: int = 100
    percolation_features: str | None = None
    feature_selection: str = "first"
    feature_values: str = "binary"

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        for name in ("n_features", "n_hidden", "steps", "batch_size", "eval_batch_size",
                     "history_every"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self._validate_sparsity()
        self._validate_importance()
        if len(self.seeds) == 0:
            raise ValueError("seeds must not be empty")
        for seed in self.seeds:
            if not _is_int(seed) or seed < 0:
                raise ValueError(f"seeds must be non-negative integers, got {seed!r}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must not repeat, got {tuple(self.seeds)}")
        if not _is_real(self.lr) or self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if not _is_real(self.weight_decay) or self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if not _is_real(value) or not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        if not _is_real(self.eps) or self.eps <= 0:
            raise ValueError(f"eps must be positive, got {self.eps!r}")
        if self.feature_selection not in FEATURE_SELECTIONS:
            raise ValueError(f"feature_selection must be one of {FEATURE_SELECTIONS}, "
                             f"got {self.feature_selection!r}")
        if self.feature_values not in FEATURE_VALUES:
            raise ValueError(f"feature_values must be one of {FEATURE_VALUES}, "
                             f"got {self.feature_values!r}")

    def _validate_sparsity(self):
        if self.percolation_features is not None:
            if not isinstance(self.percolation_features, str) or not self.percolation_features:
                raise ValueError(f"percolation_features must be a path, "
                                 f"got {self.percolation_features!r}")
            if len(self.sparsities) or self.feature_probability is not None:
                raise ValueError("sparsities and feature_probability do not apply with "
                                 "percolation_features (their sparsity is a property of the "
                                 "data); leave them empty")
            return
        if self.feature_probability is not None:
            if len(self.sparsities):
                raise ValueError("give either sparsities or feature_probability, not both")
            if len(self.feature_probability) != self.n_features:
                raise ValueError(f"feature_probability must have n_features = "
                                 f"{self.n_features} values, got "
                                 f"{len(self.feature_probability)}")
            for p in self.feature_probability:
                if not _is_real(p) or not 0 < p <= 1:
                    raise ValueError(f"feature_probability values must be in (0, 1], got {p!r}")
            return
        if len(self.sparsities) == 0:
            raise ValueError("sparsities must not be empty")
        for s in self.sparsities:
            if not _is_real(s) or not 0 <= s < 1:
                raise ValueError(f"sparsity must be in [0, 1), got {s!r}")

    def _validate_importance(self):
        if isinstance(self.importance, (str, int, float)):
            # ValueError like every other bad setting: the CLI reports those as bad arguments.
            raise ValueError(  # noqa: TRY004
                f"importance must be a sequence of settings, e.g. (0.7,), "
                f"got {self.importance!r}")
        if len(self.importance) == 0:
            raise ValueError("importance must hold at least one setting")
        for setting in self.importance:
            if isinstance(setting, str):
                if setting != IMPORTANCE_LOG100:
                    raise ValueError(f"importance setting must be a ratio, "
                                     f"{IMPORTANCE_LOG100!r} or {self.n_features} weights, "
                                     f"got {setting!r}")
            elif _is_real(setting):
                if setting <= 0:
                    raise ValueError(f"importance ratio must be positive, got {setting!r}")
            else:
                weights = tuple(setting)
                if len(weights) != self.n_features:
                    raise ValueError(f"an explicit importance vector needs n_features = "
                                     f"{self.n_features} weights, got {len(weights)}")
                if not all(_is_real(w) and w >= 0 for w in weights) or max(weights) == 0:
                    raise ValueError(f"importance weights must be finite, >= 0 and not all "
                                     f"zero, got {weights}")

    # ------------------------------------------------------------------ round trip
    def to_dict(self) -> dict:
        """Plain JSON-ready dict (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict) -> ToyConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown ToyConfig keys {unknown}")
        values = dict(data)
        for key in ("sparsities", "seeds"):
            if key in values:
                values[key] = tuple(values[key])
        if values.get("feature_probability") is not None:
            values["feature_probability"] = tuple(values["feature_probability"])
        if "importance" in values:
            values["importance"] = tuple(
                tuple(s) if isinstance(s, list) else s for s in values["importance"])
        return cls(**values)

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> ToyConfig:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputFileError(f"config file {str(path)!r} is not readable JSON ({exc})"
                                 ) from exc
        return cls.from_dict(data)


def importance_vector(setting, n: int) -> np.ndarray:
    """float64 array of shape (n,): the importances I_i of one importance setting."""
    if isinstance(setting, str):
        if setting != IMPORTANCE_LOG100:
            raise ValueError(f"unknown importance setting {setting!r}")
        return 100.0 ** (-np.arange(n, dtype=np.float64) / max(n - 1, 1))
    if _is_real(setting):
        return float(setting) ** np.arange(n, dtype=np.float64)
    vector = np.asarray(setting, dtype=np.float64)
    if vector.shape != (n,):
        raise ValueError(f"importance vector must have shape ({n},), got {vector.shape}")
    return vector.copy()


def importance_label(setting) -> str:
    """Short name of an importance setting for tables: the ratio, ``log100`` or ``vector``."""
    if isinstance(setting, str):
        return setting
    if _is_real(setting):
        return repr(float(setting))
    return "vector"


class Instances(NamedTuple):
    """The instances of a run (I of them), in training order.

    sparsity : float64 (I,) -- the setting's S (with a probability vector: 1 - mean p; with
        percolation features: NaN until the data are known, see ``train``).
    probability : float64 (I, n) -- presence probability of each feature (synthetic data).
    importance : float64 (I, n).
    importance_setting : int64 (I,) -- index into ``config.importance``.
    importance_label : tuple of I str.
    seed : int64 (I,).
    """

    sparsity: np.ndarray
    probability: np.ndarray
    importance: np.ndarray
    importance_setting: np.ndarray
    importance_label: tuple
    seed: np.ndarray


def instances(config: ToyConfig) -> Instances:
    """Expand the (sparsity, importance, seed) grid of a config into per-instance arrays."""
    n = config.n_features
    if config.percolation_features is not None:
        probabilities = [np.full(n, np.nan)]
    elif config.feature_probability is not None:
        probabilities = [np.asarray(config.feature_probability, dtype=np.float64)]
    else:
        probabilities = [np.full(n, 1.0 - s) for s in config.sparsities]
    rows = [(p, k, seed) for p in probabilities for k in range(len(config.importance))
            for seed in config.seeds]
    probability = np.array([p for p, _, _ in rows], dtype=np.float64).reshape(len(rows), n)
    settings = np.array([k for _, k, _ in rows], dtype=np.int64)
    importance = np.array([importance_vector(config.importance[k], n) for k in settings],
                          dtype=np.float64).reshape(len(rows), n)
    if config.feature_probability is None and config.percolation_features is None:
        # Report the setting as given (1 - (1 - S) may differ from S in the last bit).
        sparsity = np.repeat(np.asarray(config.sparsities, dtype=np.float64),
                             len(config.importance) * len(config.seeds))
    else:
        sparsity = 1.0 - probability.mean(axis=1)
    return Instances(sparsity=sparsity, probability=probability, importance=importance,
                     importance_setting=settings,
                     importance_label=tuple(importance_label(config.importance[k])
                                            for k in settings),
                     seed=np.array([seed for _, _, seed in rows], dtype=np.int64))
