"""The settings of the toy-model stage: ``ToyConfig`` (``train-toy``) and ``PhaseDiagramConfig``
(``phase-diagram``), the one home of every default, type, help text and check.

The command-line options are built from these fields (``percolation_tms.settings``), so a
setting has one name from ``config.yaml`` to the kernel: ``toy_models.synthetic.n_features`` ->
``--n-features`` -> ``ToyConfig.n_features``.

One run trains one *instance* per (sparsity setting, importance setting, model seed), in that
nesting order (sparsity slowest, model seed fastest).  ``instances(config)`` expands the grid
into per-instance arrays, the form the trainer works with.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from percolation_tms import settings
from percolation_tms.settings import is_real, setting

MODELS = ("tied", "untied", "linear", "hidden_relu")
FEATURE_SELECTIONS = ("first", "frequent")
FEATURE_VALUES = ("binary", "values", "abs")
# The importance setting giving I_i = 100**(-i/(n-1)), the paper's choice for larger models.
IMPORTANCE_LOG100 = "log100"
# The section 4 sweep of the specification.
SECTION4_SPARSITIES = (0.0, 0.7, 0.9, 0.99, 0.999)
# Defaults that depend on the kind of input (``None`` in the dataclass until resolved).
SYNTHETIC_N_FEATURES = 20
SYNTHETIC_IMPORTANCE = (0.7,)
PERCOLATION_IMPORTANCE = (1.0,)  # every feature column equally important

# AdamW as PyTorch's defaults and the specification's weight decay; shared by both configs.
LR = 1e-3
WEIGHT_DECAY = 0.01
BETA1 = 0.9
BETA2 = 0.999
EPS = 1e-8


class AdamW(NamedTuple):
    """AdamW's settings, as the kernels take them (PyTorch's update, weight decay on every
    parameter including the bias)."""

    lr: float
    weight_decay: float
    beta1: float
    beta2: float
    eps: float


def parse_importance(text: str) -> tuple:
    """``"0.7,log100"`` -> ``(0.7, "log100")`` (command-line form of ``importance``)."""
    values = []
    for token in text.split(","):
        if token == IMPORTANCE_LOG100:
            values.append(token)
            continue
        try:
            values.append(float(token))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"importance settings are ratios r (I_i = r**i) or {IMPORTANCE_LOG100!r}, "
                f"got {token!r}") from None
    return tuple(values)


def _check_adamw(config) -> None:
    settings.check_positive_real(config, "lr", "eps")
    settings.check_non_negative_real(config, "weight_decay")
    settings.check_unit_interval(config, "beta1")
    settings.check_unit_interval(config, "beta2")


def _resolve(config, name: str, value) -> None:
    # The dataclass is frozen: a default that depends on other fields is filled in here, once.
    object.__setattr__(config, name, value)


@dataclass(frozen=True)
class ToyConfig:
    """Settings of one toy-model run (specification sections 1, 2 and 5).

    Two settings default by the kind of input: ``n_features`` (20 for synthetic features; with
    ``percolation_features`` it must be given) and ``importance`` (``SYNTHETIC_IMPORTANCE``,
    or ``PERCOLATION_IMPORTANCE`` with percolation features); ``sparsities`` defaults to the
    section 4 sweep for synthetic features without ``feature_probability`` and is empty
    otherwise.  ``__post_init__`` fills them in, so a config always holds the values used.

    Attributes
    ----------
    model : str
        One of ``MODELS``.
    n_features, n_hidden : int
        n and m.  With percolation features n is the number of feature columns taken.
    sparsities : tuple of float
        The sparsity settings S in [0, 1); every feature present with probability 1 - S.
    feature_probability : tuple of float or None
        Per-feature presence probabilities (n values in (0, 1]); when given it is the single
        sparsity setting and ``sparsities`` must be empty.
    importance : tuple
        Importance settings, each a decay ratio r > 0 (I_i = r**i), the string ``"log100"``
        (I_i = 100**(-i/(n-1))) or a tuple of n explicit non-negative weights.
    seeds : tuple of int
        Model seeds; each gives its own initial weights and batch streams.
    steps, batch_size, lr, weight_decay, beta1, beta2, eps
        AdamW training (PyTorch's update, weight decay on every parameter including the bias).
    eval_batch_size : int
        Size of the held-out batch the final loss is measured on.
    history_every : int
        The loss history holds the mean training loss of every window of this many steps.
    percolation_features : str or None
        Path of a dataset's ``<stem>_gt_features.npz``; then the inputs are rows of that
        matrix and ``sparsities`` must be empty.
    feature_selection : str
        ``"first"`` n columns, or the n most ``"frequent"`` (most frequent first).
    feature_values : str
        ``"binary"`` (1 where present), ``"values"`` (the stored z_j) or ``"abs"`` (|z_j|).
    """

    model: str = setting("tied", "model kind", choices=MODELS)
    n_features: int | None = setting(
        None, "n, the number of features (with --percolation-features: the number of "
              "feature columns taken)",
        default_text=f"{SYNTHETIC_N_FEATURES}; required with --percolation-features")
    n_hidden: int = setting(5, "m, the number of hidden dimensions")
    sparsities: tuple[float, ...] | None = setting(
        None, "comma-separated sparsities in [0, 1)",
        default_text=",".join(str(s) for s in SECTION4_SPARSITIES)
        + "; none with --feature-probability or --percolation-features")
    feature_probability: tuple[float, ...] | None = setting(
        None, "n comma-separated presence probabilities, one per feature (replaces "
              "--sparsities)")
    importance: tuple | None = setting(
        None, "comma-separated importance settings: ratios r (I_i = r**i) or 'log100' "
              "(I_i = 100**(-i/(n-1)))", parse=parse_importance,
        default_text=",".join(map(str, SYNTHETIC_IMPORTANCE)) + "; "
        + ",".join(map(str, PERCOLATION_IMPORTANCE)) + " with --percolation-features")
    seeds: tuple[int, ...] = setting((0,), "comma-separated model seeds, one instance each")
    steps: int = setting(10_000, "training steps")
    batch_size: int = setting(1024, "samples per training step")
    lr: float = setting(LR, "AdamW learning rate")
    weight_decay: float = setting(WEIGHT_DECAY, "AdamW weight decay (on every parameter)")
    beta1: float = setting(BETA1, "AdamW first-moment decay")
    beta2: float = setting(BETA2, "AdamW second-moment decay")
    eps: float = setting(EPS, "AdamW epsilon")
    eval_batch_size: int = setting(100_000, "size of the held-out batch of the final loss")
    history_every: int = setting(100, "steps per window of the loss history")
    percolation_features: str | None = setting(
        None, "a dataset's <stem>_gt_features.npz: train on its points' ground-truth "
              "features", metavar="FILE")
    feature_selection: str = setting("first", "the first n feature columns or the n most "
                                     "frequent", choices=FEATURE_SELECTIONS)
    feature_values: str = setting("binary", "1 where present, the stored z_j, or |z_j|",
                                  choices=FEATURE_VALUES)

    def __post_init__(self):
        settings.check_choice(self, "model", MODELS)
        percolation = self.percolation_features is not None
        if self.n_features is None:
            if percolation:
                raise ValueError(
                    "percolation_features needs n_features, the number of feature columns "
                    "to take (the command line needs --k, now called --n-features)")
            _resolve(self, "n_features", SYNTHETIC_N_FEATURES)
        if self.importance is None:
            _resolve(self, "importance",
                     PERCOLATION_IMPORTANCE if percolation else SYNTHETIC_IMPORTANCE)
        if self.sparsities is None:
            _resolve(self, "sparsities", () if percolation or self.feature_probability
                     is not None else SECTION4_SPARSITIES)
        settings.check_positive_int(self, "n_features", "n_hidden", "steps", "batch_size",
                                    "eval_batch_size", "history_every")
        self._check_sparsity()
        self._check_importance()
        settings.check_seeds(self, "seeds")
        _check_adamw(self)
        settings.check_choice(self, "feature_selection", FEATURE_SELECTIONS)
        settings.check_choice(self, "feature_values", FEATURE_VALUES)

    def _check_sparsity(self):
        if self.percolation_features is not None:
            if not isinstance(self.percolation_features, str) or not self.percolation_features:
                raise ValueError(f"percolation_features must be a path, "
                                 f"got {self.percolation_features!r}")
            if len(self.sparsities) or self.feature_probability is not None:
                raise ValueError(
                    "sparsities and feature_probability do not apply with "
                    "percolation_features (their sparsity is a property of the data); leave "
                    "them empty (on the command line: --sparsities and --feature-probability "
                    "do not apply with --percolation-features)")
            return
        if self.feature_probability is not None:
            if len(self.sparsities):
                raise ValueError("give either sparsities or feature_probability, not both")
            if len(self.feature_probability) != self.n_features:
                raise ValueError(f"feature_probability must have n_features = "
                                 f"{self.n_features} values, got "
                                 f"{len(self.feature_probability)}")
            for p in self.feature_probability:
                if not is_real(p) or not 0 < p <= 1:
                    raise ValueError(f"feature_probability values must be in (0, 1], got {p!r}")
            return
        if len(self.sparsities) == 0:
            raise ValueError("sparsities must not be empty")
        for s in self.sparsities:
            if not is_real(s) or not 0 <= s < 1:
                raise ValueError(f"sparsity must be in [0, 1), got {s!r}")

    def _check_importance(self):
        if isinstance(self.importance, (str, int, float)):
            # ValueError like every other bad setting: the CLI reports those as bad arguments.
            raise ValueError(  # noqa: TRY004
                f"importance must be a sequence of settings, e.g. (0.7,), "
                f"got {self.importance!r}")
        if len(self.importance) == 0:
            raise ValueError("importance must hold at least one setting")
        for value in self.importance:
            if isinstance(value, str):
                if value != IMPORTANCE_LOG100:
                    raise ValueError(f"importance setting must be a ratio, "
                                     f"{IMPORTANCE_LOG100!r} or {self.n_features} weights, "
                                     f"got {value!r}")
            elif is_real(value):
                if value <= 0:
                    raise ValueError(f"importance ratio must be positive, got {value!r}")
            else:
                weights = tuple(value)
                if len(weights) != self.n_features:
                    raise ValueError(f"an explicit importance vector needs n_features = "
                                     f"{self.n_features} weights, got {len(weights)}")
                if not all(is_real(w) and w >= 0 for w in weights) or max(weights) == 0:
                    raise ValueError(f"importance weights must be finite, >= 0 and not all "
                                     f"zero, got {weights}")

    @property
    def optimizer(self) -> AdamW:
        """The AdamW settings, as the kernels take them."""
        return AdamW(lr=self.lr, weight_decay=self.weight_decay, beta1=self.beta1,
                     beta2=self.beta2, eps=self.eps)

    # ------------------------------------------------------------------ round trip
    def to_dict(self) -> dict:
        """Plain JSON-ready dict (tuples become lists)."""
        return settings.to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ToyConfig:
        """Inverse of :meth:`to_dict`; unknown keys are refused."""
        return settings.from_dict(cls, data)

    @property
    def run_id(self) -> str:
        """The identity every file of a run records: 16 hex digits of the SHA-256 of the
        config's canonical JSON (sorted keys), so equal configs give equal ids."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def save(self, path: str | os.PathLike) -> None:
        """Write ``config.json``: the settings and the ``run_id`` they give."""
        from percolation_tms.io import write_json

        write_json(path, {**self.to_dict(), "run_id": self.run_id})

    @classmethod
    def load(cls, path: str | os.PathLike) -> ToyConfig:
        """Read a ``config.json`` written by :meth:`save` (``run_id`` checked if present)."""
        from percolation_tms.io import InputFileError

        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputFileError(f"config file {str(path)!r} is not readable JSON ({exc})"
                                 ) from exc
        recorded = data.pop("run_id", None)
        config = cls.from_dict(data)
        if recorded is not None and recorded != config.run_id:
            raise InputFileError(f"config file {str(path)!r} records run_id {recorded!r}, "
                                 f"but its settings give {config.run_id!r}")
        return config


@dataclass(frozen=True)
class PhaseDiagramConfig:
    """Settings of ``phase-diagram`` (specification section 6).

    Attributes
    ----------
    grid_size : int
        Points per axis of the analytic map: log-spaced importance ratios in [0.1, 10] and
        sparsities with log-spaced density 1 - S in [0.01, 1].
    steps, batch_size, eval_batch_size, lr, weight_decay, beta1, beta2, eps
        Training of the check models (``tied``, n = 2, m = 1), as for ``ToyConfig``.
    seeds : tuple of int
        Model seeds tried at every trained point; the lowest held-out loss is kept.
    trained_points : tuple of (float, float)
        (importance ratio, sparsity) of the trained points (Python API only).
    """

    grid_size: int = setting(41, "points per axis of the (importance ratio, sparsity) grid")
    steps: int = setting(10_000, "training steps of each check model")
    batch_size: int = setting(1024, "samples per training step")
    seeds: tuple[int, ...] = setting(
        (0, 1, 2, 3), "comma-separated model seeds tried at every trained point; the lowest "
                      "held-out loss is kept")
    eval_batch_size: int = setting(100_000, "size of the held-out batch")
    lr: float = setting(LR, "AdamW learning rate")
    weight_decay: float = setting(WEIGHT_DECAY, "AdamW weight decay")
    beta1: float = setting(BETA1, cli=False)
    beta2: float = setting(BETA2, cli=False)
    eps: float = setting(EPS, cli=False)
    # Inside each phase, away from the edges.
    trained_points: tuple = setting(((0.3, 0.1), (0.2, 0.5), (3.0, 0.1), (5.0, 0.5),
                                     (1.0, 0.9), (0.5, 0.95)), cli=False)

    def __post_init__(self):
        if not settings.is_int(self.grid_size) or self.grid_size < 2:
            raise ValueError(f"grid_size must be at least 2, got {self.grid_size!r}")
        settings.check_positive_int(self, "steps", "batch_size", "eval_batch_size")
        settings.check_seeds(self, "seeds")
        _check_adamw(self)
        points = np.asarray(self.trained_points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
            raise ValueError(f"trained_points must be (importance ratio, sparsity) pairs, "
                             f"got {self.trained_points!r}")
        if np.any(points[:, 0] <= 0) or np.any((points[:, 1] < 0) | (points[:, 1] >= 1)):
            raise ValueError("trained_points need importance ratios > 0 and sparsities in "
                             "[0, 1)")

    @property
    def optimizer(self) -> AdamW:
        """The AdamW settings, as the kernels take them."""
        return AdamW(lr=self.lr, weight_decay=self.weight_decay, beta1=self.beta1,
                     beta2=self.beta2, eps=self.eps)


def importance_vector(value, n: int) -> np.ndarray:
    """The importances of one importance setting.

    Parameters
    ----------
    value : float, str or sequence of float
        A decay ratio r (I_i = r**i), ``"log100"`` (I_i = 100**(-i/(n-1))) or n weights.
    n : int
        The number of features.

    Returns
    -------
    float64 array of shape (n,)
    """
    if isinstance(value, str):
        if value != IMPORTANCE_LOG100:
            raise ValueError(f"unknown importance setting {value!r}")
        return 100.0 ** (-np.arange(n, dtype=np.float64) / max(n - 1, 1))
    if is_real(value):
        return float(value) ** np.arange(n, dtype=np.float64)
    vector = np.asarray(value, dtype=np.float64)
    if vector.shape != (n,):
        raise ValueError(f"importance vector must have shape ({n},), got {vector.shape}")
    return vector.copy()


def importance_label(value) -> str:
    """Short name of an importance setting for tables: the ratio, ``log100`` or ``vector``."""
    if isinstance(value, str):
        return value
    if is_real(value):
        return repr(float(value))
    return "vector"


class Instances(NamedTuple):
    """The instances of a run (I of them), in training order.

    Attributes
    ----------
    sparsity : float64 array of shape (I,)
        The setting's S (with a probability vector: 1 - mean p; with percolation features:
        NaN until the data are known, see ``train.train_toy``).
    probability : float64 array of shape (I, n)
        Presence probability of each feature (synthetic data).
    importance : float64 array of shape (I, n)
    importance_setting : int64 array of shape (I,)
        Index into ``config.importance``.
    importance_label : tuple of I str
    model_seed : int64 array of shape (I,)
        The seed of the instance's initial weights and batches (not a dataset's seed).
    """

    sparsity: np.ndarray
    probability: np.ndarray
    importance: np.ndarray
    importance_setting: np.ndarray
    importance_label: tuple
    model_seed: np.ndarray


def instances(config: ToyConfig) -> Instances:
    """Expand the (sparsity, importance, model seed) grid of a config into per-instance
    arrays (:class:`Instances`)."""
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
    setting_index = np.array([k for _, k, _ in rows], dtype=np.int64)
    importance = np.array([importance_vector(config.importance[k], n) for k in setting_index],
                          dtype=np.float64).reshape(len(rows), n)
    if config.feature_probability is None and config.percolation_features is None:
        # Report the setting as given (1 - (1 - S) may differ from S in the last bit).
        sparsity = np.repeat(np.asarray(config.sparsities, dtype=np.float64),
                             len(config.importance) * len(config.seeds))
    else:
        sparsity = 1.0 - probability.mean(axis=1)
    return Instances(sparsity=sparsity, probability=probability, importance=importance,
                     importance_setting=setting_index,
                     importance_label=tuple(importance_label(config.importance[k])
                                            for k in setting_index),
                     model_seed=np.array([seed for _, _, seed in rows], dtype=np.int64))
