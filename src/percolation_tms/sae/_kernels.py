"""Numba kernels of the sparse-autoencoder stage: arrays and scalars in, arrays out.

Parameter layout: one row per latent for both W_enc (m, d) and ``atoms`` (m, d) = W_dec^T (the
unit-norm dictionary atoms), so a latent's gradients are contiguous axpys over d.  The forward
pass reads ``enc_t`` (d, m), a transposed copy of W_enc refreshed after every step, so that a
point's pre-activations are d contiguous axpys over the m latents.

Determinism: every parallel loop writes outputs that only its own iteration computes (a batch
row, a latent, an input coordinate, a feature), and every sum inside an iteration runs in a fixed
order (batch rows ascending, active latents ascending).  So results do not depend on the number
of threads or on how numba splits the work.  The reductions over batch rows that feed a latent's
gradient use a latent-major index of the batch's active entries (a counting-sort transpose) so
that they too are owned by one iteration.  Dot products over the d coordinates go through
:func:`dot`, compiled with re-association allowed so that LLVM vectorises them (3x faster): its
summation order is fixed by the compiled code, i.e. by the CPU's vector width, the same on every
run and thread count of one machine (another CPU type may differ in the last bits).  No BLAS call
is made: this machine's BLAS is several times slower than these kernels, and its threads are not
under our control.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from percolation_tms._rng import next_below, next_double, next_normal, stream_state


@njit(cache=True, fastmath={"reassoc"})
def dot(a, b):
    """Dot product of two 1-d float arrays of equal length (vectorised; see module docstring).

    Must stay a separately compiled function: numba's IR-level inlining would recompile it
    under the caller's strict flags and lose the vectorisation."""
    s = 0.0
    for c in range(a.shape[0]):
        s += a[c] * b[c]
    return s


# ---------------------------------------------------------------------------- forward pass
@njit(cache=True)
def _better(value_a, index_a, value_b, index_b):
    """Total order of the top-k selection: larger value first, ties to the lower index."""
    return value_a > value_b or (value_a == value_b and index_a < index_b)


@njit(cache=True)
def select_top_k(pre, k, out_index):
    """Write the indices of the k largest pre-activations, keeping only those > 0 (TopK then
    ReLU), to ``out_index`` in ascending order; return how many.  Ties go to the lower index.

    A min-heap of at most k positive candidates, its worst entry at the root.  Candidates come
    in increasing index order, so a later one never wins a tie: the common case costs a single
    comparison with the root's value (0 while the heap is not full)."""
    size = 0
    threshold = 0.0
    for j in range(pre.shape[0]):
        value = pre[j]
        if value <= threshold:
            continue
        if size < k:
            pos = size
            size += 1
            while pos > 0:
                parent = (pos - 1) // 2
                q = out_index[parent]
                if _better(pre[q], q, value, j):
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
                    if _better(pre[c], c, pre[c2], c2):
                        child += 1
                        c = c2
                if _better(value, j, pre[c], c):
                    out_index[pos] = c
                    pos = child
                else:
                    break
            out_index[pos] = j
        if size == k:
            threshold = pre[out_index[0]]
    for t in range(1, size):  # insertion sort: k is small
        j = out_index[t]
        pos = t
        while pos > 0 and out_index[pos - 1] > j:
            out_index[pos] = out_index[pos - 1]
            pos -= 1
        out_index[pos] = j
    return size


@njit(parallel=True, cache=True)
def forward_rows(x, rows, enc_t, b_enc, atoms, b_dec, top_k, l1, with_grad,
                 xc, pre, act_index, act_value, act_grad, n_active, err, sq_err, l1_norm):
    """Encode, decode and (optionally) differentiate the points ``x[rows]``.

    x (N, d) inputs; rows (B,) int64 which points; enc_t (d, m); b_enc (m,); atoms (m, d);
    b_dec (d,); top_k > 0 selects TopK, 0 ReLU; l1 the L1 coefficient (0 for TopK SAEs).
    Outputs per batch row r: xc[r] = x - b_dec (d); pre[r] pre-activations (m); the
    n_active[r] active latents act_index[r, :n] (ascending) with activations act_value[r, :n]
    and, with ``with_grad``, dloss_r/dpre act_grad[r, :n] = 2 err . atom_j + l1 (0 elsewhere);
    err[r] = reconstruction - x (d); sq_err[r] = |err|^2; l1_norm[r] = sum of activations.
    """
    d = x.shape[1]
    m = enc_t.shape[1]
    for r in prange(rows.shape[0]):
        point = x[rows[r]]
        centred = xc[r]
        for c in range(d):
            centred[c] = point[c] - b_dec[c]
        p = pre[r]
        for j in range(m):
            p[j] = b_enc[j]
        for c in range(d):
            a = centred[c]
            w = enc_t[c]
            for j in range(m):
                p[j] += a * w[j]
        index = act_index[r]
        if top_k > 0:
            count = select_top_k(p, top_k, index)
        else:
            count = 0
            for j in range(m):
                if p[j] > 0.0:
                    index[count] = j
                    count += 1
        n_active[r] = count
        e = err[r]
        for c in range(d):
            e[c] = b_dec[c] - point[c]
        total = 0.0
        for t in range(count):
            f = p[index[t]]
            act_value[r, t] = f
            total += f
            atom = atoms[index[t]]
            for c in range(d):
                e[c] += f * atom[c]
        l1_norm[r] = total
        sq_err[r] = dot(e, e)
        if with_grad:
            for t in range(count):
                act_grad[r, t] = 2.0 * dot(e, atoms[index[t]]) + l1


@njit(parallel=True, cache=True)
def compact_rows(act_index, act_value, n_active, row_start, indices, data):
    """Copy each row's active entries to indices/data[row_start[r]:row_start[r] + n_active[r]]
    (CSR assembly of an encoding chunk)."""
    for r in prange(n_active.shape[0]):
        start = row_start[r]
        for t in range(n_active[r]):
            indices[start + t] = act_index[r, t]
            data[start + t] = act_value[r, t]


# ---------------------------------------------------------------------------- gradients
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
def latent_gradients(xc, act_value, act_grad, err, offsets, entry_row, entry_slot, scale,
                     grad_enc, grad_b_enc, grad_atoms):
    """Per latent j (one owner each), summing over the batch rows r where j is active:
    grad_enc[j] = scale * sum_r g_rj xc_r (d,), grad_b_enc[j] = scale * sum_r g_rj and
    grad_atoms[j] = scale * sum_r 2 f_rj err_r (d,), with g_rj = dloss_r/dpre_rj."""
    d = err.shape[1]
    for j in prange(grad_atoms.shape[0]):
        g_enc = grad_enc[j]
        g_atom = grad_atoms[j]
        for c in range(d):
            g_enc[c] = 0.0
            g_atom[c] = 0.0
        bias = 0.0
        for q in range(offsets[j], offsets[j + 1]):
            r = entry_row[q]
            t = entry_slot[q]
            g = act_grad[r, t]
            coef = 2.0 * act_value[r, t]
            centred = xc[r]
            e = err[r]
            for c in range(d):
                g_enc[c] += g * centred[c]
                g_atom[c] += coef * e[c]
            bias += g
        for c in range(d):
            g_enc[c] *= scale
            g_atom[c] *= scale
        grad_b_enc[j] = bias * scale


# ---------------------------------------------------------------------------- optimiser
def adam_constants(lr, beta1, beta2, eps, step):
    """The float64 array (5,) ``adam`` of the update kernels for Adam step ``step`` (from 1):
    [lr / (1 - beta1^step), beta1, beta2, 1 / sqrt(1 - beta2^step), eps]."""
    return np.array([lr / (1.0 - beta1 ** step), beta1, beta2,
                     1.0 / math.sqrt(1.0 - beta2 ** step), eps])


@njit(cache=True)
def adam_slice(theta, grad, moment1, moment2, adam):
    """PyTorch's Adam on 1-d arrays: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
    theta -= lr m_hat / (sqrt(v_hat) + eps), bias corrections folded into ``adam``."""
    step_size, beta1, beta2, inv_root_correction2, eps = adam[0], adam[1], adam[2], adam[3], \
        adam[4]
    for i in range(theta.shape[0]):
        g = grad[i]
        m1 = beta1 * moment1[i] + (1.0 - beta1) * g
        m2 = beta2 * moment2[i] + (1.0 - beta2) * g * g
        moment1[i] = m1
        moment2[i] = m2
        theta[i] -= step_size * m1 / (math.sqrt(m2) * inv_root_correction2 + eps)


@njit(parallel=True, cache=True)
def decoder_bias_step(err, enc_t, grad_b_enc, scale, grad_b_dec, update, b_dec, moment1,
                      moment2, adam):
    """grad_b_dec[c] = scale * sum_r 2 err_rc - (W_enc^T grad_b_enc)_c (b_dec enters both the
    reconstruction and the encoder's input; enc_t (d, m) = W_enc^T before the step, needs
    grad_b_enc); with ``update``, then one Adam step of b_dec (moments (d,), ``adam`` as in
    :func:`adam_constants`).  One owner per coordinate c."""
    for c in prange(enc_t.shape[0]):
        err_sum = 0.0
        for r in range(err.shape[0]):
            err_sum += err[r, c]
        grad_b_dec[c] = 2.0 * scale * err_sum - dot(enc_t[c], grad_b_enc)
        if update:
            adam_slice(b_dec[c:c + 1], grad_b_dec[c:c + 1], moment1[c:c + 1],
                       moment2[c:c + 1], adam)


@njit(parallel=True, cache=True)
def latent_update(enc, b_enc, atoms, grad_enc, grad_b_enc, grad_atoms, m1_enc, m1_b_enc,
                  m1_atoms, m2_enc, m2_b_enc, m2_atoms, adam, enc_t):
    """One Adam step of every latent's parameters, one owner per latent j: the atom's gradient
    loses its component along the atom (the unit-norm constraint), W_enc row, b_enc and atom
    take an Adam step (moments m1_*, m2_* shaped like the parameters), the atom is renormalised,
    and enc_t[:, j] (the forward pass's transposed copy) takes the new W_enc row."""
    d = atoms.shape[1]
    for j in prange(atoms.shape[0]):
        atom = atoms[j]
        g_atom = grad_atoms[j]
        radial = dot(g_atom, atom)
        for c in range(d):
            g_atom[c] -= radial * atom[c]
        adam_slice(enc[j], grad_enc[j], m1_enc[j], m2_enc[j], adam)
        adam_slice(b_enc[j:j + 1], grad_b_enc[j:j + 1], m1_b_enc[j:j + 1], m2_b_enc[j:j + 1],
                   adam)
        adam_slice(atom, g_atom, m1_atoms[j], m2_atoms[j], adam)
        norm2 = dot(atom, atom)
        if norm2 > 0.0:
            inv = 1.0 / math.sqrt(norm2)
            for c in range(d):
                atom[c] *= inv
        for c in range(d):
            enc_t[c, j] = enc[j, c]


# ---------------------------------------------------------------------------- randomness
@njit(cache=True)
def shuffled_order(n, seed, domain, epoch):
    """A uniformly random permutation of 0..n-1 (Fisher-Yates from the top), one stream per
    epoch: stream (seed, domain, epoch, 0), one ``next_below`` per swap."""
    order = np.arange(n)
    state = stream_state(seed, domain, epoch, 0)
    for i in range(n - 1, 0, -1):
        j, state = next_below(state, i + 1)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp
    return order


@njit(parallel=True, cache=True)
def unit_gaussian_rows(seed, domain, a, out):
    """Row j of ``out`` (n, d) = the first d normals of stream (seed, domain, a, j), normalised.

    One stream per row, so a larger array shares its first rows with a smaller one."""
    d = out.shape[1]
    for j in prange(out.shape[0]):
        state = stream_state(seed, domain, a, j)
        s = 0.0
        for c in range(d):
            g, state = next_normal(state)
            out[j, c] = g
            s += g * g
        inv = 1.0 / math.sqrt(s)
        for c in range(d):
            out[j, c] *= inv


# ---------------------------------------------------------------------------- scoring
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


# ---------------------------------------------------------------------------- synthetic data
@njit(parallel=True, cache=True)
def synthetic_counts(seed, domain, probability, counts):
    """Number of active features of every sample (the first pass of ``synthetic_fill``)."""
    for i in prange(counts.shape[0]):
        state = stream_state(seed, domain, 1, i)
        count = 0
        for f in range(probability.shape[0]):
            u, state = next_double(state)
            if u < probability[f]:
                _, state = next_double(state)
                count += 1
        counts[i] = count


@njit(parallel=True, cache=True)
def synthetic_fill(seed, domain, probability, dictionary, indptr, indices, data, x):
    """Sample i (stream (seed, domain, 1, i)): feature f is active when a uniform draw is
    below probability[f]; an active feature then draws its coefficient 1 - u, u uniform in
    [0, 1), so coefficients lie in (0, 1].  x[i] = sum_f coefficient_f dictionary[f]."""
    d = dictionary.shape[1]
    for i in prange(x.shape[0]):
        state = stream_state(seed, domain, 1, i)
        pos = indptr[i]
        for c in range(d):
            x[i, c] = 0.0
        for f in range(probability.shape[0]):
            u, state = next_double(state)
            if u < probability[f]:
                u, state = next_double(state)
                coefficient = 1.0 - u
                indices[pos] = f
                data[pos] = coefficient
                pos += 1
                for c in range(d):
                    x[i, c] += coefficient * dictionary[f, c]
