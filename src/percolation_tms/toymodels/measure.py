"""Measurements on trained instances (spec section 3), as arrays and as a tidy table.

For ``untied`` the encoder and decoder can trade scale (encoder norms of 2.4 with decoder norms
of 0.44 are seen), so a feature's norm is the scale-invariant sqrt(||W_i|| ||W_dec,i||), with
W_i column i of the encoder and W_dec,i row i of the decoder; the geometry (dimensionality,
interference) uses the encoder directions W_i / ||W_i|| scaled to that norm.  For the other
models W_i is column i of W.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# A feature is represented when its (scale-invariant) norm exceeds this.
REPRESENTED_ABOVE = 0.5


@dataclass(frozen=True)
class Measurements:
    """Per-instance measurements of I instances with n features and m hidden dimensions.

    With V_i = W_i (untied: W_i_hat feature_norm_i); dimensionality and interference are 0 for
    a zero column.  All arrays float64 unless noted.

    Attributes
    ----------
    WtW : array of shape (I, n, n)
        W^T W (W_dec W for untied).
    b : array of shape (I, n)
    feature_norm : array of shape (I, n)
        ||W_i|| (untied: sqrt(||W_i|| ||W_dec,i||)).
    represented : bool array of shape (I, n)
        feature_norm > ``REPRESENTED_ABOVE`` (0.5).
    dims_per_feature : array of shape (I,)
        m / sum_i feature_norm_i^2 (= m / ||W||_F^2 for tied).
    feature_dimensionality : array of shape (I, n)
        D_i = ||V_i||^2 / sum_j (V_i_hat . V_j)^2.
    interference : array of shape (I, n)
        Sum over j != i of (V_i_hat . V_j)^2.
    """

    WtW: np.ndarray
    b: np.ndarray
    feature_norm: np.ndarray
    represented: np.ndarray
    dims_per_feature: np.ndarray
    feature_dimensionality: np.ndarray
    interference: np.ndarray


def measure_weights(W, b, W_dec=None) -> Measurements:
    """Measure trained instances (spec section 3).

    Parameters
    ----------
    W : float array of shape (I, m, n)
    b : float array of shape (I, n)
    W_dec : float array of shape (I, n, m), optional
        The decoder of ``untied`` models.

    Returns
    -------
    Measurements
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if W.ndim != 3:
        raise ValueError(f"W must have shape (instances, m, n), got {W.shape}")
    n_instances, m, n = W.shape
    if b.shape != (n_instances, n):
        raise ValueError(f"b must have shape ({n_instances}, {n}), got {b.shape}")
    encoder_norm = np.linalg.norm(W, axis=1)  # (I, n)
    direction = np.divide(W, encoder_norm[:, None, :], out=np.zeros_like(W),
                          where=encoder_norm[:, None, :] > 0)
    if W_dec is None:
        WtW = np.einsum("iqa,iqb->iab", W, W)
        norm = encoder_norm
        vectors = W
    else:
        W_dec = np.asarray(W_dec, dtype=np.float64)
        if W_dec.shape != (n_instances, n, m):
            raise ValueError(f"W_dec must have shape ({n_instances}, {n}, {m}), "
                             f"got {W_dec.shape}")
        WtW = np.einsum("iaq,iqb->iab", W_dec, W)
        norm = np.sqrt(encoder_norm * np.linalg.norm(W_dec, axis=2))
        vectors = direction * norm[:, None, :]
    # overlap[r, a, c] = W_a_hat . V_c
    overlap = np.einsum("iqa,iqc->iac", direction, vectors)
    squared = overlap**2
    total = squared.sum(axis=2)
    self_part = np.einsum("iaa->ia", squared)
    dimensionality = np.divide(norm**2, total, out=np.zeros_like(total), where=total > 0)
    interference = total - self_part
    norm_squared = (norm**2).sum(axis=1)
    dims = np.divide(m, norm_squared, out=np.full(n_instances, np.inf), where=norm_squared > 0)
    return Measurements(WtW=WtW, b=b.copy(), feature_norm=norm,
                        represented=norm > REPRESENTED_ABOVE, dims_per_feature=dims,
                        feature_dimensionality=dimensionality, interference=interference)


METRIC_COLUMNS = ("instance", "model", "sparsity", "seed", "importance", "metric", "feature",
                  "value")


def metrics_table(model: str, measurements: Measurements, eval_loss, sparsity, seed,
                  importance_label) -> pd.DataFrame:
    """Tidy table: one row per instance and metric.

    Parameters
    ----------
    model : str
        The model kind, repeated on every row.
    measurements : Measurements
    eval_loss, sparsity : float arrays of shape (I,)
    seed : int array of shape (I,)
        The model seeds.
    importance_label : sequence of I str

    Returns
    -------
    pandas.DataFrame
        Columns ``METRIC_COLUMNS``.  Scalar metrics (``loss``, ``features_represented``,
        ``dims_per_feature``) have an empty ``feature``; per-feature metrics
        (``feature_norm``, ``feature_dimensionality``, ``interference``, ``bias``) give the
        feature index.
    """
    n_instances, n = measurements.b.shape
    per_feature = {"feature_norm": measurements.feature_norm,
                   "feature_dimensionality": measurements.feature_dimensionality,
                   "interference": measurements.interference, "bias": measurements.b}
    scalars = {"loss": np.asarray(eval_loss, dtype=np.float64),
               "features_represented": measurements.represented.sum(axis=1).astype(np.float64),
               "dims_per_feature": measurements.dims_per_feature}
    frames = []
    for inst in range(n_instances):
        common = {"instance": inst, "model": model, "sparsity": float(sparsity[inst]),
                  "seed": int(seed[inst]), "importance": importance_label[inst]}
        frames.append(pd.DataFrame({**common, "metric": list(scalars),
                                    "feature": pd.array([None] * len(scalars), dtype="Int64"),
                                    "value": [float(v[inst]) for v in scalars.values()]}))
        for name, values in per_feature.items():
            frames.append(pd.DataFrame({**common, "metric": name,
                                        "feature": pd.array(np.arange(n), dtype="Int64"),
                                        "value": values[inst]}))
    return pd.concat(frames, ignore_index=True)[list(METRIC_COLUMNS)]
