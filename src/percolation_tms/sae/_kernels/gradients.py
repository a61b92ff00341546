"""Backward pass of the SAE kernels: per-latent gradients from a latent-major index of the
batch's active entries, and the JumpReLU threshold gradients.

The reductions over batch rows that feed a latent's gradient use a latent-major index of the
batch's entries (a counting-sort transpose), so that each latent's sums are owned by one
parallel iteration and run over batch rows in ascending order: results do not depend on the
number of threads.
"""

from __future__ import annotations

from numba import njit, prange


@njit(cache=True)
def latent_major(act_index, n_active, n_latents, offsets, entry_row, entry_slot):
    """Counting-sort transpose of a batch's active entries: the entries of latent j are
    entry_row/entry_slot[offsets[j]:offsets[j + 1]], batch rows ascending.

    offsets (m + 1,) int64, entry_row and entry_slot (>= total active,) int64, all outputs.
    """
    offsets[:] = 0
    for r in range(n_active.shape[0]):
        for t in range(n_active[r]):
            offsets[act_index[r, t] + 1] += 1
    for j in range(n_latents):
        offsets[j + 1] += offsets[j]
    fill = offsets[:-1].copy()
    for r in range(n_active.shape[0]):
        for t in range(n_active[r]):
            j = act_index[r, t]
            entry_row[fill[j]] = r
            entry_slot[fill[j]] = t
            fill[j] += 1


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
