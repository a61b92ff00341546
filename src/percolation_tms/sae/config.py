"""The settings of one sparse-autoencoder training run, validated once, saved beside its weights.

``SAEConfig`` is the one home of every training setting's default, type, help and validation;
the ``train-sae`` and ``sae-synthetic`` options are built from its fields
(``percolation_tms.settings``).  The settings a sweep varies (dictionary size, l1, k, the
JumpReLU coefficient) are lists in ``SweepConfig``; ``sweep_configs`` expands them.
``SyntheticConfig`` and ``HierarchyConfig`` set the data of ``sae-synthetic`` (used by
``synthetic`` and ``hierarchy``, kept here so that the command's options need no kernels).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

from percolation_tms import settings
from percolation_tms.settings import setting

KINDS = ("relu", "topk", "batchtopk", "jumprelu", "matryoshka")
K_KINDS = ("topk", "batchtopk", "matryoshka")  # the kinds whose sparsity is k
AUX_KINDS = ("topk", "batchtopk", "jumprelu", "matryoshka")  # the kinds that take AuxK
SPARSITY_PENALTIES = ("step", "tanh")
DEFAULT_AUX_COEFFICIENT = {"topk": 0.0, "batchtopk": 1.0, "jumprelu": 1.0, "matryoshka": 1.0}
# The architecture settings (config.yaml's sae.architecture) and the kinds that use each.
ARCHITECTURE_SETTINGS = {
    "aux_coefficient": AUX_KINDS, "aux_k": AUX_KINDS, "dead_window": AUX_KINDS,
    "threshold_lr": ("batchtopk", "matryoshka"),
    "width_fractions": ("matryoshka",), "matryoshka_aux": ("matryoshka",),
    "sparsity": ("jumprelu",), "tanh_scale": ("jumprelu",), "bandwidth": ("jumprelu",),
    "threshold_init": ("jumprelu",),
}
DEAD_WINDOW = 1000  # SAELens' dead_feature_window (steps)


@dataclass(frozen=True)
class SAEConfig:
    """One sparse autoencoder: architecture, sparsity, optimisation and seed.

    Attributes
    ----------
    kind : ``relu``: a = ReLU(z), z = W_enc (x - b_dec) + b_enc, loss adds ``l1`` sum(a);
        ``topk``: the ``k`` largest z of a point are kept (then ReLU); ``batchtopk``: the
        ``k B`` largest of a batch of B points are kept, and at inference a = z [z > theta]
        with theta a running mean of the smallest kept value; ``jumprelu``: a = z [z >
        theta_j], thresholds learned by a straight-through estimator under an L0 penalty
        ``l0_coefficient``; ``matryoshka``: BatchTopK codes, and every prefix of
        ``width_fractions`` of the dictionary reconstructs the input on its own.
    dict_ratio : dictionary size as a multiple of the input dimension d: n_latents =
        max(1, round(dict_ratio * d)).
    l1 : L1 coefficient (``relu`` only; 0 gives a plain ReLU autoencoder).
    k : active latents per point (``topk``, an integer); the mean per point of
        ``batchtopk`` and ``matryoshka``, which may be fractional: a batch of B points keeps
        floor(k B) entries.
    l0_coefficient : lambda of the JumpReLU penalty.
    sparsity : the JumpReLU penalty: ``step`` (number of active latents) or ``tanh`` (sum of
        tanh(c a_j), c = ``tanh_scale``).
    epochs, batch_size, lr, beta1, beta2, eps, seed, standardize : as documented per field.
    """

    kind: str = setting("relu", "architecture", choices=KINDS)
    dict_ratio: float = setting(8.0, "dictionary size / d", cli=False)
    l1: float = setting(0.0, "L1 coefficient (relu)", cli=False)
    k: float = setting(
        0, "active latents per point: an integer for topk; the mean per point for batchtopk "
           "and matryoshka, which may be fractional (a batch of B points keeps floor(k B))",
        cli=False)
    l0_coefficient: float = setting(0.0, "JumpReLU L0 penalty lambda", cli=False)
    epochs: int = setting(5, "passes over the points, each in a fresh seeded order")
    batch_size: int = setting(256, "points per Adam step")
    lr: float = setting(1e-3, "Adam learning rate")
    beta1: float = setting(0.9, "Adam beta1")
    beta2: float = setting(0.999, "Adam beta2")
    eps: float = setting(1e-8, "Adam epsilon")
    seed: int = setting(0, "initial dictionary and minibatch order")
    standardize: bool = setting(
        True, "centre X and scale it by one global factor to mean |x|^2 = d (one scale for "
              "all coordinates keeps directions comparable with the raw space)")
    # --- AuxK (topk, batchtopk, jumprelu, matryoshka)
    aux_coefficient: float | None = setting(
        None, "AuxK dead-latent loss coefficient alpha (none: 1 for batchtopk and matryoshka "
              "as SAELens, 1 for jumprelu as SynthSAEBench trains it, 0 for topk)")
    aux_k: int | None = setting(None, "dead latents per point in AuxK (none: floor(d / 2))")
    dead_window: int | None = setting(
        None, "steps without firing after which a latent is dead (none: min(1000, steps per "
              "epoch))")
    # --- BatchTopK and Matryoshka
    threshold_lr: float = setting(
        0.01, "rate eta of the inference threshold's running mean (batchtopk, matryoshka)")
    width_fractions: tuple[float, ...] = setting(
        (0.125, 0.5, 1.0), "Matryoshka prefix widths as fractions of the dictionary, "
                           "ascending, the last 1")
    matryoshka_aux: bool = setting(
        True, "Matryoshka: AuxK per level over that group's dead latents (off: plain AuxK)")
    # --- JumpReLU
    sparsity: str = setting("tanh", "JumpReLU L0 penalty", choices=SPARSITY_PENALTIES)
    tanh_scale: float = setting(4.0, "c of the tanh penalty")
    bandwidth: float = setting(2.0, "straight-through estimator bandwidth epsilon")
    threshold_init: float = setting(0.5, "initial JumpReLU thresholds")
    ste_to_input: bool = setting(
        False, "JumpReLU: pass the threshold gradients on to z as well (every latent in the "
               "straight-through window then trains its encoder row)")

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if isinstance(self.k, float) and self.k.is_integer():  # 8.0 from a list of floats
            object.__setattr__(self, "k", int(self.k))
        _check_number(self.dict_ratio, "dict_ratio", lambda v: v > 0, "> 0")
        _check_number(self.l1, "l1", lambda v: v >= 0, ">= 0")
        _check_number(self.l0_coefficient, "l0_coefficient", lambda v: v >= 0, ">= 0")
        if self.kind not in K_KINDS and self.k != 0:
            raise ValueError(f"k={self.k} applies to kind 'topk' only (and batchtopk, "
                             f"matryoshka); kind {self.kind!r} does not use it")
        if self.kind == "topk" and (isinstance(self.k, bool) or not isinstance(self.k, int)
                                    or self.k < 1):
            raise ValueError(f"k must be an integer >= 1 for kind 'topk', got {self.k!r}")
        if self.kind in ("batchtopk", "matryoshka"):
            _check_number(self.k, "k", lambda v: v > 0, "> 0 (the mean active latents per "
                          "point; fractional values allowed)")
        if self.kind != "relu" and self.l1 != 0:
            raise ValueError(f"l1={self.l1} applies to kind 'relu' only; kind {self.kind!r} "
                             "uses " + ("l0_coefficient" if self.kind == "jumprelu" else "k"))
        if self.kind != "jumprelu" and self.l0_coefficient != 0:
            raise ValueError(f"l0_coefficient={self.l0_coefficient} applies to kind "
                             f"'jumprelu' only")
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
        for name in ("standardize", "matryoshka_aux", "ste_to_input"):
            if not isinstance(getattr(self, name), bool):
                # ValueError, not TypeError: the CLI reports ValueErrors as argument errors.
                raise ValueError(  # noqa: TRY004
                    f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.aux_coefficient is not None:
            _check_number(self.aux_coefficient, "aux_coefficient", lambda v: v >= 0, ">= 0")
            if self.kind == "relu" and self.aux_coefficient != 0:
                raise ValueError("aux_coefficient applies to kinds " + ", ".join(AUX_KINDS)
                                 + "; kind 'relu' has no AuxK loss")
        for name in ("aux_k", "dead_window"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(f"{name} must be an integer >= 1 or none, got {value!r}")
        _check_number(self.threshold_lr, "threshold_lr", lambda v: 0 < v <= 1, "in (0, 1]")
        fractions = self.width_fractions
        if (not isinstance(fractions, tuple) or not fractions
                or any(isinstance(f, bool) or not isinstance(f, (int, float))
                       or not math.isfinite(f) for f in fractions)
                or any(not 0 < f <= 1 for f in fractions)
                or any(a >= b for a, b in itertools.pairwise(fractions))
                or fractions[-1] != 1):
            raise ValueError(f"width_fractions must be increasing numbers in (0, 1] ending "
                             f"at 1, got {fractions!r}")
        if self.sparsity not in SPARSITY_PENALTIES:
            raise ValueError(f"sparsity must be one of {SPARSITY_PENALTIES}, got "
                             f"{self.sparsity!r}")
        _check_number(self.tanh_scale, "tanh_scale", lambda v: v > 0, "> 0")
        _check_number(self.bandwidth, "bandwidth", lambda v: v > 0, "> 0")
        _check_number(self.threshold_init, "threshold_init", lambda v: v >= 0, ">= 0")
        if self.ste_to_input and self.kind != "jumprelu":
            raise ValueError(f"ste_to_input applies to kind 'jumprelu' only, not "
                             f"{self.kind!r}")

    # ------------------------------------------------------------------ derived settings
    def n_latents(self, dim: int) -> int:
        """Dictionary size for inputs of dimension ``dim``; validates k against it."""
        n_latents = max(1, round(self.dict_ratio * dim))
        if self.kind in K_KINDS and self.k > n_latents:
            raise ValueError(f"k={self.k} exceeds the dictionary size {n_latents} "
                             f"(dict_ratio {self.dict_ratio} x dimension {dim})")
        return n_latents

    def level_ends(self, n_latents: int) -> tuple[int, ...]:
        """The Matryoshka prefix widths (ascending, the last n_latents); (n_latents,) for
        every other kind.  ValueError if two fractions round to the same width."""
        if self.kind != "matryoshka":
            return (n_latents,)
        ends = tuple(max(1, round(f * n_latents)) for f in self.width_fractions)
        if any(a >= b for a, b in itertools.pairwise(ends)):
            raise ValueError(f"width_fractions {self.width_fractions} give prefix widths "
                             f"{ends} of {n_latents} latents: two are equal")
        return ends

    def aux_alpha(self) -> float:
        """The AuxK coefficient in force (the kind's default when ``aux_coefficient`` is
        none)."""
        if self.aux_coefficient is not None:
            return float(self.aux_coefficient)
        return DEFAULT_AUX_COEFFICIENT.get(self.kind, 0.0)

    def sparsity_label(self) -> str:
        """``l1 2``, ``k 8`` or ``lambda 0.3``: the swept setting of this SAE."""
        if self.kind == "relu":
            return f"l1 {self.l1:g}"
        if self.kind == "jumprelu":
            return f"lambda {self.l0_coefficient:g}"
        return f"k {self.k:g}"

    # ------------------------------------------------------------------ round trip
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SAEConfig:
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown SAE config keys {unknown}; known keys {sorted(names)}")
        data = dict(data)
        if isinstance(data.get("width_fractions"), list):
            data["width_fractions"] = tuple(data["width_fractions"])
        return cls(**data)

    def replace(self, **changes) -> SAEConfig:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class SweepConfig:
    """The settings a sweep varies: one SAE per dictionary size x sparsity value of the kind.

    Attributes
    ----------
    dict_ratios : dictionary sizes as multiples of d.
    l1 : L1 coefficients (kind relu).
    k : active latents per point (kinds topk, batchtopk, matryoshka).
    l0_coefficient : JumpReLU penalty coefficients (kind jumprelu).
    """

    dict_ratios: tuple[float, ...] = setting((8.0,), "dictionary sizes as multiples of d",
                                             metavar="R[,R...]")
    l1: tuple[float, ...] = setting((), "L1 coefficients, one SAE each (kind relu)",
                                    metavar="L1[,L1...]")
    k: tuple[float, ...] = setting((), "active latents per point, one SAE each (topk: "
                                       "integers; batchtopk, matryoshka: may be fractional)",
                                   metavar="K[,K...]")
    l0_coefficient: tuple[float, ...] = setting(
        (), "JumpReLU L0 penalty coefficients, one SAE each (kind jumprelu)",
        metavar="LAMBDA[,...]")


def _check_number(value, name: str, ok, requirement: str) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is a finite real satisfying ``ok``."""
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or not ok(value)):
        raise ValueError(f"{name} must be a finite number {requirement}, got {value!r}")


def architecture_settings(kind: str, values: dict) -> dict:
    """The entries of ``values`` (architecture settings by name) that ``kind`` uses;
    ValueError for a name that is not an architecture setting."""
    unknown = sorted(set(values) - set(ARCHITECTURE_SETTINGS))
    if unknown:
        raise ValueError(f"unknown SAE architecture settings {unknown}; known: "
                         f"{', '.join(ARCHITECTURE_SETTINGS)}")
    return {name: value for name, value in values.items()
            if kind in ARCHITECTURE_SETTINGS[name]}


def sweep_configs(base: SAEConfig, dict_ratios, l1_values=None, k_values=None,
                  l0_values=None) -> list[SAEConfig]:
    """Every (dict_ratio, sparsity value) pair of ``base.kind``: l1 for relu, k for topk,
    batchtopk and matryoshka, l0_coefficient for jumprelu.

    Ordered by dictionary size, then sparsity setting, the order of the sweep's table rows.
    """
    if not dict_ratios:
        raise ValueError("dict_ratios must list at least one dictionary size")
    given = {"l1": list(l1_values or ()), "k": list(k_values or ()),
             "l0_coefficient": list(l0_values or ())}
    own = ("l1" if base.kind == "relu" else "l0_coefficient" if base.kind == "jumprelu"
           else "k")
    kinds_of = {"l1": "relu", "k": "topk", "l0_coefficient": "jumprelu"}
    for name, values in given.items():
        if name != own and values:
            plural = "k values" if name == "k" else f"{name} values"
            raise ValueError(f"{plural} apply to kind '{kinds_of[name]}'; kind "
                             f"'{base.kind}' sweeps {own}")
    if not given[own]:
        raise ValueError(f"kind '{base.kind}' needs at least one {own} value")
    return [base.replace(dict_ratio=r, **{own: v}) for r in dict_ratios for v in given[own]]


@dataclass(frozen=True)
class SyntheticConfig:
    """The data of ``sae-synthetic``: ``flat`` (``sae.synthetic``) or ``hierarchical``
    (``sae.hierarchy``; its tree settings in ``HierarchyConfig``).  The shared sizes default by
    structure (none: 50,000 x 64 with 128 directions flat; 100,000 x 64 with 512 hierarchical).
    """

    structure: str = setting("flat", "known dictionary: flat (independent directions) or "
                                     "hierarchical (a child fires only with its parent)",
                             choices=("flat", "hierarchical"))
    n_samples: int | None = setting(None, "points (none: 50000 flat, 100000 hierarchical)")
    dim: int | None = setting(None, "dimension d (none: 64)")
    n_features: int | None = setting(None, "true directions (none: 128 flat, 512 "
                                           "hierarchical)")
    mean_active: float = setting(4.0, "flat: mean active directions per point")
    decay: float = setting(0.0, "flat: direction f is active with probability ~ (f + 1)^-decay")
    data_seed: int = setting(0, "seed of the data")

    def __post_init__(self):
        if self.structure not in ("flat", "hierarchical"):
            raise ValueError(f"structure must be 'flat' or 'hierarchical', got "
                             f"{self.structure!r}")
        for name in ("n_samples", "dim", "n_features"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")

    def resolved(self) -> dict:
        """n_samples, dim, n_features with the structure's defaults filled in."""
        flat = self.structure == "flat"
        return {"n_samples": self.n_samples or (50_000 if flat else 100_000),
                "dim": self.dim or 64,
                "n_features": self.n_features or (128 if flat else 512)}


@dataclass(frozen=True)
class HierarchyConfig:
    """The settings of hierarchical known-dictionary data; defaults: the small configuration
    for a 2-core CPU (F 512, d 64, 16 trees x 4 children x depth 2 = 336 features in trees).
    ``hierarchy.SYNTHSAEBENCH_16K`` is the larger configuration shaped like SynthSAEBench-16k."""

    n_samples: int = setting(100_000, "points")
    dim: int = setting(64, "dimension d")
    n_features: int = setting(512, "true directions F")
    n_roots: int = setting(16, "trees")
    branching: int = setting(4, "children of every tree node")
    tree_depth: int = setting(2, "depth of the deepest tree nodes (roots: 0)")
    exclusive: bool = setting(True, "a parent keeps one of its firing children")
    compensation: bool = setting(True, "raise children's conditional rates towards p_i")
    child_scale: bool = setting(True, "child magnitude x parent magnitude / mu_parent")
    rate_exponent: float = setting(0.5, "s of the rate profile")
    p_max: float = setting(0.4, "rate of feature 0")
    p_min: float = setting(5e-4, "rate of the last feature")
    mu_first: float = setting(5.0, "mean magnitude of feature 0")
    mu_last: float = setting(4.0, "mean magnitude of the last feature")
    data_seed: int = setting(0, "seed of the directions and samples")

    def __post_init__(self):
        settings.check_positive_int(self, "n_samples", "dim", "n_features", "n_roots",
                                    "branching")
        settings.check_non_negative_int(self, "tree_depth", "data_seed")
        for name in ("exclusive", "compensation", "child_scale"):
            if not isinstance(getattr(self, name), bool):
                # ValueError, not TypeError: the CLI reports ValueErrors as argument errors.
                raise ValueError(  # noqa: TRY004
                    f"{name} must be true or false, got {getattr(self, name)!r}")
        settings.check_positive_real(self, "p_max", "p_min", "mu_first", "mu_last")
        if not settings.is_real(self.rate_exponent) or self.rate_exponent <= 0:
            raise ValueError(f"rate_exponent must be a positive number, got "
                             f"{self.rate_exponent!r}")
        if not self.p_min <= self.p_max <= 1:
            raise ValueError(f"need p_min <= p_max <= 1, got p_min {self.p_min}, p_max "
                             f"{self.p_max}")
        if self.tree_features > self.n_features:
            raise ValueError(f"{self.n_roots} trees of branching {self.branching} and depth "
                             f"{self.tree_depth} hold {self.tree_features} features, more than "
                             f"n_features {self.n_features}")

    @property
    def tree_features(self) -> int:
        return self.n_roots * sum(self.branching ** level for level in range(self.tree_depth + 1))
