"""The settings of one sparse-autoencoder training run, validated once, saved beside its weights."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

KINDS = ("relu", "topk")


@dataclass(frozen=True)
class SAEConfig:
    """One sparse autoencoder: architecture, sparsity, optimisation and seed.

    kind        ``relu``: f = ReLU(W_enc (x - b_dec) + b_enc), loss adds ``l1`` * sum(f);
                ``topk``: the ``k`` largest pre-activations are kept (then ReLU), no L1 term.
    dict_ratio  dictionary size as a multiple of the input dimension d: n_latents =
                max(1, round(dict_ratio * d)).
    l1          L1 coefficient lambda (``relu`` only; 0 gives a plain ReLU autoencoder).
    k           active latents per point (``topk`` only).
    epochs      passes over the training points, each in a fresh seeded order.
    batch_size  points per Adam step (the last step of an epoch takes the remainder).
    lr, beta1, beta2, eps   Adam's settings (PyTorch's update rule, bias-corrected).
    seed        initial dictionary and minibatch order; same seed, same weights, bit for bit.
    standardize subtract the per-coordinate mean of X and divide by one global scale so that
                the mean squared norm of a point is d.  One scale for all coordinates keeps
                directions, so the learned dictionary stays comparable with directions in
                the raw space (a per-coordinate scale would shear it).
    """

    kind: str = "relu"
    dict_ratio: float = 8.0
    l1: float = 0.0
    k: int = 0
    epochs: int = 5
    batch_size: int = 256
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    seed: int = 0
    standardize: bool = True

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        _check_number(self.dict_ratio, "dict_ratio", lambda v: v > 0, "> 0")
        _check_number(self.l1, "l1", lambda v: v >= 0, ">= 0")
        if self.kind == "relu" and self.k != 0:
            raise ValueError(f"k={self.k} applies to kind 'topk' only; kind 'relu' uses l1")
        if self.kind == "topk":
            if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
                raise ValueError(f"k must be an integer >= 1 for kind 'topk', got {self.k!r}")
            if self.l1 != 0:
                raise ValueError(f"l1={self.l1} applies to kind 'relu' only; kind 'topk' "
                                 "uses k")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        _check_number(self.lr, "lr", lambda v: v > 0, "> 0")
        _check_number(self.beta1, "beta1", lambda v: 0 <= v < 1, "in [0, 1)")
        _check_number(self.beta2, "beta2", lambda v: 0 <= v < 1, "in [0, 1)")
        _check_number(self.eps, "eps", lambda v: v > 0, "> 0")
        if not isinstance(self.standardize, bool):
            # ValueError, not TypeError: the CLI reports ValueErrors as argument errors.
            raise ValueError(  # noqa: TRY004
                f"standardize must be true or false, got {self.standardize!r}")

    def n_latents(self, dim: int) -> int:
        """Dictionary size for inputs of dimension ``dim``; validates k against it."""
        n_latents = max(1, round(self.dict_ratio * dim))
        if self.kind == "topk" and self.k > n_latents:
            raise ValueError(f"k={self.k} exceeds the dictionary size {n_latents} "
                             f"(dict_ratio {self.dict_ratio} x dimension {dim})")
        return n_latents

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SAEConfig:
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown SAE config keys {unknown}; known keys {sorted(names)}")
        return cls(**data)

    def replace(self, **changes) -> SAEConfig:
        return dataclasses.replace(self, **changes)


def _check_number(value, name: str, ok, requirement: str) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is a finite real satisfying ``ok``."""
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or not ok(value)):
        raise ValueError(f"{name} must be a finite number {requirement}, got {value!r}")


def sweep_configs(base: SAEConfig, dict_ratios: list[float], l1_values: list[float] | None = None,
                  k_values: list[int] | None = None) -> list[SAEConfig]:
    """Every (dict_ratio, l1) pair for kind ``relu`` or (dict_ratio, k) pair for ``topk``.

    Ordered by dictionary size, then sparsity setting, the order of the sweep's table rows.
    """
    if not dict_ratios:
        raise ValueError("dict_ratios must list at least one dictionary size")
    if base.kind == "relu":
        if k_values:
            raise ValueError("k values apply to kind 'topk'; kind 'relu' sweeps l1")
        if not l1_values:
            raise ValueError("kind 'relu' needs at least one l1 value")
        return [base.replace(dict_ratio=r, l1=l1) for r in dict_ratios for l1 in l1_values]
    if l1_values:
        raise ValueError("l1 values apply to kind 'relu'; kind 'topk' sweeps k")
    if not k_values:
        raise ValueError("kind 'topk' needs at least one k value")
    return [base.replace(dict_ratio=r, k=k) for r in dict_ratios for k in k_values]
