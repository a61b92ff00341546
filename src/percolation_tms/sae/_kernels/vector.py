"""The one vectorised dot product every SAE kernel shares.

Compiled with re-association allowed so that LLVM vectorises it (3x faster): its summation
order is fixed by the compiled code, i.e. by the CPU's vector width, the same on every run and
thread count of one machine (another CPU type may differ in the last bits).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, fastmath={"reassoc"})
def dot(a, b):
    """Dot product of two 1-d float arrays of equal length (vectorised; see module docstring).

    Must stay a separately compiled function: numba's IR-level inlining would recompile it
    under the caller's strict flags and lose the vectorisation."""
    s = 0.0
    for c in range(a.shape[0]):
        s += a[c] * b[c]
    return s
