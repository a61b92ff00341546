"""Numba kernels of the toy models: batch sampling, forward/backward with hand-written gradients,
AdamW.  Arrays and scalars (and named tuples of them) in, arrays out; ``train.py`` validates
and converts.

Layout.  Every weight matrix is kept as (m, n), row q = hidden dimension q over the n features:
``W`` (the spec's W) and ``DT``, the decoder transposed (``DT = W`` for the models whose decoder
is W^T; ``W_dec.T`` for ``untied``).  Every inner loop then runs over n contiguous numbers,
which LLVM vectorises; loops over m (5 in the standard sweep) are kept outermost.  Sums are
compiled with floating-point reassociation so that dot products vectorise too: the result is
still a fixed function of the inputs for a given build, whatever the thread count.

Two ways through one sample with k present features:

* hidden path: h = W x, a = ReLU(h) (hidden_relu) or h, out = b + D a.  Backward with
  g = dloss/dout (0 where the output ReLU is off): gDT[q] += a_q g, da = D^T g,
  dh = da [h > 0] (hidden_relu) or da, gW[q] += dh_q x.  About 5 m n multiply-adds, done
  four samples at a time.
* M path (tied, untied, linear, when k < m, where it is the cheaper one as measured at n = 20
  and 100): out = b + M x with M = D W (n, n) formed once per step, as the sum of k rows of
  ``MT = M^T``; backward A[j] += x_j g (A = dloss/dM^T), turned into gW += DT A^T and
  gDT += W A once per step (gW += W (A + A^T) when DT is W).  About 2 k n multiply-adds.

A sample with no feature present has out = b whatever the weights, and contributes only to the
bias gradient, identically for all such samples (98 % of them at S = 0.999, n = 20): they are
counted, not computed.

A batch is drawn and consumed in chunks of ``CHUNK`` samples.  The dense and Bernoulli
samplers write a chunk as dense rows, which the hidden path reads in place (the rows taking
the M path are gathered into CSR); the skip and rows samplers write CSR rows, the few taking
the hidden path being scattered into the (otherwise all-zero) dense rows and cleared after.

Random numbers (``_rng`` streams).  The batch of training step t of an instance with model
seed s is the stream (s, DOMAIN_TOY_BATCH, t, 0); its held-out evaluation batch is
(s, DOMAIN_TOY_EVAL, 0, 0).  Synthetic features, dense or Bernoulli mode: entry (sample r,
feature i) uses draw number r*n + i; its upper 32 bits u decide presence (present iff
u < floor(p_i * 2**32)) and its lower 32 bits v give the value v / 2**32.  Skip mode (every
p_i <= ``SKIP_BELOW``): the candidate entries in the flattened (sample, feature) order are a
Bernoulli(p_max) process drawn by geometric gaps, floor(log(u) / log(1 - p_max)) from a 53-bit
u in (0, 1], followed by one draw for the candidate (upper bits: kept iff
u < floor(p_i / p_max * 2**32), lower bits: the value).  Rows mode (percolation features):
each sample is the row ``next_below(n_rows)`` of a CSR matrix.  The work on one instance is
sequential and instances share nothing, so the thread count cannot change a result.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from percolation_tms._rng import (
    DOMAIN_TOY_BATCH,
    DOMAIN_TOY_EVAL,
    HIGH_SHIFT,
    LOW_MASK,
    LOW_SCALE,
    next_below,
    next_double,
    next_u64,
    stream_state,
)

MODEL_TIED = 0
MODEL_UNTIED = 1
MODEL_LINEAR = 2
MODEL_HIDDEN_RELU = 3

SOURCE_DENSE = 0  # every feature present (S = 0): values only
SOURCE_BERNOULLI = 1  # one presence test per entry
SOURCE_SKIP = 2  # geometric gaps between present entries: cost follows their number
SOURCE_ROWS = 3  # rows of a CSR matrix (percolation features)

# Below this presence probability, jumping from one present entry to the next (a logarithm
# each, about 14 ns) is cheaper than testing every entry (about 1-2 ns each).
SKIP_BELOW = 0.1
# Samples drawn and processed together: bounds the scratch memory (CHUNK * n entries) however
# large the batch, and keeps it in cache.
CHUNK = 1024

_FASTMATH = {"reassoc", "contract"}
_FAR = 1 << 62  # a position past the end of any batch


@njit(cache=True, inline="always")
def _geometric_gap(state, log_q):
    """(number of absent entries before the next candidate, new state); q = 1 - p_max."""
    u, state = next_double(state)
    gap = math.floor(math.log(1.0 - u) / log_q)  # 1 - u in (0, 1]
    if gap > 1e15:
        return _FAR, state
    return np.int64(gap), state


@njit(cache=True)
def draw_chunk(n, mode, presence_threshold, thinning_threshold, log_q, row_indptr,
               row_indices, row_data, state, next_position, n_samples, X, counts, indptr,
               indices, values):
    """Draw the next ``n_samples`` samples of a stream.

    Dense and Bernoulli modes write the samples as rows of X (n_samples or more, n), absent
    entries 0; skip and rows modes as CSR rows: indptr (n_samples + 1,) is filled, indices
    (increasing within a row) and values receive the present entries.  counts[r] is the
    number of features present in sample r.  ``next_position`` is the skip-mode position of
    the next candidate entry counted from this chunk's first entry (-1 before the first
    chunk of a batch).
    Returns (state, next_position counted from the next chunk's first entry).
    """
    if mode == SOURCE_DENSE or mode == SOURCE_BERNOULLI:
        dense = mode == SOURCE_DENSE
        bits = np.empty(n, dtype=np.uint64)
        for sample in range(n_samples):
            # Generating first and selecting after lets LLVM vectorise both loops.
            for i in range(n):
                bits[i], state = next_u64(state)
            x = X[sample]
            k = 0
            for i in range(n):
                keep = dense or (bits[i] >> HIGH_SHIFT) < presence_threshold[i]
                value = np.float64(np.int64(bits[i] & LOW_MASK)) * LOW_SCALE
                x[i] = value if keep else 0.0
                k += keep
            counts[sample] = k
        return state, next_position
    k = 0
    indptr[0] = 0
    if mode == SOURCE_SKIP:
        if next_position < 0:
            next_position, state = _geometric_gap(state, log_q)
        for sample in range(n_samples):
            end = (sample + 1) * n
            while next_position < end:
                i = next_position - sample * n
                bits, state = next_u64(state)
                if (bits >> HIGH_SHIFT) < thinning_threshold[i]:
                    indices[k] = i
                    values[k] = np.float64(np.int64(bits & LOW_MASK)) * LOW_SCALE
                    k += 1
                gap, state = _geometric_gap(state, log_q)
                next_position += 1 + gap
            indptr[sample + 1] = k
            counts[sample] = k - indptr[sample]
        next_position -= n_samples * n
    else:
        n_rows = row_indptr.shape[0] - 1
        for sample in range(n_samples):
            row, state = next_below(state, n_rows)
            for e in range(row_indptr[row], row_indptr[row + 1]):
                indices[k] = row_indices[e]
                values[k] = row_data[e]
                k += 1
            indptr[sample + 1] = k
            counts[sample] = k - indptr[sample]
    return state, next_position


@njit(cache=True, fastmath=_FASTMATH)
def hidden_path(model, W, DT, b, imp_scale, grad_scale, X, rows, n_rows, with_grad, gW, gDT,
                gb):
    """Loss sum of the samples X[rows[:n_rows]] (dense rows) by the hidden path.

    Four samples at a time: each weight row loaded serves four multiply-adds and each
    gradient row is read and written once per four samples, twice the speed of one at a time
    at n = 100.  A last incomplete block is padded with x = 0 rows whose loss and gradient are
    masked out.
    """
    m, n = W.shape
    linear = model == MODEL_LINEAR
    hidden_relu = model == MODEL_HIDDEN_RELU
    zero = np.zeros(n, dtype=np.float64)
    OUT = np.empty((4, n), dtype=np.float64)
    G = np.empty((4, n), dtype=np.float64)
    A = np.empty((4, m), dtype=np.float64)
    o0, o1, o2, o3 = OUT[0], OUT[1], OUT[2], OUT[3]
    g0, g1, g2, g3 = G[0], G[1], G[2], G[3]
    loss = 0.0
    for first in range(0, n_rows, 4):
        used = min(4, n_rows - first)
        x0 = X[rows[first]]
        x1 = X[rows[first + 1]] if used > 1 else zero
        x2 = X[rows[first + 2]] if used > 2 else zero
        x3 = X[rows[first + 3]] if used > 3 else zero
        xs = (x0, x1, x2, x3)
        # forward: a = W x (ReLU for hidden_relu), out = b + D a
        for q in range(m):
            c0 = 0.0
            c1 = 0.0
            c2 = 0.0
            c3 = 0.0
            for j in range(n):
                w = W[q, j]
                c0 += w * x0[j]
                c1 += w * x1[j]
                c2 += w * x2[j]
                c3 += w * x3[j]
            if hidden_relu:
                c0, c1, c2, c3 = max(c0, 0.0), max(c1, 0.0), max(c2, 0.0), max(c3, 0.0)
            A[0, q] = c0
            A[1, q] = c1
            A[2, q] = c2
            A[3, q] = c3
        for i in range(n):
            o0[i] = b[i]
            o1[i] = b[i]
            o2[i] = b[i]
            o3[i] = b[i]
        for q in range(m):
            c0, c1, c2, c3 = A[0, q], A[1, q], A[2, q], A[3, q]
            for i in range(n):
                d = DT[q, i]
                o0[i] += c0 * d
                o1[i] += c1 * d
                o2[i] += c2 * d
                o3[i] += c3 * d
        for t in range(4):
            x = xs[t]
            sample_loss = 0.0
            for i in range(n):
                o = OUT[t, i]
                r = (o if linear else max(o, 0.0)) - x[i]
                sample_loss += imp_scale[i] * r * r
                G[t, i] = grad_scale * imp_scale[i] * r if (linear or o > 0.0) else 0.0
            if t < used:
                loss += sample_loss
            else:
                G[t] = 0.0
        if with_grad:
            # backward: gb += g, gDT[q] += a_q g, da = D^T g (masked by h > 0), gW[q] += da_q x
            for i in range(n):
                gb[i] += (g0[i] + g1[i]) + (g2[i] + g3[i])
            for q in range(m):
                c0, c1, c2, c3 = A[0, q], A[1, q], A[2, q], A[3, q]
                e0 = 0.0
                e1 = 0.0
                e2 = 0.0
                e3 = 0.0
                for i in range(n):
                    d = DT[q, i]
                    e0 += d * g0[i]
                    e1 += d * g1[i]
                    e2 += d * g2[i]
                    e3 += d * g3[i]
                    gDT[q, i] += (c0 * g0[i] + c1 * g1[i]) + (c2 * g2[i] + c3 * g3[i])
                if hidden_relu:
                    e0 = e0 if c0 > 0.0 else 0.0
                    e1 = e1 if c1 > 0.0 else 0.0
                    e2 = e2 if c2 > 0.0 else 0.0
                    e3 = e3 if c3 > 0.0 else 0.0
                for j in range(n):
                    gW[q, j] += (e0 * x0[j] + e1 * x1[j]) + (e2 * x2[j] + e3 * x3[j])
    return loss


@njit(cache=True, fastmath=_FASTMATH)
def m_path(model, MT, b, imp_scale, grad_scale, indptr, indices, values, rows, n_rows,
           with_grad, A, gb):
    """Loss sum of the samples ``rows[:n_rows]`` of a CSR chunk by the M path:
    out = b + sum_j x_j MT[j]; backward A[j] += x_j g, gb += g."""
    n = b.shape[0]
    linear = model == MODEL_LINEAR
    x = np.zeros(n, dtype=np.float64)
    out = np.empty(n, dtype=np.float64)
    g = np.empty(n, dtype=np.float64)
    loss = 0.0
    for t in range(n_rows):
        r = rows[t]
        start = indptr[r]
        stop = indptr[r + 1]
        for i in range(n):
            out[i] = b[i]
        for e in range(start, stop):
            j = indices[e]
            v = values[e]
            x[j] = v
            for i in range(n):
                out[i] += v * MT[j, i]
        for i in range(n):
            o = out[i]
            res = (o if linear else max(o, 0.0)) - x[i]
            loss += imp_scale[i] * res * res
            g[i] = grad_scale * imp_scale[i] * res if (linear or o > 0.0) else 0.0
            if with_grad:
                gb[i] += g[i]
        if with_grad:
            for e in range(start, stop):
                j = indices[e]
                v = values[e]
                for i in range(n):
                    A[j, i] += v * g[i]
        for e in range(start, stop):
            x[indices[e]] = 0.0
    return loss


@njit(cache=True)
def chunk_loss_grad(model, W, DT, MT, b, imp_scale, grad_scale, dense_input, X, counts,
                    indptr, indices, values, n_samples, use_m_path, with_grad, gW, gDT, A,
                    gb):
    """Sum over the samples 0 .. n_samples - 1 of a chunk of the sample loss
    sum_i imp_scale_i (x_i - x'_i)^2.

    The chunk is as ``draw_chunk`` leaves it: rows of X if ``dense_input``, else CSR rows
    (indptr, indices, values) with X all zero, which it is again on return; counts[r] is the
    number of features present in sample r.  W, DT, gW, gDT : (m, n); MT, A : (n, n);
    b, imp_scale, gb : (n,).  With ``use_m_path`` the samples with 0 < k < m take the M path
    (MT must hold W^T DT) and accumulate into A.  With ``with_grad``, ``grad_scale`` times the
    gradient is added into gW (encoder side), gDT (decoder side), A and gb;
    ``finish_gradient`` folds A into gW, gDT.
    Order: hidden-path samples, then M-path samples, then the empty ones.
    """
    m, n = W.shape
    hidden_rows = np.empty(n_samples, dtype=np.int64)
    m_rows = np.empty(n_samples, dtype=np.int64)
    n_hidden = 0
    n_m = 0
    n_empty = 0
    for sample in range(n_samples):
        k = counts[sample]
        if k == 0:
            n_empty += 1
        elif use_m_path and k < m:
            m_rows[n_m] = sample
            n_m += 1
        else:
            hidden_rows[n_hidden] = sample
            n_hidden += 1
    loss = 0.0
    if n_hidden > 0:
        if not dense_input:
            _scatter_rows(X, hidden_rows, n_hidden, indptr, indices, values, True)
        loss += hidden_path(model, W, DT, b, imp_scale, grad_scale, X, hidden_rows, n_hidden,
                            with_grad, gW, gDT, gb)
        if not dense_input:
            _scatter_rows(X, hidden_rows, n_hidden, indptr, indices, values, False)
    if n_m > 0:
        if dense_input:
            # The M path reads present entries: gather them from the rows it takes, as CSR
            # rows 0 .. n_m - 1.
            k = 0
            for t in range(n_m):
                x = X[m_rows[t]]
                for i in range(n):
                    # Written unconditionally, kept by advancing k: no unpredictable branch.
                    indices[k] = i
                    values[k] = x[i]
                    k += x[i] != 0.0
                indptr[t + 1] = k
                m_rows[t] = t
            indptr[0] = 0
        loss += m_path(model, MT, b, imp_scale, grad_scale, indptr, indices, values, m_rows,
                       n_m, with_grad, A, gb)
    if n_empty > 0:
        # x = 0 gives out = b whatever the weights: the same loss and bias gradient each time.
        linear = model == MODEL_LINEAR
        empty_loss = 0.0
        for i in range(n):
            y = b[i] if linear else max(b[i], 0.0)
            empty_loss += imp_scale[i] * y * y
            if with_grad:
                gb[i] += n_empty * (grad_scale * imp_scale[i] * y)
        loss += n_empty * empty_loss
    return loss


@njit(cache=True)
def _scatter_rows(X, rows, n_rows, indptr, indices, values, fill):
    """Write the CSR rows ``rows[:n_rows]`` into the same rows of X (``fill``), or zero
    those entries again."""
    for t in range(n_rows):
        r = rows[t]
        x = X[r]
        for e in range(indptr[r], indptr[r + 1]):
            x[indices[e]] = values[e] if fill else 0.0


@njit(cache=True, fastmath=_FASTMATH)
def form_mt(W, DT, MT):
    """MT (n, n) = W^T DT, i.e. MT[j, i] = M[i, j] for M = D W, the map x -> out - b.
    (Computing half of a symmetric MT and mirroring it is slower: the mirror writes columns.)"""
    m, n = W.shape
    MT[:] = 0.0
    for j in range(n):
        for q in range(m):
            w = W[q, j]
            for i in range(n):
                MT[j, i] += w * DT[q, i]


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _add_product_t(out, left, right):
    """out += left right^T for out (m, n), left (m, k), right (n, k): rows against rows, so
    every inner loop runs over contiguous numbers."""
    m, n = out.shape
    for q in range(m):
        for j in range(n):
            acc = 0.0
            for i in range(left.shape[1]):
                acc += left[q, i] * right[j, i]
            out[q, j] += acc


@njit(cache=True, fastmath=_FASTMATH)
def finish_gradient(W, DT, A, gW, gDT, symmetric):
    """Fold the M-path accumulator A = dloss/dM^T into the weight gradients: gW += DT A^T and
    gDT += W A; with ``symmetric`` (DT is W) both at once, gW += W (A + A^T)."""
    m, n = W.shape
    if symmetric:
        _add_product_t(gW, W, A + A.T)
        return
    _add_product_t(gW, DT, A)
    for q in range(m):
        for j in range(n):
            w = W[q, j]
            for i in range(n):
                gDT[q, i] += w * A[j, i]


@njit(cache=True)
def chunk_scratch(n, batch_size, m_path):
    """Scratch arrays for ``batch_loss_grad``: X (zeros) and counts, indptr, indices, values
    of one chunk, then MT and A."""
    chunk = min(CHUNK, batch_size)
    side = n if m_path else 0
    return (np.zeros((chunk, n), dtype=np.float64), np.empty(chunk, dtype=np.int64),
            np.empty(chunk + 1, dtype=np.int64), np.empty(chunk * n, dtype=np.int64),
            np.empty(chunk * n, dtype=np.float64), np.empty((side, side), dtype=np.float64),
            np.empty((side, side), dtype=np.float64))


@njit(cache=True)
def batch_loss_grad(model, W, DT, b, imp_scale, mode, presence_threshold,
                    thinning_threshold, log_q, row_indptr, row_indices, row_data, state,
                    batch_size, with_grad, gW, gDT, gb, X, counts, indptr, indices, values, MT,
                    A):
    """Mean loss of the batch drawn from ``state``, in chunks of ``CHUNK`` samples.  With
    ``with_grad`` set gW, gDT (m, n) and gb (n,) to its gradient; for the models whose decoder
    is W^T, gDT is then already added into gW.  X ... A: ``chunk_scratch`` arrays (MT and A
    of shape (0, 0) disable the M path)."""
    m, n = W.shape
    chunk = counts.shape[0]
    dense_input = mode == SOURCE_DENSE or mode == SOURCE_BERNOULLI
    m_path_allowed = model != MODEL_HIDDEN_RELU and MT.shape[0] == n
    m_path = False
    if with_grad:
        gW[:] = 0.0
        gDT[:] = 0.0
        gb[:] = 0.0
    next_position = np.int64(-1)
    loss = 0.0
    for first in range(0, batch_size, chunk):
        n_samples = min(chunk, batch_size - first)
        state, next_position = draw_chunk(
            n, mode, presence_threshold, thinning_threshold, log_q, row_indptr, row_indices,
            row_data, state, next_position, n_samples, X, counts, indptr, indices, values)
        if m_path_allowed and not m_path:
            for sample in range(n_samples):
                if 0 < counts[sample] < m:
                    m_path = True
                    form_mt(W, DT, MT)
                    A[:] = 0.0
                    break
        loss += chunk_loss_grad(model, W, DT, MT, b, imp_scale, 2.0 / batch_size, dense_input,
                                X, counts, indptr, indices, values, n_samples, m_path,
                                with_grad, gW, gDT, A, gb)
    if with_grad:
        if m_path:
            finish_gradient(W, DT, A, gW, gDT, model != MODEL_UNTIED)
        if model != MODEL_UNTIED:
            gW += gDT
    return loss / batch_size


@njit(cache=True)
def draw_dense_batch(n, mode, presence_threshold, thinning_threshold, log_q, row_indptr,
                     row_indices, row_data, state, batch_size):
    """The batch the trainer draws from ``state``, as a dense (batch_size, n) array."""
    result = np.zeros((batch_size, n), dtype=np.float64)
    X, counts, indptr, indices, values, _, _ = chunk_scratch(n, batch_size, False)
    chunk = counts.shape[0]
    dense_input = mode == SOURCE_DENSE or mode == SOURCE_BERNOULLI
    next_position = np.int64(-1)
    for first in range(0, batch_size, chunk):
        n_samples = min(chunk, batch_size - first)
        state, next_position = draw_chunk(
            n, mode, presence_threshold, thinning_threshold, log_q, row_indptr, row_indices,
            row_data, state, next_position, n_samples, X, counts, indptr, indices, values)
        for sample in range(n_samples):
            if dense_input:
                result[first + sample] = X[sample]
            else:
                for e in range(indptr[sample], indptr[sample + 1]):
                    result[first + sample, indices[e]] = values[e]
    return result


@njit(cache=True)
def adamw_update(param, grad, m1, m2, step, lr, weight_decay, beta1, beta2, eps):
    """One AdamW step in place on 1-d arrays, as PyTorch's ``AdamW`` (``step`` counts from 1):
    decoupled decay, then the bias-corrected Adam step."""
    bias1 = 1.0 - beta1 ** step
    step_size = lr / bias1
    root_bias2 = math.sqrt(1.0 - beta2 ** step)
    decay = 1.0 - lr * weight_decay
    for e in range(param.shape[0]):
        g = grad[e]
        m1[e] = beta1 * m1[e] + (1.0 - beta1) * g
        m2[e] = beta2 * m2[e] + (1.0 - beta2) * g * g
        param[e] = param[e] * decay - step_size * m1[e] / (math.sqrt(m2[e]) / root_bias2 + eps)


class Lanes(NamedTuple):
    """How instances are spread over threads: lane l trains the instances
    ``order[ptr[l]:ptr[l + 1]]`` one after the other (int64 arrays (L + 1,) and (I,))."""

    ptr: np.ndarray
    order: np.ndarray


class Params(NamedTuple):
    """The trained parameters of I instances, updated in place.

    W : float64 (I, m, n); DT : float64 (I, m, n), the decoder transposed (``untied`` only;
    shape (I, 0, 0) otherwise, where the decoder is W^T); b : float64 (I, n).
    """

    W: np.ndarray
    DT: np.ndarray
    b: np.ndarray


class Moments(NamedTuple):
    """AdamW's first and second moments of ``Params``: W, DT : float64 (I, 2, m, n) (DT of
    shape (I, 2, 0, 0) unless ``untied``); b : float64 (I, 2, n)."""

    W: np.ndarray
    DT: np.ndarray
    b: np.ndarray


class StepRange(NamedTuple):
    """Training steps ``first .. first + count - 1``, of ``batch_size`` samples each."""

    first: int
    count: int
    batch_size: int


@njit(cache=True)
def _train_instance(model, inst, W, DT, b, moments_W, moments_DT, moments_b, imp_scale,
                    mode, presence_threshold, thinning_threshold, log_q, row_indptr,
                    row_indices, row_data, seed, first_step, n_steps, batch_size, lr,
                    weight_decay, beta1, beta2, eps, losses):
    untied = model == MODEL_UNTIED
    m = W.shape[1]
    n = W.shape[2]
    w = W[inst]
    dt = DT[inst] if untied else w
    gW = np.empty((m, n), dtype=np.float64)
    gDT = np.empty((m, n), dtype=np.float64)
    gb = np.empty(n, dtype=np.float64)
    X, counts, indptr, indices, values, MT, A = chunk_scratch(n, batch_size,
                                                              model != MODEL_HIDDEN_RELU)
    for t in range(n_steps):
        step = first_step + t
        state = stream_state(seed, DOMAIN_TOY_BATCH, step, 0)
        losses[inst, t] = batch_loss_grad(
            model, w, dt, b[inst], imp_scale[inst], mode[inst], presence_threshold[inst],
            thinning_threshold[inst], log_q[inst], row_indptr, row_indices, row_data, state,
            batch_size, True, gW, gDT, gb, X, counts, indptr, indices, values, MT, A)
        adamw_update(w.reshape(-1), gW.reshape(-1), moments_W[inst, 0].reshape(-1),
                     moments_W[inst, 1].reshape(-1), step + 1, lr, weight_decay, beta1, beta2,
                     eps)
        if untied:
            adamw_update(dt.reshape(-1), gDT.reshape(-1), moments_DT[inst, 0].reshape(-1),
                         moments_DT[inst, 1].reshape(-1), step + 1, lr, weight_decay, beta1,
                         beta2, eps)
        adamw_update(b[inst], gb, moments_b[inst, 0], moments_b[inst, 1], step + 1, lr,
                     weight_decay, beta1, beta2, eps)


@njit(cache=True, parallel=True)
def train_steps(model, lanes, params, moments, importance, source, model_seeds, steps,
                optimizer, losses):
    """Train every instance for the steps of ``steps`` (a ``StepRange``), in place.

    Parameters
    ----------
    model : int
        ``MODEL_*``.
    lanes : Lanes
        The instances of each thread.
    params : Params
        Weights and biases, updated in place.
    moments : Moments
        AdamW's moments, updated in place.
    importance : float64 (I, n)
        Feature importances (the training loss is sum_i I_i (x_i - x'_i)^2).
    source : data.FeatureSource
        What every instance samples its batches from.
    model_seeds : int64 (I,)
        Step t of instance r draws its batch from (model_seeds[r], DOMAIN_TOY_BATCH, t, 0).
    steps : StepRange
    optimizer : config.AdamW
    losses : float64 (I, steps.count)
        Receives each step's training loss.

    Grouping the arguments by role into named tuples means no two same-typed settings can be
    swapped by position.  They are unpacked before the parallel loop, whose body then sees
    plain arrays and scalars (as ``_train_instance`` takes them): the loop body compiles to
    the same code as with flat arguments.
    """
    lane_ptr, lane_order = lanes.ptr, lanes.order
    W, DT, b = params.W, params.DT, params.b
    moments_W, moments_DT, moments_b = moments.W, moments.DT, moments.b
    mode, presence_threshold, thinning_threshold = (source.mode, source.presence_threshold,
                                                    source.thinning_threshold)
    log_q, row_indptr, row_indices, row_data = (source.log_q, source.row_indptr,
                                                source.row_indices, source.row_data)
    first_step, n_steps, batch_size = steps.first, steps.count, steps.batch_size
    lr, weight_decay = optimizer.lr, optimizer.weight_decay
    beta1, beta2, eps = optimizer.beta1, optimizer.beta2, optimizer.eps
    for lane in prange(lane_ptr.shape[0] - 1):
        for t in range(lane_ptr[lane], lane_ptr[lane + 1]):
            inst = lane_order[t]
            _train_instance(model, inst, W, DT, b, moments_W, moments_DT, moments_b,
                            importance, mode, presence_threshold, thinning_threshold, log_q,
                            row_indptr, row_indices, row_data, model_seeds[inst], first_step,
                            n_steps, batch_size, lr, weight_decay, beta1, beta2, eps, losses)


@njit(cache=True, parallel=True)
def evaluate(model, lanes, params, importance, source, model_seeds, batch_size):
    """float64 (I,): each instance's mean loss on its held-out batch of ``batch_size`` samples,
    the stream (model_seeds[r], DOMAIN_TOY_EVAL, 0, 0); arguments as for ``train_steps``."""
    lane_ptr, lane_order = lanes.ptr, lanes.order
    W, DT, b = params.W, params.DT, params.b
    mode, presence_threshold, thinning_threshold = (source.mode, source.presence_threshold,
                                                    source.thinning_threshold)
    log_q, row_indptr, row_indices, row_data = (source.log_q, source.row_indptr,
                                                source.row_indices, source.row_data)
    result = np.empty(W.shape[0], dtype=np.float64)
    no_grad = np.empty((0, 0), dtype=np.float64)
    no_grad_b = np.empty(0, dtype=np.float64)
    for lane in prange(lane_ptr.shape[0] - 1):
        for t in range(lane_ptr[lane], lane_ptr[lane + 1]):
            inst = lane_order[t]
            dt = DT[inst] if model == MODEL_UNTIED else W[inst]
            state = stream_state(model_seeds[inst], DOMAIN_TOY_EVAL, 0, 0)
            X, counts, indptr, indices, values, MT, A = chunk_scratch(
                W.shape[2], batch_size, model != MODEL_HIDDEN_RELU)
            result[inst] = batch_loss_grad(
                model, W[inst], dt, b[inst], importance[inst], mode[inst],
                presence_threshold[inst], thinning_threshold[inst], log_q[inst], row_indptr,
                row_indices, row_data, state, batch_size, False, no_grad, no_grad, no_grad_b,
                X, counts, indptr, indices, values, MT, A)
    return result
