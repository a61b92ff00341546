"""Backward pass of the SAE kernels: per-latent gradients from a latent-major index of the
batch's active entries, and the JumpReLU threshold gradients.

The reductions over batch rows that feed a latent's gradient use a latent-major index of the
batch's entries (a counting-sort transpose), so that each latent's sums are owned by one
parallel iteration and run over batch rows in ascending order: results do not depend on the
number of threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from percolation_tms.sae._kernels.tuples import PENALTY_STEP, PENALTY_TANH
from percolation_tms.sae._kernels.vector import dot

LATENT_BLOCK = 64  # latents per parallel iteration of latent_major


@njit(parallel=True, cache=True)
def latent_major(act_index, n_active, n_latents, offsets, entry_row, entry_slot):
    """Counting-sort transpose of a batch's active entries: the entries of latent j are
    entry_row/entry_slot[offsets[j]:offsets[j + 1]], batch rows ascending.

    act_index (B, >= max n_active) int64, each row's latents ascending; offsets (m + 1,)
    int64, entry_row and entry_slot (>= total active,) int64, all outputs.  Blocks of
    ``LATENT_BLOCK`` latents are transposed in parallel, each block owning its latents'
    counts and slots; the result is the one counting sort, whatever the number of threads.
    """
    n_rows = n_active.shape[0]
    n_blocks = (n_latents + LATENT_BLOCK - 1) // LATENT_BLOCK
    first = np.empty((n_blocks + 1, n_rows), dtype=np.int64)  # each row's first entry per block
    for r in prange(n_rows):
        t = 0
        for b in range(n_blocks + 1):
            while t < n_active[r] and act_index[r, t] < b * LATENT_BLOCK:
                t += 1
            first[b, r] = t
    offsets[0] = 0
    for b in prange(n_blocks):
        for j in range(b * LATENT_BLOCK, min(n_latents, (b + 1) * LATENT_BLOCK)):
            offsets[j + 1] = 0
        for r in range(n_rows):
            for t in range(first[b, r], first[b + 1, r]):
                offsets[act_index[r, t] + 1] += 1
    for j in range(n_latents):
        offsets[j + 1] += offsets[j]
    for b in prange(n_blocks):
        lo = b * LATENT_BLOCK
        fill = offsets[lo:min(n_latents, lo + LATENT_BLOCK)].copy()
        for r in range(n_rows):
            for t in range(first[b, r], first[b + 1, r]):
                q = fill[act_index[r, t] - lo]
                entry_row[q] = r
                entry_slot[q] = t
                fill[act_index[r, t] - lo] = q + 1


@njit(parallel=True, cache=True)
def latent_gradients(xc, act_value, act_grad, err, latent_level, entries, scale, grads):
    """Per latent j (one owner each), summing over the batch rows r where j has an entry:
    grads.enc[j] = scale * sum_r g_rj xc_r (d,), grads.b_enc[j] = scale * sum_r g_rj and
    grads.atoms[j] = scale * sum_r 2 f_rj err[r, latent_level[j]] (d,), with g_rj =
    dloss_r/dz_rj (``act_grad``) and f_rj the activation (``act_value``); err (B, L, d).
    ``entries`` is the :func:`latent_major` index (a ``tuples.Entries``)."""
    d = xc.shape[1]
    offsets, entry_row, entry_slot = entries
    grad_enc, grad_b_enc, grad_atoms = grads.enc, grads.b_enc, grads.atoms
    for j in prange(grad_atoms.shape[0]):
        g_enc = grad_enc[j]
        g_atom = grad_atoms[j]
        for c in range(d):
            g_enc[c] = 0.0
            g_atom[c] = 0.0
        bias = 0.0
        level = latent_level[j]
        for q in range(offsets[j], offsets[j + 1]):
            r = entry_row[q]
            t = entry_slot[q]
            g = act_grad[r, t]
            coef = 2.0 * act_value[r, t]
            centred = xc[r]
            e = err[r, level]
            for c in range(d):
                g_enc[c] += g * centred[c]
                g_atom[c] += coef * e[c]
            bias += g
        for c in range(d):
            g_enc[c] *= scale
            g_atom[c] *= scale
        grad_b_enc[j] = bias * scale


WINDOW_BLOCK = 32  # latents per parallel iteration of threshold_gradients


@njit(parallel=True, cache=True)
def threshold_gradients(e, pre, atoms, rule, act_value, entries, scale, grad_theta):
    """JumpReLU's threshold gradients, grad_theta[j] = scale * sum_r dloss_r/dtheta_j, by the
    straight-through estimator: K(u) = [|u| < 1/2], u = (z - theta) / eps, da/dtheta =
    -(theta / eps) K(u), and the step penalty's dH/dtheta = -K(u) / eps.

    e (B, d) the rows' errors (reconstruction - x); pre (B, m) the pre-activations; act_value
    and ``entries`` (the :func:`latent_major` index) the firing entries.  With W_j the rows
    in latent j's window, dloss_r/da_rj = 2 e_r . atom_j + p_rj, so
        grad_theta_j = scale * (-(theta_j / eps) (2 atom_j . E_j + sum_{r in W_j} p_rj)
                                - |W_j| step),  E_j = sum_{r in W_j} e_r,
    where p_rj is lambda c (tanh penalty at a = 0) for a row where j does not fire and
    l1 + lambda c (1 - tanh^2(c a)) where it fires.  Most rows sit in the window (eps = 2 is
    as wide as a typical z), so E_j is summed directly when at most half of the rows are in
    W_j, else as sum_r e_r minus the rows outside: at most B / 2 axpys per latent instead of
    B dot products.  One owner per block of latents; rows ascending: the same bits on any
    number of threads."""
    n_rows, d = e.shape
    m = atoms.shape[0]
    threshold = rule.threshold
    eps = rule.bandwidth
    half_width = 0.5 * eps
    l1, coefficient, tanh_scale = rule.l1, rule.coefficient, rule.tanh_scale
    tanh_kind = rule.penalty == PENALTY_TANH
    penalty_at_zero = coefficient * tanh_scale if tanh_kind else 0.0
    step_term = coefficient / eps if rule.penalty == PENALTY_STEP else 0.0
    offsets, entry_row, entry_slot = entries
    total = np.zeros(d)
    for r in range(n_rows):
        for c in range(d):
            total[c] += e[r, c]
    window = np.empty((n_rows, m), dtype=np.uint8)  # row-parallel: vectorised over latents
    for r in prange(n_rows):
        p, w = pre[r], window[r]
        for j in range(m):
            w[j] = abs(p[j] - threshold[j]) < half_width
    for b in prange((m + WINDOW_BLOCK - 1) // WINDOW_BLOCK):
        lo, hi = b * WINDOW_BLOCK, min(m, (b + 1) * WINDOW_BLOCK)
        inside = np.zeros(hi - lo, dtype=np.int64)
        for r in range(n_rows):
            w = window[r, lo:hi]
            for j in range(hi - lo):
                inside[j] += w[j]
        # sum the rows in the window (added = 1), or the rows outside it (added = 0)
        added = (2 * inside <= n_rows).astype(np.uint8)
        sums = np.zeros((hi - lo, d))
        chosen = np.empty(hi - lo, dtype=np.int64)
        for r in range(n_rows):
            w = window[r, lo:hi]
            n_chosen = 0  # the block's latents that add this row: a branch-free compaction
            for j in range(hi - lo):
                chosen[n_chosen] = j
                n_chosen += w[j] == added[j]
            row = e[r]
            for t in range(n_chosen):
                s = sums[chosen[t]]
                for c in range(d):
                    s[c] += row[c]
        for j in range(lo, hi):
            s = sums[j - lo]
            if added[j - lo] == 0:
                for c in range(d):
                    s[c] = total[c] - s[c]
            theta = threshold[j]
            penalty = penalty_at_zero * inside[j - lo]
            for q in range(offsets[j], offsets[j + 1]):  # rows where j fires: a = z
                a = act_value[entry_row[q], entry_slot[q]]
                if a - theta < half_width:
                    fired = l1 - penalty_at_zero
                    if tanh_kind:
                        th = math.tanh(tanh_scale * a)
                        fired += coefficient * tanh_scale * (1.0 - th * th)
                    penalty += fired
            grad_theta[j] = scale * (-(theta / eps) * (2.0 * dot(atoms[j], s) + penalty)
                                     - step_term * inside[j - lo])
