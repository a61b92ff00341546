"""Scoring what an SAE learned against known ground truth.

Activation space (any data with ground-truth membership features, e.g. the percolation
hierarchy): ground-truth feature l is the set of points that belong to latent subcluster l.  For
each feature, the SAE latent whose activation correlates best (Pearson) with membership, that
correlation, and the F1 score of "activation > 0" as a detector of membership; the mean of the
best correlations over features is the activation-space analogue of mean max cosine similarity.

Weight space (data made from a known dictionary): mean max cosine similarity (MMCS) between the
true directions and the decoder's columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from percolation_tms.sae import _kernels

FEATURE_ORDERS = ("first", "frequent")
FEATURE_BLOCK = 64  # features per scratch allocation in the matching kernel


@dataclass(frozen=True)
class FeatureSet:
    """Ground-truth features to score, as point sets.

    column (L,) int64 the features' columns in the source matrix; n_points (L,) int64 points
    covered; depth (L,) int64 depth in the hierarchy (0 = coarsest; -1 if unknown); members CSC
    (N, L) whose column l holds the points of feature l (values irrelevant)."""

    column: np.ndarray
    n_points: np.ndarray
    depth: np.ndarray
    members: sparse.csc_matrix


def select_features(features, depth: np.ndarray | None = None, min_points: int = 1,
                    max_features: int | None = None, order: str = "first") -> FeatureSet:
    """Pick the feature columns to score from a (N, L) sparse matrix whose stored entries mark
    membership (the dataset's ``_gt_features.npz``; stored values are ignored).

    Keeps columns covering at least ``min_points`` points, then at most ``max_features`` of
    them: the first ones in column order (``first``: the coarse latents of the largest clusters
    come first) or the ones covering most points (``frequent``; ties by column).  ``depth``
    (L,) gives each column's depth in the hierarchy.
    """
    if not sparse.issparse(features) or features.ndim != 2:
        raise ValueError("features must be a 2-D scipy sparse matrix (N points, L features)")
    n_columns = features.shape[1]
    if isinstance(min_points, bool) or not isinstance(min_points, (int, np.integer)) \
            or min_points < 1:
        raise ValueError(f"min_points must be an integer >= 1, got {min_points!r}")
    if max_features is not None and (isinstance(max_features, bool) or not isinstance(
            max_features, (int, np.integer)) or max_features < 1):
        raise ValueError(f"max_features must be an integer >= 1 or None, got {max_features!r}")
    if order not in FEATURE_ORDERS:
        raise ValueError(f"order must be one of {FEATURE_ORDERS}, got {order!r}")
    if depth is None:
        depth = np.full(n_columns, -1, dtype=np.int64)
    depth = np.asarray(depth, dtype=np.int64)
    if depth.shape != (n_columns,):
        raise ValueError(f"depth has shape {depth.shape}, expected ({n_columns},), one per "
                         "feature column")
    members = sparse.csc_matrix(features, copy=True)
    members.sum_duplicates()
    members.sort_indices()
    n_points = np.diff(members.indptr).astype(np.int64)
    column = np.flatnonzero(n_points >= min_points)
    if order == "frequent":
        column = column[np.argsort(-n_points[column], kind="stable")]
    if max_features is not None:
        column = column[:max_features]
    if column.size == 0:
        raise ValueError(f"no feature column covers at least {min_points} points "
                         f"(the largest covers {int(n_points.max(initial=0))})")
    return FeatureSet(column.astype(np.int64), n_points[column], depth[column],
                      members[:, column])


@dataclass(frozen=True)
class Recovery:
    """Per scored feature (L,): best_latent (by Pearson), pearson (its correlation with
    membership), f1 (its F1 of activation > 0), f1_latent and f1_max (the latent with the
    best F1 and that F1)."""

    best_latent: np.ndarray
    pearson: np.ndarray
    f1: np.ndarray
    f1_latent: np.ndarray
    f1_max: np.ndarray


def score_features(activations, features: FeatureSet) -> Recovery:
    """Match every feature of ``features`` to the latents of ``activations`` CSR (N, m) (the
    ``Encoding.activations`` of the same N points: only positive entries stored)."""
    activations = sparse.csr_matrix(activations)
    n, m = activations.shape
    if features.members.shape[0] != n:
        raise ValueError(f"activations cover {n} points but the features "
                         f"{features.members.shape[0]}")
    if activations.nnz and activations.data.min() <= 0:
        raise ValueError("activations must store only positive entries")
    indices = activations.indices.astype(np.int64)
    count = np.bincount(indices, minlength=m).astype(np.int64)
    mean = np.bincount(indices, weights=activations.data, minlength=m) / n
    # Squared deviations of every point: the active ones, plus the inactive ones at 0.
    m2 = (np.bincount(indices, weights=(activations.data - mean[indices]) ** 2, minlength=m)
          + (n - count) * mean ** 2)
    n_features = features.column.size
    best_latent = np.empty(n_features, dtype=np.int64)
    f1_latent = np.empty(n_features, dtype=np.int64)
    pearson, f1, f1_max = (np.empty(n_features) for _ in range(3))
    _kernels.best_latent_matches(
        activations.indptr.astype(np.int64), indices, activations.data.astype(np.float64),
        mean, m2, count, features.members.indptr.astype(np.int64),
        features.members.indices.astype(np.int64), n, FEATURE_BLOCK,
        best_latent, pearson, f1, f1_latent, f1_max)
    return Recovery(best_latent, pearson, f1, f1_latent, f1_max)


def frequency_bin_edges(max_points: int, base: int = 2) -> np.ndarray:
    """Powers of ``base`` 1, base, base^2, ... up to beyond max_points: bin b holds features
    covering edges[b] <= n_points < edges[b + 1] points."""
    top = max(int(max_points), 1)
    return base ** np.arange(int(np.floor(np.log(top) / np.log(base) + 1e-9)) + 2,
                             dtype=np.int64)


SIZE_BAND_BASE = 4  # the size bands of the depth summary: 1-3, 4-15, 16-63, ... points


def summarize(recovery: Recovery, features: FeatureSet, by: str) -> pd.DataFrame:
    """Mean recovery of the features grouped ``by`` ``depth`` or ``frequency``.

    Columns: group, bin_low, bin_high (inclusive: the group's depth, or its range of points
    covered), size_band (``all`` or ``<size_low>-<size_high>``), size_low, size_high (inclusive
    range of points covered by the features summarised in the row), n_features, mean_pearson,
    mean_f1, mean_f1_max.  By frequency: power-of-two bins of points covered (size band = the
    bin).  By depth: for every depth one row over all features (size_band ``all``, size_low 1,
    size_high N the number of points) and one per size band (powers of 4: 1-3, 4-15, 16-63, ...
    points), because depth and size are entangled (the roots of small clusters are shallow and
    small): the bands show recovery at a given depth for features of a given size.  Empty groups
    are left out; NaN correlations (features covering every point) are left out of the
    means."""
    frame = pd.DataFrame({"pearson": recovery.pearson, "f1": recovery.f1,
                          "f1_max": recovery.f1_max})
    if by == "frequency":
        edges = frequency_bin_edges(features.n_points.max())
        key = np.searchsorted(edges, features.n_points, side="right") - 1
        frame = frame.assign(group=key, bin_low=edges[key], bin_high=edges[key + 1] - 1)
        return _group_means(frame.assign(size_low=frame["bin_low"],
                                         size_high=frame["bin_high"]))
    if by != "depth":
        raise ValueError(f"by must be 'depth' or 'frequency', got {by!r}")
    frame = frame.assign(group=features.depth, bin_low=features.depth, bin_high=features.depth)
    edges = frequency_bin_edges(features.n_points.max(), SIZE_BAND_BASE)
    band = np.searchsorted(edges, features.n_points, side="right") - 1
    all_sizes = frame.assign(size_low=1, size_high=features.members.shape[0])
    banded = frame.assign(size_low=edges[band], size_high=edges[band + 1] - 1)
    return pd.concat([_group_means(all_sizes, "all"), _group_means(banded)],
                     ignore_index=True)


def _group_means(frame: pd.DataFrame, size_band: str | None = None) -> pd.DataFrame:
    """Means per (group, size range); ``size_band`` names the range (default low-high)."""
    table = frame.groupby(["group", "size_low"], sort=True).agg(
        bin_low=("bin_low", "first"), bin_high=("bin_high", "first"),
        size_high=("size_high", "first"), n_features=("pearson", "size"),
        mean_pearson=("pearson", "mean"), mean_f1=("f1", "mean"),
        mean_f1_max=("f1_max", "mean")).reset_index()
    table["size_band"] = (size_band if size_band is not None else
                          table["size_low"].astype(str) + "-" + table["size_high"].astype(str))
    return table[["group", "bin_low", "bin_high", "size_band", "size_low", "size_high",
                  "n_features", "mean_pearson", "mean_f1", "mean_f1_max"]]


@dataclass(frozen=True)
class CosineMatch:
    """best_atom (n,) the decoder column closest to each true direction; cosine (n,) their
    cosine similarity; mmcs the mean of ``cosine``."""

    best_atom: np.ndarray
    cosine: np.ndarray
    mmcs: float


def mean_max_cosine_similarity(dictionary: np.ndarray, decoder: np.ndarray) -> CosineMatch:
    """MMCS of the true directions ``dictionary`` (n, d) (rows) against the learned atoms
    ``decoder`` (d, m) (columns, the W_dec convention); neither needs unit norm."""
    reference = _unit_rows(np.asarray(dictionary, dtype=np.float64), "dictionary")
    atoms = _unit_rows(np.asarray(decoder, dtype=np.float64).T, "decoder")
    if reference.shape[1] != atoms.shape[1]:
        raise ValueError(f"dictionary has dimension {reference.shape[1]}, decoder "
                         f"{atoms.shape[1]}")
    best_atom = np.empty(reference.shape[0], dtype=np.int64)
    cosine = np.empty(reference.shape[0])
    _kernels.max_cosine(reference, atoms, best_atom, cosine)
    return CosineMatch(best_atom, cosine, float(cosine.mean()))


def _unit_rows(a: np.ndarray, name: str) -> np.ndarray:
    if a.ndim != 2 or 0 in a.shape:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {a.shape}")
    norms = np.linalg.norm(a, axis=1)
    if not np.all(norms > 0) or not np.all(np.isfinite(norms)):
        raise ValueError(f"{name} has a zero or non-finite vector")
    return np.ascontiguousarray(a / norms[:, None])
