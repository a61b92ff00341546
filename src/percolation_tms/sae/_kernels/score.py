"""Scoring kernels: best-matching latents of ground-truth features (activation space) and
closest atoms of true directions (weight space)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from percolation_tms.sae._kernels.vector import dot


@njit(parallel=True, cache=True)
def best_latent_matches(act_indptr, act_indices, act_data, latent_mean, latent_m2,
                        latent_count, feat_indptr, feat_rows, n_points, block,
                        best_pearson_latent, best_pearson, f1_of_best, best_f1_latent, best_f1):
    """For every ground-truth feature (a set of points, CSC: feat_rows[feat_indptr[l]:...]):
    the latent whose activation has the largest Pearson correlation with membership, that
    correlation and that latent's F1 of "activation > 0"; and the latent with the largest F1.

    Activations are CSR (N, m) holding only positive entries.  latent_mean (m,), latent_m2 (m,)
    (sum over all N points of squared deviations), latent_count (m,) (points with activation
    > 0).  A constant latent correlates 0; a feature covering all N points has NaN correlation.
    Ties go to the lowest latent index.  Features are handled in blocks of ``block`` so that
    scratch arrays are allocated once per block; each feature's result depends on it alone.
    """
    m = latent_mean.shape[0]
    n_features = feat_indptr.shape[0] - 1
    for b in prange((n_features + block - 1) // block):
        overlap_sum = np.zeros(m)
        overlap_count = np.zeros(m, dtype=np.int64)
        for feature in range(b * block, min(n_features, (b + 1) * block)):
            lo, hi = feat_indptr[feature], feat_indptr[feature + 1]
            size = hi - lo
            for q in range(lo, hi):
                i = feat_rows[q]
                for p in range(act_indptr[i], act_indptr[i + 1]):
                    j = act_indices[p]
                    overlap_sum[j] += act_data[p]
                    overlap_count[j] += 1
            membership_var = size * (n_points - size) / n_points  # sum of squared deviations
            top_r, top_r_latent, top_r_count = -np.inf, -1, 0
            top_f1, top_f1_latent = -1.0, -1
            for j in range(m):
                denom = latent_m2[j] * membership_var
                r = (overlap_sum[j] - latent_mean[j] * size) / math.sqrt(denom) \
                    if denom > 0.0 else 0.0
                if r > top_r:
                    top_r, top_r_latent, top_r_count = r, j, overlap_count[j]
                f1 = 2.0 * overlap_count[j] / (latent_count[j] + size)
                if f1 > top_f1:
                    top_f1, top_f1_latent = f1, j
                overlap_sum[j] = 0.0
                overlap_count[j] = 0
            best_pearson_latent[feature] = top_r_latent
            best_pearson[feature] = top_r if membership_var > 0.0 else np.nan
            f1_of_best[feature] = 2.0 * top_r_count / (latent_count[top_r_latent] + size)
            best_f1_latent[feature] = top_f1_latent
            best_f1[feature] = top_f1


@njit(parallel=True, cache=True)
def max_cosine(reference, atoms, best_atom, best_cosine):
    """For each unit row of ``reference`` (n, d): the unit row of ``atoms`` (m, d) with the
    largest cosine similarity (ties to the lower index) and that cosine."""
    for g in prange(reference.shape[0]):
        top, top_j = -np.inf, -1
        for j in range(atoms.shape[0]):
            s = dot(reference[g], atoms[j])
            if s > top:
                top, top_j = s, j
        best_atom[g] = top_j
        best_cosine[g] = top


@njit(parallel=True, cache=True)
def absorption_rows(probe, s_value, rows, probe_main, probe_cos, act_indptr, act_indices,
                    act_data, fraction, full):
    """Ground-truth absorption (SAEBench's rule, SPEC-sae-hierarchy 3.5) of every (row,
    probe) pair q: rows[q] a point, probe[q] the parent feature whose direction g_P is the
    probe, s_value[q] = (x' - b_dec) . g_P > 0.  probe_main (n_probes,) the parent's main
    latent; probe_cos (n_probes, m) cos(d_j, g_P).  proj_j = a_j cos_j; main = proj of the
    main latent; A = the sum of the 3 largest proj_j > 0 of other latents with cos_j >= 0.1.
    fraction[q] = 0 if main >= s or A / s < 0.4, else 1 if main <= 0, else u / (u + main),
    u = min(A, s - main), clipped to [0, 1]; full[q]: the main activation is ~0 (< 1e-8) and
    the top-proj latent has cos >= 0.025 and proj / s >= 0.4."""
    for q in prange(rows.shape[0]):
        i = rows[q]
        p = probe[q]
        s = s_value[q]
        main_latent = probe_main[p]
        main = 0.0
        main_act = 0.0
        top1 = top2 = top3 = 0.0
        best_proj, best_cos = -np.inf, 0.0
        for t in range(act_indptr[i], act_indptr[i + 1]):
            j = act_indices[t]
            cos = probe_cos[p, j]
            proj = act_data[t] * cos
            if proj > best_proj:
                best_proj, best_cos = proj, cos
            if j == main_latent:
                main = proj
                main_act = act_data[t]
            elif cos >= 0.1 and proj > 0.0:
                if proj > top1:
                    top1, top2, top3 = proj, top1, top2
                elif proj > top2:
                    top2, top3 = proj, top2
                elif proj > top3:
                    top3 = proj
        a = top1 + top2 + top3
        if main >= s or a / s < 0.4:
            value = 0.0
        elif main <= 0.0:
            value = 1.0
        else:
            u = min(a, s - main)
            value = min(1.0, max(0.0, u / (u + main)))
        fraction[q] = value
        full[q] = (abs(main_act) < 1e-8 and best_proj > -np.inf and best_cos >= 0.025
                   and best_proj / s >= 0.4)
