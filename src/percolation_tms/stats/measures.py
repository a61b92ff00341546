"""Statistics of one dataset (spec section 8): each a small function of arrays.

Conventions shared with the specification's table: the cluster-size exponent is the
continuous maximum-likelihood estimate over sizes >= s_min, alpha = 1 + n / sum ln(s / s_min),
with sigma = (alpha - 1) / sqrt(n); baselines hold out 10% of the points, chosen by a seeded
permutation (seed 42, the spec's ShuffleSplit random_state; the split itself is drawn from the
project's keyed streams, not scikit-learn's generator, so the rows differ while the statistics
agree).

Randomness: every split, subset and rotation is drawn from stream (seed, ``DOMAIN_STATS``,
purpose, n) of ``percolation_tms._rng``, one ``PURPOSE_*`` constant per use, never from a
global or sequential generator.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import stats

from percolation_tms import _rng
from percolation_tms.stats._kernels import keyed_permutation

TEST_FRACTION = 0.1
SPLIT_SEED = 42
EXPONENT_S_MIN = 10  # smallest cluster size in the exponent fit (the spec's choice)

# The uses of randomness in this stage (the ``a`` of their streams); never renumber one.
PURPOSE_SPLIT = 0  # train/test split of the baselines
PURPOSE_KNN_ORDER = 1  # order of the nested training sets of the k-NN scaling curve
PURPOSE_KNN_TEST = 2  # the held-out points the k-NN baseline queries, when capped
PURPOSE_PCA_SAMPLE = 3  # the points of the PCA figure
PURPOSE_ROTATION = 4  # the random rotation of the isotropy test


def random_order(n: int, seed: int, purpose: int) -> np.ndarray:
    """int64 (n,): a random permutation of 0..n-1, from stream (seed, DOMAIN_STATS, purpose,
    n)."""
    return keyed_permutation(n, seed, _rng.DOMAIN_STATS, purpose)


def random_subset(n: int, m: int, seed: int, purpose: int) -> np.ndarray:
    """int64 (m,), increasing: m of 0..n-1 drawn without replacement (the first m of
    :func:`random_order`)."""
    return np.sort(random_order(n, seed, purpose)[:m])


class PowerLawFit(NamedTuple):
    """exponent tau of P(s) ~ s^-tau, its standard error sigma, and the clusters it used."""

    exponent: float
    sigma: float
    n_tail: int


def size_exponent(cluster_sizes: np.ndarray, s_min: int = EXPONENT_S_MIN) -> PowerLawFit:
    """The maximum-likelihood exponent of the cluster sizes >= s_min (the spec's estimator).

    tau = 1 + n / sum ln(s / s_min), sigma = (tau - 1) / sqrt(n).  This is the continuous
    (Pareto) estimator.  For discrete sizes it is biased, and how much depends on the shape of
    the pmf near s_min: on Yule-Simon samples with rho = 1.5 (the cluster sizes of the
    percolation model, tail exponent 5/2) it gives 2.545 at s_min = 10, while the usual discrete
    correction (s_min - 1/2 in place of s_min, Clauset et al. 2009), exact for a pure zeta law,
    over-corrects to 2.43 because the Yule-Simon pmf behaves like (s + 3/4)^-5/2, not s^-5/2.
    So we keep the spec's estimator.  NaN when no tail size exceeds s_min.
    """
    tail = np.asarray(cluster_sizes, dtype=np.float64).ravel()
    tail = tail[tail >= s_min]
    n = int(tail.shape[0])
    log_sum = float(np.log(tail / s_min).sum())
    if log_sum <= 0.0:
        return PowerLawFit(math.nan, math.nan, n)
    alpha = 1.0 + n / log_sum
    return PowerLawFit(alpha, (alpha - 1.0) / math.sqrt(n), n)


def point_degrees(edges: np.ndarray, n_points: int) -> np.ndarray:
    """int64 (n_points,): number of tree edges at every point."""
    return np.bincount(edges.ravel(), minlength=n_points).astype(np.int64)


def degree_histogram(degrees: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, counts) of the degrees that occur."""
    counts = np.bincount(degrees)
    values = np.flatnonzero(counts)
    return values.astype(np.int64), counts[values].astype(np.int64)


def poisson_plus_one_pmf(degree_values: np.ndarray) -> np.ndarray:
    """P(D = k) for D = 1 + Poisson(1): e^-1 / (k - 1)!  (0 for k < 1)."""
    k = np.asarray(degree_values)
    pmf = np.zeros(k.shape, dtype=np.float64)
    ok = k >= 1
    pmf[ok] = stats.poisson.pmf(k[ok] - 1, 1.0)
    return pmf


def degree_kl(degrees: np.ndarray) -> float:
    """KL(empirical degree distribution || 1 + Poisson(1)), natural log."""
    values, counts = degree_histogram(degrees)
    if counts.sum() == 0:
        return math.nan
    p = counts / counts.sum()
    q = poisson_plus_one_pmf(values)
    if np.any(q == 0):
        return math.inf
    return float(np.sum(p * np.log(p / q)))


def coordinate_moments(X: np.ndarray) -> dict[str, float]:
    """Mean per-coordinate variance, relative spread of per-coordinate std, mean |mean|."""
    X = np.asarray(X, dtype=np.float64)
    var = X.var(axis=0)
    std = np.sqrt(var)
    return {"x_var_mean": float(var.mean()),
            "x_var_rel_std": float(std.std() / std.mean()) if std.mean() > 0 else math.nan,
            "x_mean_abs_mean": float(np.abs(X.mean(axis=0)).mean())}


def isotropy_pvalue(X: np.ndarray, seed: int = 0, max_rows: int = 200_000) -> float:
    """Wilcoxon rank-sum p-value: kurtosis along the axes vs along randomly rotated axes."""
    X = np.asarray(X[:max_rows] if X.shape[0] > max_rows else X, dtype=np.float64)
    d = X.shape[1]
    if d < 2:
        return math.nan
    gaussian = _rng.normals(seed, _rng.DOMAIN_STATS, PURPOSE_ROTATION, d, d * d)
    q, r = np.linalg.qr(gaussian.reshape(d, d))
    rotation = q * np.sign(np.diag(r))  # Haar-distributed orthogonal matrix
    return float(stats.ranksums(stats.kurtosis(X, axis=0),
                                stats.kurtosis(X @ rotation, axis=0)).pvalue)


def train_test_split(n: int, test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows): a seeded random 10% held out."""
    order = random_order(n, seed, PURPOSE_SPLIT)
    n_test = max(1, math.ceil(test_fraction * n))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def mse_mean_predictor(y_train: np.ndarray, y_test: np.ndarray) -> float:
    return float(np.mean((y_test - y_train.mean()) ** 2))


def mse_ridge(X_train, y_train, X_test, y_test, alpha: float = 1.0) -> float:
    """Test MSE of ridge regression with an intercept (penalty alpha on the weights only)."""
    X_train = np.asarray(X_train, dtype=np.float64)
    x_mean, y_mean = X_train.mean(axis=0), y_train.mean()
    Xc = X_train - x_mean
    gram = Xc.T @ Xc
    gram[np.diag_indices_from(gram)] += alpha
    weights = np.linalg.solve(gram, Xc.T @ (y_train - y_mean))
    prediction = (np.asarray(X_test, dtype=np.float64) - x_mean) @ weights + y_mean
    return float(np.mean((y_test - prediction) ** 2))


#: Distances computed at once by nearest_neighbours (256 MB of float64), whatever the data size.
_DISTANCE_BLOCK = 2**25


def nearest_neighbours(X_query, X_ref, k: int, exclude_self: bool = False) -> np.ndarray:
    """int64 (n_query, k): indices into X_ref of each query's k nearest points (Euclidean),
    nearest first.  Brute force in float64 blocks of queries (exact; BLAS does the work), each
    block's distance matrix capped at 2**25 entries so memory stays flat as the data grows.
    With ``exclude_self`` the queries are X_ref itself and a point is not its own neighbour."""
    X_query = np.asarray(X_query, dtype=np.float64)
    X_ref = np.asarray(X_ref, dtype=np.float64)
    k_eff = k + 1 if exclude_self else k
    if k_eff > X_ref.shape[0]:
        raise ValueError(f"k = {k} neighbours requested from {X_ref.shape[0]} points")
    chunk = max(1, min(512, _DISTANCE_BLOCK // max(1, X_ref.shape[0])))
    ref_sq = np.einsum("ij,ij->i", X_ref, X_ref)
    out = np.empty((X_query.shape[0], k), dtype=np.int64)
    for start in range(0, X_query.shape[0], chunk):
        q = X_query[start:start + chunk]
        dist = ref_sq[None, :] - 2.0 * (q @ X_ref.T)  # + |q|^2, constant per row
        if exclude_self:
            dist[np.arange(q.shape[0]), np.arange(start, start + q.shape[0])] = np.inf
        part = np.argpartition(dist, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(dist, part, axis=1).argsort(axis=1, kind="stable")
        out[start:start + q.shape[0]] = np.take_along_axis(part, order, axis=1)
    return out


def mse_knn(X_train, y_train, X_test, y_test, k: int = 5) -> float:
    """Test MSE of k-nearest-neighbour regression (mean label of the k nearest)."""
    neighbours = nearest_neighbours(X_test, X_train, k)
    return float(np.mean((y_test - y_train[neighbours].mean(axis=1)) ** 2))


def knn_scaling(X, y, k: int = 5, n_sizes: int = 8, max_test: int = 2000, seed: int = SPLIT_SEED
                ) -> tuple[np.ndarray, np.ndarray]:
    """(train sizes, k-NN test MSE): the data-scaling curve on nested random training sets."""
    train, test = train_test_split(X.shape[0], seed=seed)
    train = train[random_order(train.shape[0], seed, PURPOSE_KNN_ORDER)]
    test = test[:max_test]
    sizes = np.unique(np.geomspace(min(max(4 * k, 20), train.shape[0]), train.shape[0],
                                   n_sizes).astype(np.int64))
    mse = np.array([mse_knn(X[train[:n]], y[train[:n]], X[test], y[test], k) for n in sizes])
    return sizes, mse


def cluster_ranks(cluster_id: np.ndarray) -> np.ndarray:
    """int64 (N,): rank of each row's cluster in output order (0 = largest), from the
    metadata's cluster ids (rows of one cluster are contiguous)."""
    change = np.ones(cluster_id.shape[0], dtype=np.int64)
    change[0] = 0
    change[1:] = cluster_id[1:] != cluster_id[:-1]
    return np.cumsum(change)


def pca_projection(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(len(rows), 2): the rows projected on the first two principal axes of those rows."""
    sample = np.asarray(X[rows], dtype=np.float64)
    sample -= sample.mean(axis=0)
    _, _, vt = np.linalg.svd(sample, full_matrices=False)
    return sample @ vt[:2].T


def height_by_cluster_size(heights: np.ndarray, cluster_sizes: np.ndarray, dataset_size: int,
                           n_bins: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """(bin edges (B+1,), mean over clusters of their mean point height per size bin (B,)).

    The log-spaced bins span 1..N + 1 (N = the dataset's size), so datasets of the same size
    share bins and can be averaged over seeds.
    """
    offsets = np.concatenate([[0], np.cumsum(cluster_sizes)])
    per_cluster = np.add.reduceat(heights.astype(np.float64), offsets[:-1]) / cluster_sizes
    edges = np.unique(np.geomspace(1, dataset_size + 1, n_bins + 1))
    which = np.clip(np.searchsorted(edges, cluster_sizes, side="right") - 1, 0,
                    edges.shape[0] - 2)
    total = np.bincount(which, weights=per_cluster, minlength=edges.shape[0] - 1)
    count = np.bincount(which, minlength=edges.shape[0] - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return edges, np.where(count > 0, total / count, np.nan)
