"""Metrics against ground truth beyond ``score`` (SPEC-sae-hierarchy section 3): MCC and latent
precision / recall / F1 against known directions, explained variance, and feature absorption,
on known dictionaries (ground-truth directions, after SAEBench) and in activation space (any
data with a feature hierarchy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linear_sum_assignment

from percolation_tms.sae import _kernels
from percolation_tms.sae.score import SIZE_BAND_BASE, FeatureSet, frequency_bin_edges

MIN_PARENT_ROWS = 20  # parents with fewer probe rows are left out (SAEBench's word minimum)


def _abs_cosines(dictionary: np.ndarray, decoder: np.ndarray) -> np.ndarray:
    """C (F, m) = |cos(g_i, d_j)|; dictionary (F, d) rows, decoder (d, m) columns."""
    g = np.asarray(dictionary, dtype=np.float64)
    g = g / np.linalg.norm(g, axis=1, keepdims=True)
    atoms = np.asarray(decoder, dtype=np.float64)
    norms = np.linalg.norm(atoms, axis=0)
    atoms = atoms / np.where(norms > 0, norms, 1.0)
    return np.abs(g @ atoms)


@dataclass(frozen=True)
class DictionaryMatch:
    """mcc: mean |cos| of the one-to-one matching (Hungarian) of min(F, m) pairs maximising
    the sum; uniqueness: distinct argmax_i C_ij over latents / m; matched_feature (m,) the
    feature argmax_i C_ij of every latent (i*(j))."""

    mcc: float
    uniqueness: float
    matched_feature: np.ndarray


def match_dictionary(dictionary: np.ndarray, decoder: np.ndarray) -> DictionaryMatch:
    """MCC and uniqueness of a decoder (d, m) against the true directions (F, d)."""
    C = _abs_cosines(dictionary, decoder)
    row, col = linear_sum_assignment(C, maximize=True)
    best = np.argmax(C, axis=0).astype(np.int64)
    return DictionaryMatch(float(C[row, col].mean()), np.unique(best).size / C.shape[1], best)


@dataclass(frozen=True)
class LatentDetection:
    """Per latent (m,): precision, recall, f1 of "latent fires" as a detector of its matched
    feature i*(j) (0 when undefined: a dead latent scores 0); their means over all m."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray

    @property
    def mean(self) -> tuple[float, float, float]:
        return (float(self.precision.mean()), float(self.recall.mean()),
                float(self.f1.mean()))


def latent_detection(activations, coefficients, matched_feature: np.ndarray) -> LatentDetection:
    """Latent P/R/F1 (SAELens' synthetic evals): activations CSR (n, m) (positive entries),
    coefficients sparse (n, F) (stored entries: features on), matched_feature (m,)."""
    fires = sparse.csc_matrix(activations, dtype=np.float64, copy=True)
    fires.data[:] = 1.0
    on = sparse.csc_matrix(coefficients, dtype=np.float64, copy=True)
    on.data[:] = 1.0
    m = fires.shape[1]
    tp = np.empty(m)
    on_count = np.diff(on.indptr)
    fire_count = np.diff(fires.indptr).astype(np.float64)
    for j in range(m):
        f = matched_feature[j]
        a = fires.indices[fires.indptr[j]:fires.indptr[j + 1]]
        b = on.indices[on.indptr[f]:on.indptr[f + 1]]
        tp[j] = np.intersect1d(a, b, assume_unique=True).size
    fp = fire_count - tp
    fn = on_count[matched_feature] - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall),
                      0.0)
    return LatentDetection(precision, recall, f1)


# ---------------------------------------------------------------------------- absorption
def _fires(activations) -> sparse.csc_matrix:
    return sparse.csc_matrix(activations)


def absorption_activation(activations, features: FeatureSet, feature_parent: np.ndarray,
                          best_latent: np.ndarray) -> pd.DataFrame:
    """Activation-space absorption of every (parent P, child C) pair of scored features
    (SPEC-sae-hierarchy 3.6).

    Parameters
    ----------
    activations : CSR (N, m), positive entries.
    features : the scored features (members, depth, n_points).
    feature_parent : int64 (L,) the position in ``features`` of each feature's parent, -1 if
        its parent is not scored or it has none.
    best_latent : int64 (L,) each feature's best Pearson latent.

    Returns
    -------
    One row per pair: parent, child (feature columns), parent_depth, child_points,
    outside_points (|S_P \\ S_C|), parent_latent, child_latent, same_latent, absorbed,
    miss_outside, child_recall, absorption.  Pairs with an empty outside are dropped.
    """
    fires = _fires(activations)
    members = features.members
    n = members.shape[0]
    rows = []
    fired = np.zeros(n, dtype=bool)

    def fire_vector(j):
        fired[:] = False
        fired[fires.indices[fires.indptr[j]:fires.indptr[j + 1]]] = True
        return fired.copy()

    cache = {}
    for child in np.flatnonzero(feature_parent >= 0):
        parent = feature_parent[child]
        s_c = members.indices[members.indptr[child]:members.indptr[child + 1]]
        s_p = members.indices[members.indptr[parent]:members.indptr[parent + 1]]
        outside = np.setdiff1d(s_p, s_c, assume_unique=True)
        if outside.size == 0 or s_c.size == 0:
            continue
        p, c = int(best_latent[parent]), int(best_latent[child])
        for j in (p, c):
            if j not in cache:
                cache[j] = fire_vector(j)
        fp, fc = cache[p], cache[c]
        same = p == c
        recall = float(fc[s_c].mean())
        if same:
            absorbed = miss = absorption = 0.0
        else:
            absorbed = float((~fp[s_c] & fc[s_c]).mean())
            miss = float((~fp[outside]).mean())
            absorption = absorbed - miss * recall
        rows.append((int(features.column[parent]), int(features.column[child]),
                     int(features.depth[parent]), int(s_c.size), int(outside.size), p, c,
                     same, absorbed, miss, recall, absorption))
        if len(cache) > 256:
            cache.clear()
    return pd.DataFrame(rows, columns=[
        "parent", "child", "parent_depth", "child_points", "outside_points", "parent_latent",
        "child_latent", "same_latent", "absorbed", "miss_outside", "child_recall",
        "absorption"])


def absorption_by_depth(pairs: pd.DataFrame) -> pd.DataFrame:
    """Pairs grouped by parent depth x child size band (powers of 4, and ``all``): n_pairs,
    mean absorbed / miss_outside / absorption, pooled_absorbed (weights: child points)."""
    if pairs.empty:
        return pd.DataFrame(columns=["parent_depth", "size_band", "size_low", "size_high",
                                     "n_pairs", "mean_absorbed", "mean_miss_outside",
                                     "mean_absorption", "pooled_absorbed"])
    edges = frequency_bin_edges(int(pairs["child_points"].max()), SIZE_BAND_BASE)
    band = np.searchsorted(edges, pairs["child_points"].to_numpy(), side="right") - 1
    banded = pairs.assign(size_low=edges[band], size_high=edges[band + 1] - 1)
    banded["size_band"] = (banded["size_low"].astype(str) + "-"
                           + banded["size_high"].astype(str))
    every = pairs.assign(size_low=1, size_high=int(pairs["child_points"].max()),
                         size_band="all")
    out = []
    for frame in (every, banded):
        weighted = frame.assign(w=frame["absorbed"] * frame["child_points"])
        g = weighted.groupby(["parent_depth", "size_low"], sort=True)
        table = g.agg(size_band=("size_band", "first"), size_high=("size_high", "first"),
                      n_pairs=("absorption", "size"), mean_absorbed=("absorbed", "mean"),
                      mean_miss_outside=("miss_outside", "mean"),
                      mean_absorption=("absorption", "mean"), w=("w", "sum"),
                      points=("child_points", "sum")).reset_index()
        table["pooled_absorbed"] = table["w"] / table["points"]
        out.append(table)
    table = pd.concat(out, ignore_index=True)
    return table[["parent_depth", "size_band", "size_low", "size_high", "n_pairs",
                  "mean_absorbed", "mean_miss_outside", "mean_absorption", "pooled_absorbed"]]


def absorption_ground_truth(x: np.ndarray, b_dec: np.ndarray, activations, atoms: np.ndarray,
                            dictionary: np.ndarray, coefficients, parent: np.ndarray,
                            depth: np.ndarray, main_latent: np.ndarray) -> pd.DataFrame:
    """Ground-truth absorption on a known dictionary (SPEC-sae-hierarchy 3.5).

    Parameters
    ----------
    x : float64 (n, d) the points in the SAE's working space (standardised).
    b_dec : (d,); activations CSR (n, m); atoms (m, d) unit rows (W_dec^T).
    dictionary : (F, d) unit rows; coefficients sparse (n, F); parent, depth : int64 (F,).
    main_latent : int64 (F,) every feature's best Pearson latent.

    Returns
    -------
    One row per (parent, child) pair: parent, child, parent_depth, n_rows (rows of the child
    with s > 0), mean_fraction, full_rate.  And one row per parent with child = -1: its rows
    pooled over children; parents with fewer than ``MIN_PARENT_ROWS`` rows get NaN means.
    """
    acts = sparse.csr_matrix(activations)
    on = sparse.csc_matrix(coefficients)
    children = np.flatnonzero(parent >= 0)
    parents = np.unique(parent[children])
    if parents.size == 0:
        return pd.DataFrame(columns=["parent", "child", "parent_depth", "n_rows",
                                     "mean_fraction", "full_rate"])
    probe_of = {int(p): q for q, p in enumerate(parents)}
    probe_cos = np.ascontiguousarray(dictionary[parents] @ atoms.T)
    probe_main = main_latent[parents].astype(np.int64)
    row_list, probe_list, s_list, child_list = [], [], [], []
    for child in children:
        p = int(parent[child])
        rows = on.indices[on.indptr[child]:on.indptr[child + 1]].astype(np.int64)
        s = (x[rows] - b_dec) @ dictionary[p]
        keep = s > 0
        row_list.append(rows[keep])
        s_list.append(s[keep])
        probe_list.append(np.full(int(keep.sum()), probe_of[p], dtype=np.int64))
        child_list.append(np.full(int(keep.sum()), child, dtype=np.int64))
    rows = np.concatenate(row_list)
    probe = np.concatenate(probe_list)
    s_value = np.concatenate(s_list)
    child_of = np.concatenate(child_list)
    fraction = np.empty(rows.size)
    full = np.empty(rows.size, dtype=np.bool_)
    _kernels.absorption_rows(probe, s_value, rows, probe_main, probe_cos,
                             acts.indptr.astype(np.int64), acts.indices.astype(np.int64),
                             acts.data.astype(np.float64), fraction, full)
    frame = pd.DataFrame({"parent": parents[probe], "child": child_of, "fraction": fraction,
                          "full": full.astype(float)})
    pairs = frame.groupby(["parent", "child"], sort=True).agg(
        n_rows=("fraction", "size"), mean_fraction=("fraction", "mean"),
        full_rate=("full", "mean")).reset_index()
    pooled = frame.groupby("parent", sort=True).agg(
        n_rows=("fraction", "size"), mean_fraction=("fraction", "mean"),
        full_rate=("full", "mean")).reset_index().assign(child=-1)
    small = pooled["n_rows"] < MIN_PARENT_ROWS
    pooled.loc[small, ["mean_fraction", "full_rate"]] = np.nan
    table = pd.concat([pairs, pooled], ignore_index=True)
    table["parent_depth"] = depth[table["parent"].to_numpy()]
    return table[["parent", "child", "parent_depth", "n_rows", "mean_fraction", "full_rate"]]
