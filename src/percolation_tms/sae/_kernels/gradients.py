"""Backward pass of the SAE kernels: per-latent gradients from a latent-major index of the
batch's active entries, and the JumpReLU threshold gradients.

The reductions over batch rows that feed a latent's gradient use a latent-major index of the
batch's entries (a counting-sort transpose), so that each latent's sums are owned by one
parallel iteration and run over batch rows in ascending order: results do not depend on the
number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

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


@njit(parallel=True, cache=True)
def threshold_gradients(theta_rows, scale, grad_theta):
    """grad_theta[j] = scale * sum_r theta_rows[r, j], rows ascending (blocks of latents)."""
    n_rows, m = theta_rows.shape
    block = 64
    for b in prange((m + block - 1) // block):
        lo, hi = b * block, min(m, (b + 1) * block)
        for j in range(lo, hi):
            grad_theta[j] = 0.0
        for r in range(n_rows):
            for j in range(lo, hi):
                grad_theta[j] += theta_rows[r, j]
        for j in range(lo, hi):
            grad_theta[j] *= scale
