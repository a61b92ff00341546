"""Numba kernels of the basin stage: log-space special functions, ray directions, the bootstrap,
the toy-model costs (many parameter vectors at once) and full-batch SGLD chains.

Arrays and scalars in, arrays out; ``volume.py``, ``llc.py`` and ``toy.py`` validate and convert.

Random streams (``_rng``):

* ray i of a volume estimate with seed s: the normals of (s, DOMAIN_BASIN_DIRECTION, i, 0);
* bootstrap resample r: ``next_below`` draws of (s, DOMAIN_BASIN_DIRECTION, r, 1);
* evaluation set of a toy instance with model seed s: (s, DOMAIN_BASIN_EVAL, 0, 0), entry
  (sample r, feature i) is draw r*n + i, upper 32 bits presence (u < floor(p_i 2**32)), lower
  32 bits the value v / 2**32 (the toy stage's derivation, on its own domain);
* SGLD chain c with seed s: the normals of (s, DOMAIN_BASIN_SGLD, c, 0), D per step in order.

Parameter layout of a toy instance (``toy.flatten``): W (m, n) in C order, then b (n,), then for
``untied`` W_dec (n, m) in C order; D = m n + n (+ n m).

Only the volume's cost kernel (``toy_cost_dense_many``) is compiled with fastmath (sums
reassociated so that the dot products over n vectorise: about 10x faster at n = 20, m = 5); its
Delta(theta) is still exactly 0, because the offset C(theta) comes from the same kernel.  The
SGLD chains of the toy fast path must agree bit for bit with the generic Python loop that calls
``toy_loss_grad``, so that one keeps IEEE order.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from percolation_tms._rng import (
    DOMAIN_BASIN_DIRECTION,
    DOMAIN_BASIN_EVAL,
    DOMAIN_BASIN_SGLD,
    HIGH_SHIFT,
    LOW_MASK,
    LOW_SCALE,
    fill_unit_normal,
    next_below,
    next_normal,
    next_u64,
    stream_state,
)
from percolation_tms.toymodels._kernels import (  # the toy model kinds: one home
    MODEL_HIDDEN_RELU,
    MODEL_LINEAR,
    MODEL_UNTIED,
)

_FASTMATH = {"reassoc", "contract"}
_LOG_SQRT_PI = 0.5 * math.log(math.pi)


# ------------------------------------------------------------------------------ special functions
@njit(cache=True)
def log_gamma_p(a, x):
    """ln P(a, x), the regularised lower incomplete gamma function, in log space.

    Series ln P = a ln x - x - lnGamma(a+1) + ln sum_k x^k / ((a+1)...(a+k)) for x < a + 1,
    else ln(1 - Q) with Q by Lentz's continued fraction (both as in Numerical Recipes 6.2, but
    never leaving log space, so P(5000, 0.1) ~ e^-38000 is representable).
    """
    if x <= 0.0:
        return -np.inf
    if x == np.inf:
        return 0.0
    if x < a + 1.0:
        term = 1.0
        total = 1.0
        k = 1.0
        while True:
            term *= x / (a + k)
            total += term
            if term < total * 1e-17:
                break
            k += 1.0
        return a * math.log(x) - x - math.lgamma(a + 1.0) + math.log(total)
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    i = 1.0
    while i < 1e6:
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
        i += 1.0
    log_q = a * math.log(x) - x - math.lgamma(a) + math.log(h)
    return math.log1p(-math.exp(log_q))


@njit(cache=True)
def _log_erfc(z):
    """ln erfc(z) for any real z (asymptotic series beyond z = 10, where erfc underflows soon)."""
    if z < 10.0:
        return math.log(math.erfc(z))
    z2 = z * z
    series = 1.0 - 0.5 / z2 + 0.75 / (z2 * z2) - 1.875 / (z2 * z2 * z2)
    return -z2 - math.log(z) - _LOG_SQRT_PI + math.log(series)


@njit(cache=True)
def _log_add(a, b):
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    hi = max(a, b)
    return hi + math.log1p(math.exp(min(a, b) - hi))


@njit(cache=True)
def _radial_exponent(r, dim, sigma, b):
    """f(r) = -r^2/(2 sigma^2) + b r + (D - 1) ln r."""
    value = -r * r / (2.0 * sigma * sigma) + b * r
    if dim > 1:
        value += (dim - 1) * math.log(r)
    return value


@njit(cache=True)
def _radial_peak(dim, sigma, b, radius):
    """(m, A, f'(m)): m = min(r*, R), A = 1/sigma^2 + (D-1)/m^2, the slope f'(m) >= 0."""
    s2 = sigma * sigma
    r_star = 0.5 * s2 * (b + math.sqrt(b * b + 4.0 * (dim - 1) / s2))
    m = min(r_star, radius)
    if m <= 0.0:
        return 0.0, 1.0 / s2, max(b, 0.0)
    curvature = 1.0 / s2 + ((dim - 1) / (m * m) if dim > 1 else 0.0)
    slope = -m / s2 + b + ((dim - 1) / m if dim > 1 else 0.0)
    return m, curvature, max(slope, 0.0)


@njit(cache=True)
def log_radial_quadrature(dim, sigma, b, radius, nodes, weights, n_panels):
    """ln of the integral over [0, R] of r^(D-1) exp(-r^2/(2 sigma^2) + b r), by composite
    Gauss-Legendre quadrature (``nodes``, ``weights`` on [-1, 1]) of exp(f - f(m)) on
    [m - w_lo, m] and [m, min(R, m + 50 sigma)], w_lo = min(m, 50 / max(sqrt(A), f'(m))):
    the spec's reference interval, split at the peak so that both sides get n_panels panels
    (a peak at R with a steep slope is then resolved too)."""
    m, curvature, slope = _radial_peak(dim, sigma, b, radius)
    lower = max(0.0, m - 50.0 / max(math.sqrt(curvature), slope))
    upper = min(radius, m + 50.0 * sigma)
    f_m = _radial_exponent(m, dim, sigma, b) if m > 0.0 else 0.0
    total = 0.0
    for side in range(2):
        a0 = lower if side == 0 else m
        a1 = m if side == 0 else upper
        if a1 <= a0:
            continue
        width = (a1 - a0) / n_panels
        for panel in range(n_panels):
            left = a0 + panel * width
            for k in range(nodes.shape[0]):
                r = left + 0.5 * width * (nodes[k] + 1.0)
                if r <= 0.0:
                    continue
                total += 0.5 * width * weights[k] * math.exp(
                    _radial_exponent(r, dim, sigma, b) - f_m)
    if total <= 0.0:
        return -np.inf
    return f_m + math.log(total)


@njit(cache=True)
def log_radial_fast(dim, sigma, b, radius):
    """The same integral by tyche's fast path: f expanded to second order at m and integrated on
    [0, R] in closed form with log-erfc (meant for D >= 1000, where it is within 1e-4 nats)."""
    m, curvature, slope = _radial_peak(dim, sigma, b, radius)
    f_m = _radial_exponent(m, dim, sigma, b)
    half_a = 0.5 * curvature
    root = math.sqrt(half_a)
    log_scale = 0.5 * math.log(math.pi / (2.0 * curvature))
    if m < radius:  # interior peak, f'(m) = 0: Gaussian on [0, R]
        u = root * (radius - m)
        v = root * m
        return f_m + log_scale + math.log(math.erf(u) + math.erf(v))
    # peak at R with slope g: exp(g t - A t^2 / 2) on t in [-R, 0]
    z0 = slope / math.sqrt(2.0 * curvature)
    z1 = root * (radius + slope / curvature)
    lead = _log_erfc(z0)
    tail = _log_erfc(z1)
    return (f_m + slope * slope / (2.0 * curvature) + log_scale + lead
            + math.log1p(-math.exp(tail - lead)))


@njit(cache=True, parallel=True)
def log_radial_many(dim, sigma, b, radius, nodes, weights, n_panels, fast):
    """float64 (k,): ``log_radial_quadrature`` (or ``log_radial_fast``) of each (b, R)."""
    out = np.empty(b.shape[0], dtype=np.float64)
    for i in prange(b.shape[0]):
        if fast:
            out[i] = log_radial_fast(dim, sigma, b[i], radius[i])
        else:
            out[i] = log_radial_quadrature(dim, sigma, b[i], radius[i], nodes, weights,
                                           n_panels)
    return out


@njit(cache=True)
def log_gamma_p_many(a, x):
    out = np.empty(x.shape[0], dtype=np.float64)
    for i in range(x.shape[0]):
        out[i] = log_gamma_p(a, x[i])
    return out


# ------------------------------------------------------------------------------ random draws
@njit(cache=True, parallel=True)
def ray_directions(seed, first, count, dim):
    """float64 (count, dim): unit vectors d = g / ||g||, g the normals of stream
    (seed, DOMAIN_BASIN_DIRECTION, first + i, 0)."""
    out = np.empty((count, dim), dtype=np.float64)
    for i in prange(count):
        fill_unit_normal(stream_state(seed, DOMAIN_BASIN_DIRECTION, first + i, 0), out[i])
    return out


@njit(cache=True, parallel=True)
def bootstrap_log_mean_exp(estimates, seed, n_resamples):
    """float64 (n_resamples,): log-mean-exp of each resample with replacement of the
    estimates; resample r draws indices from (seed, DOMAIN_BASIN_DIRECTION, r, 1)."""
    n = estimates.shape[0]
    top = estimates.max()
    out = np.empty(n_resamples, dtype=np.float64)
    for r in prange(n_resamples):
        state = stream_state(seed, DOMAIN_BASIN_DIRECTION, r, 1)
        total = 0.0
        for _ in range(n):
            k, state = next_below(state, n)
            total += math.exp(estimates[k] - top)
        out[r] = top + math.log(total / n)
    return out


@njit(cache=True)
def draw_eval_set(seed, probability, n_samples):
    """float64 (n_samples, n): the evaluation set of a toy instance (stream
    (seed, DOMAIN_BASIN_EVAL, 0, 0)); feature i present with probability p_i, then uniform."""
    n = probability.shape[0]
    threshold = np.empty(n, dtype=np.uint64)
    for i in range(n):
        threshold[i] = np.uint64(min(math.floor(probability[i] * 4294967296.0), 4294967296.0))
    state = stream_state(seed, DOMAIN_BASIN_EVAL, 0, 0)
    out = np.zeros((n_samples, n), dtype=np.float64)
    for r in range(n_samples):
        for i in range(n):
            bits, state = next_u64(state)
            if (bits >> HIGH_SHIFT) < threshold[i]:
                out[r, i] = np.float64(np.int64(bits & LOW_MASK)) * LOW_SCALE
    return out


# ------------------------------------------------------------------------------ toy models
@njit(cache=True, inline="always")
def _add_decoded(model, n, m, w, h, out):
    """out += W_dec h: W^T h (tied, linear, hidden_relu) or the untied decoder's rows.
    Inlined, so it takes its caller's fastmath flags."""
    if model == MODEL_UNTIED:
        dec = m * n + n
        for i in range(n):
            acc = out[i]
            for q in range(m):
                acc += w[dec + i * m + q] * h[q]
            out[i] = acc
    else:
        for q in range(m):
            hq = h[q]
            for i in range(n):
                out[i] += w[q * n + i] * hq


@njit(cache=True, inline="always")
def _forward_row(model, n, m, w, indices, values, start, stop, h, out):
    """out = f_w(x) for the sparse row x (entries start..stop), hidden activations in h."""
    linear = model == MODEL_LINEAR
    for q in range(m):
        acc = 0.0
        for e in range(start, stop):
            acc += w[q * n + indices[e]] * values[e]
        h[q] = max(acc, 0.0) if model == MODEL_HIDDEN_RELU else acc
    bias = m * n
    for i in range(n):
        out[i] = w[bias + i]
    _add_decoded(model, n, m, w, h, out)
    if not linear:
        for i in range(n):
            out[i] = max(out[i], 0.0)


@njit(cache=True, inline="always")
def _uses_m_path(model, m, nnz):
    """Rows with few present entries go through M = W_dec W (n, n): 2 nnz n multiply-adds
    against about 3 m n by the hidden layer (3.5x fewer at S = 0.9, n = 20, m = 5).  Not for
    hidden_relu, whose ReLU sits between W and W_dec."""
    return model != MODEL_HIDDEN_RELU and 2 * nnz < 3 * m


@njit(cache=True)
def _form_mt(model, n, m, w, MT):
    """MT (n, n): MT[j, i] = M[i, j] = sum_q W_dec[i, q] W[q, j]."""
    dec = m * n + n
    for j in range(n):
        for i in range(n):
            MT[j, i] = 0.0
        for q in range(m):
            wqj = w[q * n + j]
            if model == MODEL_UNTIED:
                for i in range(n):
                    MT[j, i] += w[dec + i * m + q] * wqj
            else:
                for i in range(n):
                    MT[j, i] += w[q * n + i] * wqj


@njit(cache=True)
def toy_loss_grad(model, n, m, w, indptr, indices, values, row_weight, target, importance,
                  with_grad, grad):
    """C(w) = sum_r row_weight_r sum_i I_i (f_w(x_r)_i - target_ri)^2 / (sum_r row_weight_r n)
    for the rows x_r (CSR: indptr, indices, values) and, with ``with_grad``, its gradient
    into grad (D,) (overwritten).  target (rows, n): x itself (the training loss) or
    f_theta(x) (the output distance).  Rows with few present entries take the M path
    (``_uses_m_path``), whose gradient A[j, i] = dC/dM[i, j] is folded into W and W_dec once."""
    rows = indptr.shape[0] - 1
    h = np.empty(m, dtype=np.float64)
    out = np.empty(n, dtype=np.float64)
    g = np.empty(n, dtype=np.float64)
    dh = np.empty(m, dtype=np.float64)
    total_weight = 0.0
    any_m = False
    for r in range(rows):
        total_weight += row_weight[r]
        any_m = any_m or _uses_m_path(model, m, indptr[r + 1] - indptr[r])
    norm = 1.0 / (total_weight * n)
    if with_grad:
        grad[:] = 0.0
    bias = m * n
    dec = m * n + n
    side = n if any_m else 0
    MT = np.empty((side, side), dtype=np.float64)
    A = np.zeros((side, side), dtype=np.float64)
    if any_m:
        _form_mt(model, n, m, w, MT)
    loss = 0.0
    for r in range(rows):
        start, stop = indptr[r], indptr[r + 1]
        m_path = _uses_m_path(model, m, stop - start)
        if m_path:
            for i in range(n):
                out[i] = w[bias + i]
            for e in range(start, stop):
                v = values[e]
                row = MT[indices[e]]
                for i in range(n):
                    out[i] += v * row[i]
            if model != MODEL_LINEAR:
                for i in range(n):
                    out[i] = max(out[i], 0.0)
        else:
            _forward_row(model, n, m, w, indices, values, start, stop, h, out)
        weight = row_weight[r]
        row_loss = 0.0
        for i in range(n):
            res = out[i] - target[r, i]
            row_loss += importance[i] * res * res
            active = model == MODEL_LINEAR or out[i] > 0.0
            g[i] = 2.0 * norm * weight * importance[i] * res if active else 0.0
        loss += weight * row_loss
        if not with_grad:
            continue
        for i in range(n):
            grad[bias + i] += g[i]
        if m_path:
            for e in range(start, stop):
                v = values[e]
                acc = A[indices[e]]
                for i in range(n):
                    acc[i] += v * g[i]
            continue
        # decoder side and back through it
        if model == MODEL_UNTIED:
            for q in range(m):
                dh[q] = 0.0
            for i in range(n):
                gi = g[i]
                for q in range(m):
                    grad[dec + i * m + q] += gi * h[q]
                    dh[q] += w[dec + i * m + q] * gi
        else:
            for q in range(m):
                hq = h[q]
                acc = 0.0
                for i in range(n):
                    grad[q * n + i] += g[i] * hq
                    acc += w[q * n + i] * g[i]
                dh[q] = acc
        for q in range(m):
            if model == MODEL_HIDDEN_RELU and h[q] <= 0.0:
                continue
            dq = dh[q]
            for e in range(start, stop):
                grad[q * n + indices[e]] += dq * values[e]
    if with_grad and any_m:
        # M[i, j] = sum_q W_dec[i, q] W[q, j]: dW[q, j] += sum_i W_dec[i, q] A[j, i],
        # dW_dec[i, q] += sum_j A[j, i] W[q, j] (into W[q, i] when W_dec = W^T)
        for q in range(m):
            for j in range(n):
                acc = 0.0
                for i in range(n):
                    d = w[dec + i * m + q] if model == MODEL_UNTIED else w[q * n + i]
                    acc += d * A[j, i]
                grad[q * n + j] += acc
            for i in range(n):
                acc = 0.0
                for j in range(n):
                    acc += A[j, i] * w[q * n + j]
                if model == MODEL_UNTIED:
                    grad[dec + i * m + q] += acc
                else:
                    grad[q * n + i] += acc
    return loss * norm


@njit(cache=True, parallel=True)
def toy_cost_many(model, n, m, params, indptr, indices, values, row_weight, target,
                  importance, offset):
    """float64 (k,): ``toy_loss_grad`` without gradient for each row of params (k, D), minus
    ``offset``; one parameter vector per thread iteration."""
    k = params.shape[0]
    out = np.empty(k, dtype=np.float64)
    empty = np.empty(0, dtype=np.float64)
    for p in prange(k):
        out[p] = toy_loss_grad(model, n, m, params[p], indptr, indices, values, row_weight,
                               target, importance, False, empty) - offset
    return out


@njit(cache=True)
def toy_outputs(model, n, m, w, indptr, indices, values):
    """float64 (rows, n): f_w(x_r) for every CSR row."""
    rows = indptr.shape[0] - 1
    h = np.empty(m, dtype=np.float64)
    out = np.empty((rows, n), dtype=np.float64)
    for r in range(rows):
        _forward_row(model, n, m, w, indices, values, indptr[r], indptr[r + 1], h, out[r])
    return out


@njit(cache=True)
def _sgld_chain(model, n, m, anchor, indptr, indices, values, row_weight, target, importance,
                nbeta, localization, step_size, n_burnin, n_draws, draw_every, seed, chain,
                draws):
    dim = anchor.shape[0]
    w = anchor.copy()
    grad = np.empty(dim, dtype=np.float64)
    noise = np.empty(dim, dtype=np.float64)
    state = stream_state(seed, DOMAIN_BASIN_SGLD, chain, 0)
    half = 0.5 * step_size
    root = math.sqrt(step_size)
    total = n_burnin + n_draws * draw_every
    for t in range(total):
        loss = toy_loss_grad(model, n, m, w, indptr, indices, values, row_weight, target,
                             importance, True, grad)
        if t >= n_burnin and (t - n_burnin) % draw_every == 0:
            draws[(t - n_burnin) // draw_every] = loss
        for j in range(dim):
            g, state = next_normal(state)
            noise[j] = g
        for j in range(dim):
            w[j] = w[j] - half * (nbeta * grad[j] + localization * (w[j] - anchor[j])) \
                + root * noise[j]


@njit(cache=True, parallel=True)
def sgld_toy_chains(model, n, m, anchor, indptr, indices, values, row_weight, target,
                    importance, nbeta, localization, step_size, n_burnin, n_draws, draw_every,
                    seed, n_chains):
    """float64 (n_chains, n_draws): full-batch SGLD draw losses of a toy cost, chains in
    parallel.  Step (devinterp's SGLD): w <- w - (eps/2)(n beta grad + gamma (w - w*))
    + sqrt(eps) xi, the loss recorded at the pre-update weights every ``draw_every`` steps
    after ``n_burnin``; xi from stream (seed, DOMAIN_BASIN_SGLD, chain, 0)."""
    draws = np.empty((n_chains, n_draws), dtype=np.float64)
    for c in prange(n_chains):
        _sgld_chain(model, n, m, anchor, indptr, indices, values, row_weight, target,
                    importance, nbeta, localization, step_size, n_burnin, n_draws, draw_every,
                    seed, c, draws[c])
    return draws


@njit(cache=True, fastmath=_FASTMATH)
def _dense_cost(model, n, m, w, indptr, indices, values, row_weight, target, importance, h,
                out, MT):
    """The cost of one parameter vector: rows with few present entries by M = W_dec W (MT,
    formed here when any row needs it), the others by the hidden layer computed from the
    present entries only."""
    linear = model == MODEL_LINEAR
    bias = m * n
    rows = indptr.shape[0] - 1
    any_m = False
    for r in range(rows):
        any_m = any_m or _uses_m_path(model, m, indptr[r + 1] - indptr[r])
    if any_m:
        _form_mt(model, n, m, w, MT)
    total = 0.0
    weight_sum = 0.0
    for r in range(rows):
        start, stop = indptr[r], indptr[r + 1]
        for i in range(n):
            out[i] = w[bias + i]
        if _uses_m_path(model, m, stop - start):
            for e in range(start, stop):
                v = values[e]
                row = MT[indices[e]]
                for i in range(n):
                    out[i] += v * row[i]
        else:
            for q in range(m):
                h[q] = 0.0
            for e in range(start, stop):
                j = indices[e]
                v = values[e]
                for q in range(m):
                    h[q] += w[q * n + j] * v
            if model == MODEL_HIDDEN_RELU:
                for q in range(m):
                    h[q] = max(h[q], 0.0)
            _add_decoded(model, n, m, w, h, out)
        row_loss = 0.0
        for i in range(n):
            o = out[i] if linear else max(out[i], 0.0)
            res = o - target[r, i]
            row_loss += importance[i] * res * res
        total += row_weight[r] * row_loss
        weight_sum += row_weight[r]
    return total / (weight_sum * n)


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def toy_cost_dense_many(model, n, m, params, indptr, indices, values, row_weight, target,
                        importance, offset):
    """float64 (k,): C(w) - offset for each row of params (k, D) on the CSR rows of the
    evaluation set; the volume's cost (see the module docstring on fastmath)."""
    k = params.shape[0]
    out = np.empty(k, dtype=np.float64)
    for p in prange(k):
        h = np.empty(m, dtype=np.float64)
        o = np.empty(n, dtype=np.float64)
        MT = np.empty((n, n), dtype=np.float64)
        out[p] = _dense_cost(model, n, m, params[p], indptr, indices, values, row_weight,
                             target, importance, h, o, MT) - offset
    return out
