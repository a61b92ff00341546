"""Forward pass of the SAE kernels: pre-activations, the choice of active latents (ReLU, TopK,
thresholds, BatchTopK over a whole batch), decoding at every Matryoshka level, the derivatives
of the loss with respect to the active pre-activations, and the AuxK dead-latent pass.

Parameter layout: one row per latent for both W_enc (m, d) and ``atoms`` (m, d) = W_dec^T, so
a latent's gradients are contiguous axpys over d and the pre-activations are dot products of
contiguous rows, computed 4 points x 4 latents at a time (:func:`_dot_tile`).  Every
parallel loop writes only what its own iteration (a batch row, or a block of rows) computes,
and every sum runs in a fixed order (active latents ascending), so results do not depend on
the number of threads.  No BLAS call is made: BLAS runs its own threads, and its summation
order may change with their number.
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


TILE = 4  # a tile of TILE points x TILE latents keeps its 16 sums in registers


@njit(cache=True, fastmath={"reassoc", "contract"})
def _dot_tile(xc, enc, b_enc, r0, r1, r2, r3, j0, j1, j2, j3, pre):
    """pre[r, j] = xc[r] . enc[j] + b_enc[j] for the 4 x 4 pairs of rows r0..r3 of xc and
    rows j0..j3 of enc: every value loaded once feeds four products (a quarter of the loads
    of one dot product per pair).  Compiled with re-association, as :func:`vector.dot`, so that
    the loop over coordinates is vectorised, and with fused multiply-adds (10-20 % faster);
    its summation order is fixed by the compiled code.
    Callers repeat an index to fill a partial tile, so every pre-activation, wherever its
    point sits in a batch, is computed by this same code: the same bits."""
    a0, a1, a2, a3 = xc[r0], xc[r1], xc[r2], xc[r3]
    w0, w1, w2, w3 = enc[j0], enc[j1], enc[j2], enc[j3]
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = 0.0
    for c in range(a0.shape[0]):
        x0, x1, x2, x3 = a0[c], a1[c], a2[c], a3[c]
        v0, v1, v2, v3 = w0[c], w1[c], w2[c], w3[c]
        s00 += x0 * v0
        s01 += x0 * v1
        s02 += x0 * v2
        s03 += x0 * v3
        s10 += x1 * v0
        s11 += x1 * v1
        s12 += x1 * v2
        s13 += x1 * v3
        s20 += x2 * v0
        s21 += x2 * v1
        s22 += x2 * v2
        s23 += x2 * v3
        s30 += x3 * v0
        s31 += x3 * v1
        s32 += x3 * v2
        s33 += x3 * v3
    c0, c1, c2, c3 = b_enc[j0], b_enc[j1], b_enc[j2], b_enc[j3]
    pre[r0, j0], pre[r0, j1], pre[r0, j2], pre[r0, j3] = s00 + c0, s01 + c1, s02 + c2, s03 + c3
    pre[r1, j0], pre[r1, j1], pre[r1, j2], pre[r1, j3] = s10 + c0, s11 + c1, s12 + c2, s13 + c3
    pre[r2, j0], pre[r2, j1], pre[r2, j2], pre[r2, j3] = s20 + c0, s21 + c1, s22 + c2, s23 + c3
    pre[r3, j0], pre[r3, j1], pre[r3, j2], pre[r3, j3] = s30 + c0, s31 + c1, s32 + c2, s33 + c3


@njit(cache=True)
def _encode_block(x, rows, lo, hi, b_dec, b_enc, enc, xc, pre):
    """Rows lo..hi-1 (at most ``TILE``) of the batch: xc = x - b_dec, pre = W_enc xc + b_enc,
    in tiles of ``TILE`` latents (a partial tile repeats its last row or latent)."""
    d = x.shape[1]
    for r in range(lo, hi):
        point = x[rows[r]]
        for c in range(d):
            xc[r, c] = point[c] - b_dec[c]
    _dot_tiles(xc, enc, b_enc, lo, hi, pre)


@njit(cache=True)
def _dot_tiles(a, b, bias, lo, hi, out):
    """out[r, j] = a[r] . b[j] + bias[j] for rows lo..hi-1 (at most ``TILE``) of a and every
    row j of b, in :func:`_dot_tile` tiles (a partial tile repeats its last row or latent)."""
    m = b.shape[0]
    last = hi - 1
    r0, r1, r2, r3 = lo, min(lo + 1, last), min(lo + 2, last), min(lo + 3, last)
    for j in range(0, m, TILE):
        _dot_tile(a, b, bias, r0, r1, r2, r3, j, min(j + 1, m - 1), min(j + 2, m - 1),
                  min(j + 3, m - 1), out)


@njit(parallel=True, cache=True)
def preactivations(x, rows, params, scratch):
    """scratch.xc[r] = x[rows[r]] - b_dec and scratch.pre[r] = W_enc xc + b_enc, per row
    (blocks of ``TILE`` rows in parallel).

    No parallel kernel calls another one: numba's cache cannot reload a function that calls
    a parallel function (the reloaded caller crashes), so every parallel loop is its own
    kernel, called from Python or holding the prange itself."""
    xc, pre, enc, b_enc, b_dec = scratch.xc, scratch.pre, params.enc, params.b_enc, params.b_dec
    for b in prange((rows.shape[0] + TILE - 1) // TILE):
        _encode_block(x, rows, b * TILE, min(rows.shape[0], (b + 1) * TILE), b_dec, b_enc, enc,
                      xc, pre)


@njit(parallel=True, cache=True)
def forward_rows(x, rows, params, rule, levels, with_grad, scratch):
    """Encode, decode and (optionally) differentiate the points ``x[rows]``.

    x (N, d) inputs; rows (B,) int64 which points; ``params``,
    ``rule``, ``levels`` and ``scratch`` as in ``tuples``.  With ``rule.mode`` =
    ``MODE_GIVEN`` the pre-activations and active sets are read from ``scratch`` (BatchTopK:
    :func:`preactivations` then :func:`batch_top_k`); otherwise they are computed here.
    Writes per row: activations, the level errors and their suffix sums (``err``), sq_err,
    l1_norm, extra and, with ``with_grad``, act_grad[r, t] = dloss_r/dz of active entry t =
    2 err_g . atom_j + l1 (+ the JumpReLU tanh penalty's derivative).  JumpReLU's threshold
    gradients come from :func:`threshold_gradient_rows`.
    """
    d = x.shape[1]
    m = params.enc.shape[0]
    # Fields are read into locals first: numba's parallel lowering loses element writes to
    # arrays reached through a tuple attribute inside prange.
    (xc, pre, act_index, act_value, act_grad, n_active, err, level_err, sq_err, l1_norm,
     extra_out, _) = scratch
    enc, b_enc, b_dec, atoms = params.enc, params.b_enc, params.b_dec, params.atoms
    level_end, latent_level = levels.end, levels.latent_level
    mode, top_k, l1, threshold = rule.mode, rule.top_k, rule.l1, rule.threshold
    penalty_kind, coefficient, tanh_scale = rule.penalty, rule.coefficient, rule.tanh_scale
    n_levels = level_end.shape[0]
    if mode != MODE_GIVEN:
        for b in prange((rows.shape[0] + TILE - 1) // TILE):
            _encode_block(x, rows, b * TILE, min(rows.shape[0], (b + 1) * TILE), b_dec,
                          b_enc, enc, xc, pre)
    for r in prange(rows.shape[0]):
        point = x[rows[r]]
        p = pre[r]
        index = act_index[r]
        if mode == MODE_TOPK:
            count = select_top_k(p, top_k, index)
        elif mode == MODE_RELU:  # branch-free: a third of the latents fire, unpredictably
            count = 0
            for j in range(m):
                index[count] = j
                count += int(p[j] > 0.0)
        elif mode == MODE_THRESHOLD:
            count = 0
            for j in range(m):
                index[count] = j
                count += int(p[j] > threshold[j])
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


@njit(parallel=True, cache=True)
def threshold_gradient_rows(e, params, rule, zeros, scratch):
    """JumpReLU with ``ste_to_input``, after :func:`forward_rows`: theta_rows[r, j] =
    dloss_r/dtheta_j of every row, by the straight-through estimator of
    :func:`gradients.threshold_gradients` (which sums it over rows without forming it):
    K(u) = [|u| < 1/2], u = (z - theta) / eps: da/dtheta = -(theta / eps) K(u); the step
    penalty's dH/dtheta = -K(u) / eps.

    e (B, d) the rows' errors (level_err[:, 0]); zeros (m,) 0.0.  Most latents sit in the
    window (eps = 2 is as wide as a typical z), so the products e_r . atom_j are computed for
    all of them, in tiles, into theta_rows first.  A latent that does not fire has a = 0, so
    dloss/da = 2 e . atom_j (+ lambda c for tanh), a branch-free loop; a firing one then takes
    its dloss/da from act_grad (the forward pass's, tanh term included)."""
    m = params.atoms.shape[0]
    pre, act_index, act_grad, n_active, theta_rows = (
        scratch.pre, scratch.act_index, scratch.act_grad, scratch.n_active, scratch.theta_rows)
    threshold = rule.threshold
    eps = rule.bandwidth
    penalty_at_zero = rule.coefficient * rule.tanh_scale if rule.penalty == PENALTY_TANH else 0.0
    step_term = rule.coefficient / eps if rule.penalty == PENALTY_STEP else 0.0
    n_rows = e.shape[0]
    for b in prange((n_rows + TILE - 1) // TILE):
        lo, hi = b * TILE, min(n_rows, (b + 1) * TILE)
        _dot_tiles(e, params.atoms, zeros, lo, hi, theta_rows)  # e_r . atom_j
        for r in range(lo, hi):
            out = theta_rows[r]
            p = pre[r]
            for j in range(m):
                theta = threshold[j]
                g = -(theta / eps) * (2.0 * out[j] + penalty_at_zero) - step_term
                out[j] = g if abs(p[j] - theta) < 0.5 * eps else 0.0
            for t in range(n_active[r]):
                j = act_index[r, t]
                if abs(p[j] - threshold[j]) < 0.5 * eps:
                    out[j] = -(threshold[j] / eps) * act_grad[r, t] - step_term


@njit(parallel=True, cache=True)
def ste_rows(params, rule, scratch, index, value, grad, count):
    """JumpReLU with ``ste_to_input``, after :func:`threshold_gradient_rows`: the entries
    that train the encoder, per row, latents ascending: every latent that fires or sits in
    the straight-through window, with dloss/dz_j = act_grad (if it fires) - theta_rows[r, j]
    (the threshold gradient passed on to z, SPEC 1.4) and its activation (0 if it does not
    fire).  index, value, grad (B, m) and count (B,) are the outputs, as act_index,
    act_value, act_grad and n_active are for the active entries."""
    m = params.atoms.shape[0]
    pre, act_index, act_value, act_grad, n_active, theta_rows = (
        scratch.pre, scratch.act_index, scratch.act_value, scratch.act_grad, scratch.n_active,
        scratch.theta_rows)
    threshold = rule.threshold
    half_width = 0.5 * rule.bandwidth
    for r in prange(pre.shape[0]):
        t = 0
        c = 0
        for j in range(m):
            fires = t < n_active[r] and act_index[r, t] == j
            if fires or abs(pre[r, j] - threshold[j]) < half_width:
                index[r, c] = j
                value[r, c] = act_value[r, t] if fires else 0.0
                grad[r, c] = (act_grad[r, t] if fires else 0.0) - theta_rows[r, j]
                c += 1
            if fires:
                t += 1
        count[r] = c


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
def _candidates(pre, floor, strict, counts, values, columns):
    """Row r's entries that are >= floor (> floor when ``strict``), in ascending column
    order: values/columns[r, :counts[r]].  floor > 0, or floor = 0 and ``strict``: only
    positive entries qualify.  One comparison per entry, rarely true: well predicted."""
    for r in prange(pre.shape[0]):
        c = 0
        for j in range(pre.shape[1]):
            v = pre[r, j]
            if v > floor if strict else v >= floor:
                values[r, c] = v
                columns[r, c] = j
                c += 1
        counts[r] = c


def batch_top_k(pre, k, n_keep, act_index, n_active, work):
    """BatchTopK: keep the ``n_keep`` largest positive entries of the (B, m) matrix ``pre``
    (k >= n_keep / B an integer: floor(k' B) for a fractional k' takes k = ceil(k'))
    (all positive entries if fewer), ties to the lower row-major index.  Writes each row's
    kept latents (ascending) to act_index / n_active; returns the smallest kept value (0 if
    none).  work: a ``tuples.BatchWork`` of at least B rows.

    Every row's own top k are found first (as TopK does): if those rows hold k entries, the
    n_keep-th largest of the batch is at least the smallest of their k-th values, which cuts
    the candidates from B m to a few n_keep; a selection over the candidates then gives the
    value t of the n_keep-th largest, and every row keeps its candidates above t.  (A Python
    function calling kernels: see :func:`preactivations` on nested parallel kernels.)"""
    n_rows = pre.shape[0]
    if n_keep < 1:
        n_active[:] = 0
        return 0.0
    kth, counts = work.kth[:n_rows], work.counts[:n_rows]
    values, columns = work.values[:n_rows], work.columns[:n_rows]
    _row_top(pre, k, act_index, n_active, kth)
    positive = kth[kth > 0.0]
    floor, strict = (float(positive.min()), False) if positive.size else (0.0, True)
    _candidates(pre, floor, strict, counts, values, columns)
    total = int(counts.sum())
    if total < n_keep and not strict:
        floor, strict = 0.0, True
        _candidates(pre, floor, strict, counts, values, columns)
        total = int(counts.sum())
    return _batch_select(n_keep, strict, total, counts, values, columns, act_index, n_active)


@njit(parallel=True, cache=True)
def _batch_select(n_keep, strict, total, counts, values, columns, act_index, n_active):
    """The selection of :func:`batch_top_k` among the ``total`` candidates."""
    n_rows = counts.shape[0]
    if total == 0:
        n_active[:] = 0
        return 0.0
    if total <= n_keep and strict:  # every positive entry is kept
        low = np.inf
        for r in range(n_rows):
            for t in range(counts[r]):
                act_index[r, t] = columns[r, t]
                low = min(low, values[r, t])
            n_active[r] = counts[r]
        return low
    flat = np.empty(total)
    q = 0
    for r in range(n_rows):
        for t in range(counts[r]):
            flat[q] = values[r, t]
            q += 1
    kept_low = np.partition(flat, total - n_keep)[total - n_keep]
    ties_kept = n_keep  # entries equal to kept_low that are kept: the first ones, row-major
    tie_start = np.empty(n_rows, dtype=np.int64)
    ties = 0
    for r in range(n_rows):
        tie_start[r] = ties
        for t in range(counts[r]):
            v = values[r, t]
            if v > kept_low:
                ties_kept -= 1
            elif v == kept_low:
                ties += 1
    for r in prange(n_rows):
        c = 0
        tie = tie_start[r]
        for t in range(counts[r]):
            v = values[r, t]
            if v > kept_low or (v == kept_low and tie < ties_kept):
                act_index[r, c] = columns[r, t]
                c += 1
            if v == kept_low:
                tie += 1
        n_active[r] = c
    return kept_low


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
