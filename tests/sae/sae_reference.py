"""Slow, obviously-correct numpy versions of the SAE stage's kernels, for the tests.

Written from the definitions in the docstrings (dense matrices, explicit loops), never from the
kernels' code.
"""

from __future__ import annotations

import numpy as np

from percolation_tms._rng import normals, uniforms


def activations(params, x, top_k=0):
    """Dense activations f (n, m): ReLU of the pre-activations, or TopK (larger value first,
    ties to the lower index) followed by ReLU."""
    enc, b_enc, _, b_dec = params
    pre = (x - b_dec) @ enc.T + b_enc
    if top_k == 0:
        return np.where(pre > 0, pre, 0.0)
    f = np.zeros_like(pre)
    for r in range(pre.shape[0]):
        chosen = sorted(range(pre.shape[1]), key=lambda j: (-pre[r, j], j))[:top_k]
        for j in chosen:
            f[r, j] = max(pre[r, j], 0.0)
    return f


def loss(params, x, top_k=0, l1=0.0):
    """Mean over points of |x_hat - x|^2 + l1 * sum(f)."""
    f = activations(params, x, top_k)
    err = f @ params[2] + params[3] - x
    return float(np.mean((err ** 2).sum(axis=1) + l1 * f.sum(axis=1)))


def gradients(params, x, top_k=0, l1=0.0):
    """(enc, b_enc, atoms, b_dec) gradients of ``loss`` by the chain rule, densely."""
    enc, _, atoms, b_dec = params
    n = x.shape[0]
    f = activations(params, x, top_k)
    err = f @ atoms + b_dec - x
    active = f > 0
    grad_pre = np.where(active, 2.0 * err @ atoms.T + l1, 0.0)
    grad_enc = grad_pre.T @ (x - b_dec) / n
    grad_b_enc = grad_pre.sum(axis=0) / n
    grad_atoms = 2.0 * f.T @ err / n
    grad_b_dec = 2.0 * err.sum(axis=0) / n - enc.T @ grad_b_enc
    return grad_enc, grad_b_enc, grad_atoms, grad_b_dec


def adam_step(params, grads, moment1, moment2, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One constrained Adam step, returning new (params, moment1, moment2) lists: the atoms'
    gradient loses its radial part, every parameter takes PyTorch's Adam step, atoms are
    renormalised."""
    grads = [g.copy() for g in grads]
    atoms = params[2]
    grads[2] = grads[2] - (grads[2] * atoms).sum(axis=1, keepdims=True) * atoms
    new_params, new_m1, new_m2 = [], [], []
    for p, g, m, v in zip(params, grads, moment1, moment2):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** step)
        v_hat = v / (1 - beta2 ** step)
        new_params.append(p - lr * m_hat / (np.sqrt(v_hat) + eps))
        new_m1.append(m)
        new_m2.append(v)
    new_params[2] = new_params[2] / np.linalg.norm(new_params[2], axis=1, keepdims=True)
    return new_params, new_m1, new_m2


def fisher_yates(n, seed, domain, epoch):
    """Fisher-Yates from the top, swap i with floor(u * (i + 1)), u the stream's uniforms."""
    order = list(range(n))
    u = uniforms(seed, domain, epoch, 0, max(n - 1, 0))
    for t, i in enumerate(range(n - 1, 0, -1)):
        j = int(u[t] * (i + 1))
        order[i], order[j] = order[j], order[i]
    return np.array(order)


def unit_gaussian_rows(seed, domain, a, n, d):
    rows = np.array([normals(seed, domain, a, j, d) for j in range(n)])
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def synthetic_sample(seed, domain, probability, dictionary, i):
    """(active features, coefficients, x) of sample i, drawn one uniform at a time."""
    u = iter(uniforms(seed, domain, 1, i, 2 * probability.size))
    features, coefficients = [], []
    for f, p in enumerate(probability):
        if next(u) < p:
            features.append(f)
            coefficients.append(1.0 - next(u))
    x = np.zeros(dictionary.shape[1])
    for f, c in zip(features, coefficients):
        x += c * dictionary[f]
    return features, coefficients, x


def best_matches(A, M):
    """For dense activations A (N, m) and membership M (N, L) bool: per feature, the latent of
    largest Pearson correlation (constant latent: 0; ties: lowest index) and that correlation
    (NaN for a constant feature), the F1 of (A > 0) of that latent, and the best F1."""
    n_latents, n_features = A.shape[1], M.shape[1]
    best, pearson, f1_of_best, f1_best = (np.zeros(n_features) for _ in range(4))
    for l in range(n_features):
        member = M[:, l].astype(float)
        r = np.zeros(n_latents)
        for j in range(n_latents):
            if A[:, j].std() > 0 and member.std() > 0:
                r[j] = np.corrcoef(A[:, j], member)[0, 1]
        f1 = np.array([2 * np.sum((A[:, j] > 0) & M[:, l]) / (np.sum(A[:, j] > 0) + M[:, l].sum())
                       for j in range(n_latents)])
        best[l] = np.argmax(r)
        pearson[l] = r[int(best[l])] if member.std() > 0 else np.nan
        f1_of_best[l] = f1[int(best[l])]
        f1_best[l] = f1.max()
    return best.astype(np.int64), pearson, f1_of_best, f1_best


# ---------------------------------------------------------------------------- new kinds
def preactivations(params, x):
    enc, b_enc, _, b_dec = params
    return (x - b_dec) @ enc.T + b_enc


def batch_top_k(pre, k):
    """BatchTopK codes: the floor(k B) largest positive entries of the batch (ties: lower
    row-major index), as a dense array."""
    n_keep = int(k * pre.shape[0])
    flat = [(-v, i) for i, v in enumerate(pre.ravel()) if v > 0]
    flat.sort()
    out = np.zeros(pre.size)
    for v, i in flat[:n_keep]:
        out[i] = -v
    return out.reshape(pre.shape)


def jumprelu_loss(params, x, theta, lam, c, penalty):
    """Loss of JumpReLU: |e|^2 + lam * S, S = #active (step) or sum tanh(c a) (tanh)."""
    z = preactivations(params, x)
    a = np.where(z > theta, z, 0.0)
    err = a @ params[2] + params[3] - x
    s = (a > 0).sum(axis=1) if penalty == "step" else np.tanh(c * a).sum(axis=1)
    return float(np.mean((err ** 2).sum(axis=1) + lam * s))


def matryoshka_loss(params, x, k, ends, codes=None):
    """sum over levels of mean |x - x_hat_i|^2, x_hat_i from latents < ends[i]; the codes are
    BatchTopK's (or ``codes`` given)."""
    a = batch_top_k(preactivations(params, x), k) if codes is None else codes
    total = 0.0
    for end in ends:
        err = a[:, :end] @ params[2][:end] + params[3] - x
        total += float(np.mean((err ** 2).sum(axis=1)))
    return total


def auxk_loss(params, x, residual, dead, k_aux, alpha):
    """AuxK: the min(k_aux, n_dead) dead latents of largest z per row reconstruct the frozen
    ``residual`` x - x_hat (n, d); alpha min(n_dead / k_aux, 1) mean |r - e_aux|^2."""
    z = preactivations(params, x)
    dead_idx = np.flatnonzero(dead)
    q = min(k_aux, dead_idx.size)
    total = 0.0
    for r in range(x.shape[0]):
        order = sorted(dead_idx, key=lambda j: (-z[r, j], j))[:q]
        e_aux = sum(z[r, j] * params[2][j] for j in order)
        total += float(((residual[r] - e_aux) ** 2).sum())
    return alpha * min(dead_idx.size / k_aux, 1.0) * total / x.shape[0]


def saelens_encode(cfg, tensors, x):
    """SAELens 6.54's encode formulas (saes/sae.py, standard_sae.py, topk_sae.py,
    jumprelu_sae.py) in numpy, dense."""
    W_enc, b_enc, W_dec, b_dec = (tensors[k].astype(np.float64)
                                  for k in ("W_enc", "b_enc", "W_dec", "b_dec"))
    sae_in = x - b_dec * cfg.get("apply_b_dec_to_input", True)
    z = sae_in @ W_enc + b_enc
    arch = cfg["architecture"]
    if arch == "standard":
        return np.maximum(z, 0.0)
    if arch == "jumprelu":
        return np.maximum(z, 0.0) * (z > tensors["threshold"].astype(np.float64))
    if cfg.get("rescale_acts_by_decoder_norm"):
        z = z * np.linalg.norm(W_dec, axis=1)
    out = np.zeros_like(z)
    for r in range(z.shape[0]):
        top = np.argsort(-z[r], kind="stable")[:cfg["k"]]
        out[r, top] = np.maximum(z[r, top], 0.0)
    return out
