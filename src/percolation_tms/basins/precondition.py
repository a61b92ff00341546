"""Preconditioners of the ray estimator (spec section 3): rays along P d instead of d.

Every preconditioner here is normalised to ln|det P| = 0 (sum of ln p_i = 0); the estimator
still corrects for any determinant (``volume``), so a user's P need not be.
"""

from __future__ import annotations

import numpy as np

DEFAULT_EXPONENT = 0.5
DEFAULT_EPS = 1e-5
KINDS = ("none", "diagonal", "full")
# Above this the (D, D) eigendecomposition is not worth it (spec 3.3).
FULL_MAX_DIM = 2000


def _scales(values: np.ndarray, exponent: float, eps: float) -> np.ndarray:
    if exponent <= 0 or eps < 0:
        raise ValueError(f"need exponent > 0 and eps >= 0, got {exponent}, {eps}")
    p = 1.0 / (np.abs(values) ** exponent + eps)
    if not np.all(np.isfinite(p)):
        raise ValueError("preconditioner scales are not finite (zero curvature with eps = 0?)")
    return p / np.exp(np.log(p).mean())


def adam_preconditioner(second_moment, exponent: float = DEFAULT_EXPONENT,
                        eps: float = DEFAULT_EPS) -> np.ndarray:
    """float64 (D,): p_i = 1 / (|s_i|^e + eps), s = AdamW's second moment at theta (without
    bias correction), normalised to sum ln p_i = 0 (tyche's diagonal preconditioner)."""
    s = np.ascontiguousarray(second_moment, dtype=np.float64)
    if s.ndim != 1 or not np.all(np.isfinite(s)):
        raise ValueError("second_moment must be a finite vector")
    return _scales(s, exponent, eps)


def diagonal_preconditioner(gauss_newton, exponent: float = DEFAULT_EXPONENT,
                            eps: float = DEFAULT_EPS) -> np.ndarray:
    """float64 (D,): the diagonal preconditioner from diag(G) (spec 3.1's 'may' form)."""
    G = np.asarray(gauss_newton, dtype=np.float64)
    if G.ndim != 2 or G.shape[0] != G.shape[1]:
        raise ValueError(f"gauss_newton must be a square matrix, got shape {G.shape}")
    return _scales(np.diag(G).copy(), exponent, eps)


def full_preconditioner(gauss_newton, exponent: float = DEFAULT_EXPONENT,
                        eps: float = DEFAULT_EPS) -> np.ndarray:
    """float64 (D, D): P = V diag(p) V^T with G = V diag(lambda) V^T, p_j = 1/(|lambda_j|^e +
    eps), normalised; rotated back by V^T (the public code omits it, spec 4.4)."""
    G = np.asarray(gauss_newton, dtype=np.float64)
    if G.ndim != 2 or G.shape[0] != G.shape[1]:
        raise ValueError(f"gauss_newton must be a square matrix, got shape {G.shape}")
    if G.shape[0] > FULL_MAX_DIM:
        raise ValueError(f"full preconditioner needs D <= {FULL_MAX_DIM}, got {G.shape[0]}")
    if not np.all(np.isfinite(G)):
        raise ValueError("gauss_newton must be finite")
    eigenvalues, V = np.linalg.eigh(0.5 * (G + G.T))
    p = _scales(eigenvalues, exponent, eps)
    return (V * p) @ V.T


def make_preconditioner(kind: str, gauss_newton=None, exponent: float = DEFAULT_EXPONENT,
                        eps: float = DEFAULT_EPS):
    """None, a vector or a matrix for ``kind`` in ``KINDS``."""
    if kind not in KINDS:
        raise ValueError(f"preconditioner must be one of {KINDS}, got {kind!r}")
    if kind == "none":
        return None
    if gauss_newton is None:
        raise ValueError(f"the {kind} preconditioner needs the Gauss-Newton matrix")
    if kind == "diagonal":
        return diagonal_preconditioner(gauss_newton, exponent, eps)
    return full_preconditioner(gauss_newton, exponent, eps)
