"""Forward pass of the SAE kernels: pre-activations, the choice of active latents (ReLU, TopK,
thresholds, BatchTopK over a whole batch), decoding at every Matryoshka level, the derivatives
of the loss with respect to the active pre-activations, and the AuxK dead-latent pass.

Parameter layout: one row per latent for both W_enc (m, d) and ``atoms`` (m, d) = W_dec^T, so
a latent's gradients are contiguous axpys over d.  The forward pass reads ``enc_t`` (d, m), a
transposed copy of W_enc refreshed after every step, so that a point's pre-activations are d
contiguous axpys over the m latents.  Every parallel loop writes only what its own iteration
(a batch row) computes, and every sum runs in a fixed order (active latents ascending), so
results do not depend on the number of threads.  No BLAS call is made: this machine's BLAS is
several times slower than these kernels, and its threads are not under our control.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from percolation_tms.sae._kernels.tuples import (
    MODE_GIVEN,
    MODE_RELU,
    MODE_THRESHOLD,
    MODE_TOPK,
    PENALTY_STEP,
    PENALTY_TANH,
)
from percolation_tms.sae._kernels.vector import dot


@njit(cache=True)
def _better(value_a, index_a, value_b, index_b):
    """Total order of the top-k selection: larger value first, ties to the lower index."""
    return value_a > value_b or (value_a == value_b and index_a < index_b)


@njit(cache=True)
def select_top(values, k, floor, out_index):
    """Write the indices of the k largest ``values`` above ``floor`` to ``out_index`` in
    ascending order; return how many.  Ties go to the lower index.

    A min-heap of at most k candidates, its worst entry at the root.  Candidates come in
    increasing index order, so a later one never wins a tie: the common case costs a single
    comparison with the root's value (``floor`` while the heap is not full)."""
    size = 0
    threshold = floor
    for j in range(values.shape[0]):
        value = values[j]
        if value <= threshold:
            continue
        if size < k:
            pos = size
            size += 1
            while pos > 0:
                parent = (pos - 1) // 2
                q = out_index[parent]
                if _better(values[q], q, value, j):
                    out_index[pos] = q
                    pos = parent
                else:
                    break
            out_index[pos] = j
        else:
            pos = 0  # replace the root and sift down
            while True:
                child = 2 * pos + 1
                if child >= k:
                    break
                c = out_index[child]
                if child + 1 < k:
                    c2 = out_index[child + 1]
                    if _better(values[c], c, values[c2], c2):
                        child += 1
                        c = c2
                if _better(value, j, values[c], c):
                    out_index[pos] = c
                    pos = child
                else:
                    break
            out_index[pos] = j
        if size == k:
            threshold = values[out_index[0]]
    for t in range(1, size):  # insertion sort: k is small
        j = out_index[t]
        pos = t
        while pos > 0 and out_index[pos - 1] > j:
            out_index[pos] = out_index[pos - 1]
            pos -= 1
        out_index[pos] = j
    return size


@njit(cache=True)
def select_top_k(pre, k, out_index):
    """TopK then ReLU: :func:`select_top` of the positive pre-activations."""
    return select_top(pre, k, 0.0, out_index)


@njit(cache=True)
def _encode_row(point, b_dec, b_enc, enc_t, centred, p):
    """centred = point - b_dec; p = W_enc centred + b_enc as d axpys over the m latents."""
    d = point.shape[0]
    m = p.shape[0]
    for c in range(d):
        centred[c] = point[c] - b_dec[c]
    for j in range(m):
        p[j] = b_enc[j]
    for c in range(d):
        a = centred[c]
        w = enc_t[c]
        for j in range(m):
            p[j] += a * w[j]


ROW_BLOCK = 4  # rows encoded together: each row of enc_t is read once per block, not per row


@njit(cache=True)
def _encode_block(x, rows, lo, hi, b_dec, b_enc, enc_t, xc, pre):
    """Rows lo..hi-1 of the batch: xc = x - b_dec, pre = W_enc xc + b_enc.  Four rows share
    each pass over enc_t (a quarter of the cache traffic); every pre[r, j] still sums its d
    terms in the order c = 0, 1, ..., so the result equals :func:`_encode_row`'s bit for bit."""
    if hi - lo < ROW_BLOCK:
        for r in range(lo, hi):
            _encode_row(x[rows[r]], b_dec, b_enc, enc_t, xc[r], pre[r])
        return
    d = x.shape[1]
    m = enc_t.shape[1]
    for r in range(lo, hi):
        point = x[rows[r]]
        for c in range(d):
            xc[r, c] = point[c] - b_dec[c]
    p0, p1, p2, p3 = pre[lo], pre[lo + 1], pre[lo + 2], pre[lo + 3]
    for j in range(m):
        p0[j] = b_enc[j]
        p1[j] = b_enc[j]
        p2[j] = b_enc[j]
        p3[j] = b_enc[j]
    for c in range(d):
        a0, a1, a2, a3 = xc[lo, c], xc[lo + 1, c], xc[lo + 2, c], xc[lo + 3, c]
        w = enc_t[c]
        for j in range(m):
            wj = w[j]
            p0[j] += a0 * wj
            p1[j] += a1 * wj
            p2[j] += a2 * wj
            p3[j] += a3 * wj


@njit(parallel=True, cache=True)
def preactivations(x, rows, enc_t, params, scratch):
    """scratch.xc[r] = x[rows[r]] - b_dec and scratch.pre[r] = W_enc xc + b_enc, per row
    (blocks of ``ROW_BLOCK`` rows in parallel).

    No parallel kernel calls another one: numba's cache cannot reload a function that calls
    a parallel function (the reloaded caller crashes), so every parallel loop is its own
    kernel, called from Python or holding the prange itself."""
    xc, pre, b_enc, b_dec = scratch.xc, scratch.pre, params.b_enc, params.b_dec
    for b in prange((rows.shape[0] + ROW_BLOCK - 1) // ROW_BLOCK):
        _encode_block(x, rows, b * ROW_BLOCK, min(rows.shape[0], (b + 1) * ROW_BLOCK), b_dec,
                      b_enc, enc_t, xc, pre)


@njit(parallel=True, cache=True)
def forward_rows(x, rows, enc_t, params, rule, levels, with_grad, scratch):
    """Encode, decode and (optionally) differentiate the points ``x[rows]``.

    x (N, d) inputs; rows (B,) int64 which points; enc_t (d, m) = W_enc^T; ``params``,
    ``rule``, ``levels`` and ``scratch`` as in ``tuples``.  With ``rule.mode`` =
    ``MODE_GIVEN`` the pre-activations and active sets are read from ``scratch`` (BatchTopK:
    :func:`preactivations` then :func:`batch_top_k`); otherwise they are computed here.
    Writes per row: activations, the level errors and their suffix sums (``err``), sq_err,
    l1_norm, extra and, with ``with_grad``, act_grad[r, t] = dloss_r/dz of active entry t =
    2 err_g . atom_j + l1 (+ the JumpReLU tanh penalty's derivative), and, for JumpReLU
    (``rule.bandwidth`` > 0), theta_rows[r, j] = dloss_r/dtheta_j by the straight-through
    estimator (every latent with |z_j - theta_j| < bandwidth / 2, active or not).
    """
    d = x.shape[1]
    m = enc_t.shape[1]
    # Fields are read into locals first: numba's parallel lowering loses element writes to
    # arrays reached through a tuple attribute inside prange.
    (xc, pre, act_index, act_value, act_grad, n_active, err, level_err, sq_err, l1_norm,
     extra_out, theta_rows) = scratch
    b_enc, b_dec, atoms = params.b_enc, params.b_dec, params.atoms
    level_end, latent_level = levels.end, levels.latent_level
    mode, top_k, l1, threshold = rule.mode, rule.top_k, rule.l1, rule.threshold
    penalty_kind, coefficient, tanh_scale = rule.penalty, rule.coefficient, rule.tanh_scale
    bandwidth = rule.bandwidth
    n_levels = level_end.shape[0]
    if mode != MODE_GIVEN:
        for b in prange((rows.shape[0] + ROW_BLOCK - 1) // ROW_BLOCK):
            _encode_block(x, rows, b * ROW_BLOCK, min(rows.shape[0], (b + 1) * ROW_BLOCK),
                          b_dec, b_enc, enc_t, xc, pre)
    for r in prange(rows.shape[0]):
        point = x[rows[r]]
        p = pre[r]
        index = act_index[r]
        if mode == MODE_TOPK:
            count = select_top_k(p, top_k, index)
        elif mode == MODE_RELU:
            count = 0
            for j in range(m):
                if p[j] > 0.0:
                    index[count] = j
                    count += 1
        elif mode == MODE_THRESHOLD:
            count = 0
            for j in range(m):
                if p[j] > threshold[j]:
                    index[count] = j
                    count += 1
        else:
            count = n_active[r]
        n_active[r] = count
        e = level_err[r, n_levels - 1]  # the full reconstruction's error, built up
        for c in range(d):
            e[c] = b_dec[c] - point[c]
        total = 0.0
        penalty = 0.0
        level = 0
        for t in range(count):
            j = index[t]
            if n_levels > 1:
                while j >= level_end[level]:  # level `level` ends before latent j
                    level_err[r, level, :] = e
                    level += 1
            f = p[j]
            act_value[r, t] = f
            total += f
            if penalty_kind == PENALTY_TANH:
                penalty += math.tanh(tanh_scale * f)
            atom = atoms[j]
            for c in range(d):
                e[c] += f * atom[c]
        l1_norm[r] = total
        sq_err[r] = dot(e, e)
        extra = 0.0
        if n_levels > 1:
            for lv in range(level, n_levels - 1):
                level_err[r, lv, :] = e
            # err_g = sum_{i >= g} e_i, the error every latent of group g contributes to.
            err[r, n_levels - 1, :] = e
            for lv in range(n_levels - 2, -1, -1):
                extra += dot(level_err[r, lv], level_err[r, lv])
                for c in range(d):
                    err[r, lv, c] = err[r, lv + 1, c] + level_err[r, lv, c]
        if penalty_kind == PENALTY_STEP:
            extra += coefficient * count
        elif penalty_kind == PENALTY_TANH:
            extra += coefficient * penalty
        extra_out[r] = extra
        if with_grad:
            for t in range(count):
                j = index[t]
                g = 2.0 * dot(err[r, latent_level[j]], atoms[j]) + l1
                if penalty_kind == PENALTY_TANH:
                    th = math.tanh(tanh_scale * act_value[r, t])
                    g += coefficient * tanh_scale * (1.0 - th * th)
                act_grad[r, t] = g
            if bandwidth > 0.0:
                _threshold_row(p, e, atoms, rule, theta_rows[r])


@njit(cache=True)
def _threshold_row(p, e, atoms, rule, out):
    """dloss/dtheta_j of one row (JumpReLU, one level): K(u) = [|u| < 1/2], u = (z - theta) /
    eps; da/dtheta = -(theta / eps) K(u); the step penalty's dH/dtheta = -K(u) / eps."""
    eps = rule.bandwidth
    for j in range(p.shape[0]):
        theta = rule.threshold[j]
        if abs(p[j] - theta) < 0.5 * eps:
            a = p[j] if p[j] > theta else 0.0
            dl_da = 2.0 * dot(e, atoms[j])
            if rule.penalty == PENALTY_TANH:
                th = math.tanh(rule.tanh_scale * a)
                dl_da += rule.coefficient * rule.tanh_scale * (1.0 - th * th)
            g = -(theta / eps) * dl_da
            if rule.penalty == PENALTY_STEP:
                g -= rule.coefficient / eps
            out[j] = g
        else:
            out[j] = 0.0


# ---------------------------------------------------------------------------- BatchTopK
@njit(parallel=True, cache=True)
def _row_top(pre, k, act_index, n_active, kth):
    """Each row's TopK-then-ReLU set; kth[r] its smallest kept value if the row kept k
    entries, else -1."""
    for r in prange(pre.shape[0]):
        count = select_top_k(pre[r], k, act_index[r])
        n_active[r] = count
        low = -1.0
        if count == k:
            low = np.inf
            for t in range(count):
                low = min(low, pre[r, act_index[r, t]])
        kth[r] = low


@njit(parallel=True, cache=True)
def _count_at_least(pre, floor, strict, counts):
    """counts[r] = entries of row r that are >= floor (> floor when ``strict``) and > 0."""
    for r in prange(pre.shape[0]):
        c = 0
        for j in range(pre.shape[1]):
            v = pre[r, j]
            if v > 0.0 and (v > floor or (not strict and v == floor)):
                c += 1
        counts[r] = c


def batch_top_k(pre, k, n_keep, act_index, n_active, kth, counts):
    """BatchTopK: keep the ``n_keep`` largest positive entries of the (B, m) matrix ``pre``
    (all positive entries if fewer), ties to the lower row-major index.  Writes each row's
    kept latents (ascending) to act_index / n_active; returns the smallest kept value (0 if
    none).  kth, counts: (B,) scratch.

    Every row's own top k are found first (as TopK does): if those rows hold k entries, the
    n_keep-th largest of the batch is at least the smallest of their k-th values, which cuts
    the candidates from B m to a few n_keep; a selection over the candidates then gives the
    value t of the n_keep-th largest.  (A Python function calling kernels: see
    :func:`preactivations` on nested parallel kernels.)"""
    _row_top(pre, k, act_index, n_active, kth)
    positive = kth[kth > 0.0]
    floor, strict = (float(positive.min()), False) if positive.size else (0.0, True)
    _count_at_least(pre, floor, strict, counts)
    total = int(counts.sum())
    if total < n_keep and not strict:
        floor, strict = 0.0, True
        _count_at_least(pre, floor, strict, counts)
        total = int(counts.sum())
    return _batch_select(pre, n_keep, floor, strict, total, act_index, n_active)


@njit(cache=True)
def _batch_select(pre, n_keep, floor, strict, total, act_index, n_active):
    """The sequential part of :func:`batch_top_k` over the ``total`` candidates >= floor."""
    n_rows, m = pre.shape
    if total == 0:
        n_active[:] = 0
        return 0.0
    if total <= n_keep and strict:  # every positive entry is kept
        low = np.inf
        for r in range(n_rows):
            c = 0
            for j in range(m):
                if pre[r, j] > 0.0:
                    act_index[r, c] = j
                    c += 1
                    low = min(low, pre[r, j])
            n_active[r] = c
        return low
    candidates = np.empty(total)
    q = 0
    for r in range(n_rows):
        for j in range(m):
            v = pre[r, j]
            if v > 0.0 and (v > floor or (not strict and v == floor)):
                candidates[q] = v
                q += 1
    t = np.partition(candidates, total - n_keep)[total - n_keep]
    ties_left = n_keep
    for q in range(total):
        if candidates[q] > t:
            ties_left -= 1
    for r in range(n_rows):  # row-major: ties to the lower index
        c = 0
        for j in range(m):
            v = pre[r, j]
            if v > t or (v == t and ties_left > 0):
                if v == t:
                    ties_left -= 1
                act_index[r, c] = j
                c += 1
        n_active[r] = c
    return t


# ---------------------------------------------------------------------------- AuxK
@njit(parallel=True, cache=True)
def aux_rows(pre, level_err, atoms, dead_indptr, dead_latent, group_level, group_scale, k_aux,
             aux_index, aux_value, aux_grad, aux_n, aux_err, aux_loss, work):
    """The AuxK pass of every row: for each group g of dead latents (one group, or one per
    Matryoshka level), the min(k_aux, n_dead_g) dead latents of largest raw z reconstruct the
    frozen residual of level group_level[g]: ea = e_level + sum_kept z_j atom_j (e =
    reconstruction - x, so the residual is -e).  Loss_r = sum_g scale_g |ea_g|^2.

    Dead latents of group g: dead_latent[dead_indptr[g]:dead_indptr[g + 1]] ascending.
    Writes per row r the entries aux_index[r, :aux_n[r]] with aux_value = scale_g z_j and
    aux_grad = 2 scale_g ea_g . atom_j (so that :func:`latent_gradients` with err = aux_err
    gives the AuxK gradients), aux_err[r, g] = ea_g, aux_loss[r].  work (B, m) scratch."""
    d = atoms.shape[1]
    n_groups = group_level.shape[0]
    for r in prange(pre.shape[0]):
        count = 0
        loss = 0.0
        values = work[r]
        for g in range(n_groups):
            lo, hi = dead_indptr[g], dead_indptr[g + 1]
            ea = aux_err[r, g]
            ea[:] = level_err[r, group_level[g]]
            if hi == lo:
                continue
            for q in range(lo, hi):
                values[q - lo] = pre[r, dead_latent[q]]
            chosen = aux_index[r, count:]
            n = select_top(values[:hi - lo], min(k_aux, hi - lo), -np.inf, chosen)
            for t in range(n):
                j = dead_latent[lo + chosen[t]]
                chosen[t] = j
                z = pre[r, j]
                atom = atoms[j]
                for c in range(d):
                    ea[c] += z * atom[c]
            scale = group_scale[g]
            loss += scale * dot(ea, ea)
            for t in range(n):
                j = chosen[t]
                aux_value[r, count + t] = scale * pre[r, j]
                aux_grad[r, count + t] = 2.0 * scale * dot(ea, atoms[j])
            count += n
        aux_n[r] = count
        aux_loss[r] = loss


# ---------------------------------------------------------------------------- encoding
@njit(parallel=True, cache=True)
def compact_rows(act_index, act_value, n_active, row_start, indices, data):
    """Copy each row's active entries to indices/data[row_start[r]:row_start[r] + n_active[r]]
    (CSR assembly of an encoding chunk)."""
    for r in prange(n_active.shape[0]):
        start = row_start[r]
        for t in range(n_active[r]):
            indices[start + t] = act_index[r, t]
            data[start + t] = act_value[r, t]
