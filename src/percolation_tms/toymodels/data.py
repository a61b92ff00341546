"""Inputs of the toy models: synthetic sparse features (spec section 1) and the ground-truth
features of a percolation dataset (section 5), described as arrays the kernels sample from.

Batches are never stored: every training step draws its own from the instance's random stream
(see ``_kernels`` for the exact derivation), so ``draw_batch`` here reproduces, for inspection
and tests, exactly the batch a given step trained on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import sparse

from percolation_tms._rng import DOMAIN_TOY_BATCH, DOMAIN_TOY_EVAL, stream_state
from percolation_tms.io import InputFileError, load_arrays, load_sparse
from percolation_tms.toymodels import _kernels
from percolation_tms.toymodels.config import FEATURE_SELECTIONS, FEATURE_VALUES

_TWO_POW_32 = 2.0**32


class FeatureSource(NamedTuple):
    """What the kernels sample from, for I instances of n features.

    Attributes
    ----------
    mode : int64 array of shape (I,)
        Sampling mode per instance (``_kernels.SOURCE_*``).
    presence_threshold : uint64 array of shape (I, n)
        floor(p_i * 2**32) (dense and Bernoulli modes).
    thinning_threshold : uint64 array of shape (I, n)
        floor(p_i / p_max * 2**32) (skip mode).
    log_q : float64 array of shape (I,)
        log(1 - p_max) (skip mode).
    row_indptr, row_indices, row_data : int64, int64, float64 arrays
        CSR rows the rows mode samples from (shared by all instances; empty otherwise).
    """

    mode: np.ndarray
    presence_threshold: np.ndarray
    thinning_threshold: np.ndarray
    log_q: np.ndarray
    row_indptr: np.ndarray
    row_indices: np.ndarray
    row_data: np.ndarray

    @property
    def n_features(self) -> int:
        return self.presence_threshold.shape[1]

    @property
    def n_instances(self) -> int:
        return self.mode.shape[0]


def _thresholds(probability: np.ndarray) -> np.ndarray:
    # p = 1 gives 2**32, above every 32-bit draw: always present.
    return np.floor(probability * _TWO_POW_32).astype(np.uint64)


def synthetic_source(probability) -> FeatureSource:
    """Source of synthetic features: feature i of instance r present with probability
    probability[r, i], then uniform in [0, 1).

    Parameters
    ----------
    probability : float array of shape (I, n)
        Presence probabilities, in (0, 1].

    Returns
    -------
    FeatureSource
        Dense mode for an instance with every p = 1, skip mode when every p <= ``SKIP_BELOW``,
        Bernoulli mode otherwise.
    """
    probability = np.ascontiguousarray(probability, dtype=np.float64)
    if probability.ndim != 2 or probability.size == 0:
        raise ValueError(f"probability must have shape (instances, features), "
                         f"got {probability.shape}")
    if not np.all((probability > 0) & (probability <= 1)):
        raise ValueError("feature probabilities must be in (0, 1]")
    p_max = probability.max(axis=1)
    mode = np.where(np.all(probability == 1.0, axis=1), _kernels.SOURCE_DENSE,
                    np.where(p_max <= _kernels.SKIP_BELOW, _kernels.SOURCE_SKIP,
                             _kernels.SOURCE_BERNOULLI)).astype(np.int64)
    # log_q only matters in skip mode, where p_max <= SKIP_BELOW < 1.
    log_q = np.log1p(-np.minimum(p_max, 0.5))
    return FeatureSource(mode=mode, presence_threshold=_thresholds(probability),
                         thinning_threshold=_thresholds(probability / p_max[:, None]),
                         log_q=log_q, row_indptr=np.zeros(1, dtype=np.int64),
                         row_indices=np.empty(0, dtype=np.int64),
                         row_data=np.empty(0, dtype=np.float64))


class PercolationFeatures(NamedTuple):
    """k ground-truth feature columns of a percolation dataset, as toy-model inputs.

    Attributes
    ----------
    indptr, indices, data : int64, int64, float64 arrays
        CSR of the (N, k) input matrix (indices sorted, no stored zeros).
    column : int64 array of shape (k,)
        The column of the dataset's feature file behind each input.
    frequency : float64 array of shape (k,)
        Fraction of the N points that have the feature.
    depth : int64 array of shape (k,)
        Depth of the latent in its tree (0 = root), -1 if the dataset's ``<stem>_graph.npz``
        is not beside the feature file.
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    column: np.ndarray
    frequency: np.ndarray
    depth: np.ndarray

    @property
    def n_points(self) -> int:
        return self.indptr.shape[0] - 1

    @property
    def n_features(self) -> int:
        return self.column.shape[0]


def graph_path_for(features_path: str | Path) -> Path | None:
    """``<stem>_graph.npz`` beside ``<stem>_gt_features.npz`` (None for another file name)."""
    path = Path(features_path)
    match = re.fullmatch(r"(.*)_gt_features\.npz", path.name)
    return path.with_name(f"{match.group(1)}_graph.npz") if match else None


def load_percolation_features(path: str | Path, k: int, selection: str = "first",
                              values: str = "binary") -> PercolationFeatures:
    """Read a dataset's ``<stem>_gt_features.npz`` and keep k columns as toy-model inputs.

    Parameters
    ----------
    path : path
        The feature file; its ``<stem>_graph.npz``, if beside it, gives the depths.
    k : int
        The number of columns kept (``ToyConfig.n_features``).
    selection : str
        ``"first"`` (columns 0..k-1: the largest clusters, coarse to fine) or ``"frequent"``
        (the k columns with the most points, most frequent first; ties by column).
    values : str
        ``"binary"`` (1 where present), ``"values"`` (the stored z_j, which may be negative:
        a ReLU output cannot reproduce those) or ``"abs"`` (|z_j|).

    Returns
    -------
    PercolationFeatures
    """
    matrix = load_sparse(path, what="feature file")
    n_points, n_columns = matrix.shape
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k > n_columns:
        raise ValueError(f"k = {k} is larger than the {n_columns} feature columns of "
                         f"{str(path)!r}")
    if selection not in FEATURE_SELECTIONS:
        raise ValueError(f"selection must be one of {FEATURE_SELECTIONS}, got {selection!r}")
    if values not in FEATURE_VALUES:
        raise ValueError(f"values must be one of {FEATURE_VALUES}, got {values!r}")
    matrix = sparse.csr_matrix(matrix, dtype=np.float64)
    matrix.eliminate_zeros()
    counts = np.bincount(matrix.indices, minlength=n_columns)
    if selection == "first":
        column = np.arange(k, dtype=np.int64)
    else:
        column = np.argsort(-counts, kind="stable")[:k].astype(np.int64)
    chosen = matrix[:, column].tocsr()
    chosen.sort_indices()
    data = chosen.data.astype(np.float64)
    if values == "binary":
        data = np.ones_like(data)
    elif values == "abs":
        data = np.abs(data)
    depth = np.full(k, -1, dtype=np.int64)
    graph_path = graph_path_for(path)
    if graph_path is not None and graph_path.is_file():
        node_depth = load_arrays(graph_path, required=("depth",), what="graph file")["depth"]
        if node_depth.shape != (n_points + n_columns,):
            raise InputFileError(f"graph file {str(graph_path)!r} has depth of shape "
                                 f"{node_depth.shape}, expected ({n_points + n_columns},) "
                                 f"for a feature file of shape {matrix.shape}")
        depth = node_depth[n_points + column].astype(np.int64)
    return PercolationFeatures(indptr=chosen.indptr.astype(np.int64),
                               indices=chosen.indices.astype(np.int64), data=data,
                               column=column,
                               frequency=counts[column].astype(np.float64) / max(n_points, 1),
                               depth=depth)


def rows_source(features: PercolationFeatures, n_instances: int) -> FeatureSource:
    """Source drawing every sample as a uniformly random row (point) of the features.

    Parameters
    ----------
    features : PercolationFeatures
    n_instances : int
        I: every instance samples the same rows (from its own stream).

    Returns
    -------
    FeatureSource
    """
    if features.n_points < 1:
        raise ValueError("the feature matrix has no rows to sample")
    k = features.n_features
    return FeatureSource(
        mode=np.full(n_instances, _kernels.SOURCE_ROWS, dtype=np.int64),
        presence_threshold=np.zeros((n_instances, k), dtype=np.uint64),
        thinning_threshold=np.zeros((n_instances, k), dtype=np.uint64),
        log_q=np.zeros(n_instances, dtype=np.float64),
        row_indptr=np.ascontiguousarray(features.indptr, dtype=np.int64),
        row_indices=np.ascontiguousarray(features.indices, dtype=np.int64),
        row_data=np.ascontiguousarray(features.data, dtype=np.float64))


def draw_batch(source: FeatureSource, instance: int, model_seed: int, step: int,
               batch_size: int, held_out: bool = False) -> np.ndarray:
    """The batch an instance trained on at one step, or its held-out evaluation batch.

    Parameters
    ----------
    source : FeatureSource
    instance : int
        Index of the instance in ``source``.
    model_seed : int
        The instance's model seed (its batches are the streams of that seed).
    step : int
        Training step, 0-based (ignored with ``held_out``).
    batch_size : int
    held_out : bool
        The held-out batch (stream DOMAIN_TOY_EVAL) instead of a training batch.

    Returns
    -------
    float64 array of shape (batch_size, n)
    """
    if not 0 <= instance < source.n_instances:
        raise ValueError(f"instance must be in [0, {source.n_instances}), got {instance}")
    if batch_size < 1 or model_seed < 0 or step < 0:
        raise ValueError(f"need batch_size >= 1, model_seed >= 0, step >= 0; got "
                         f"{batch_size}, {model_seed}, {step}")
    state = (stream_state(model_seed, DOMAIN_TOY_EVAL, 0, 0) if held_out
             else stream_state(model_seed, DOMAIN_TOY_BATCH, step, 0))
    return _kernels.draw_dense_batch(
        source.n_features, source.mode[instance], source.presence_threshold[instance],
        source.thinning_threshold[instance], source.log_q[instance], source.row_indptr,
        source.row_indices, source.row_data, np.uint64(state), batch_size)
