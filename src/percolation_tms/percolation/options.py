"""The graph stage's options and their checks, without its kernels: ``DatasetConfig``, the
command line and the shard manifest import them from here (``graph`` re-exports them)."""

from __future__ import annotations

import numpy as np

from percolation_tms.checks import check_probability

MODES = ("one_cluster", "distribution", "custom")
_MODE_CREATE_PROB = {"one_cluster": 0.0, "distribution": 1.0 / 3.0}


def resolve_create_prob(mode: str, create_prob: float | None) -> float:
    """The new-cluster probability p of a mode; validates the (mode, create_prob) pair."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if mode == "custom":
        if create_prob is None:
            raise ValueError("create_prob is required in custom mode (a probability in [0, 1])")
        return check_probability("create_prob", create_prob)
    if create_prob is not None:
        raise ValueError(f"create_prob is only accepted in custom mode; mode {mode!r} fixes it "
                         f"to {_MODE_CREATE_PROB[mode]:.6g}")
    return _MODE_CREATE_PROB[mode]


def check_flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")  # noqa: TRY004
    return bool(value)
