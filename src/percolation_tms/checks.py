"""Argument checks shared by every stage: one idiom, one message shape.

Each check takes the argument's name and value, returns the value in canonical form, and raises
``ValueError`` naming the argument (the CLI prints it and exits 2).  Config dataclasses use the
same checks through ``percolation_tms.settings``.
"""

from __future__ import annotations

import math


def check_count(name: str, value, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (bools and non-integral floats refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(
            value, "__index__"):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{name} must be an integer; got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return value


def check_seed(name: str, value) -> int:
    """A seed: an integer in [0, 2**63)."""
    seed = check_count(name, value, minimum=0)
    if seed >= 2**63:
        raise ValueError(f"{name} must be < 2**63; got {seed}")
    return seed


def check_probability(name: str, value) -> float:
    """A probability in [0, 1] (NaN refused)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1]; got {value!r}") from None
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise ValueError(f"{name} must lie in [0, 1]; got {value!r}")
    return value


def work_stripes(n_threads: int | None = None) -> int:
    """Work stripes for the per-cluster kernels: several per thread, for load balance.  The
    results never depend on this number (every stream is keyed by cluster, not by stripe)."""
    from numba import get_num_threads

    return 8 * (n_threads or get_num_threads())
