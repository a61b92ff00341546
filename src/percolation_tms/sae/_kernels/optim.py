"""The optimiser of the SAE kernels: PyTorch's Adam, the unit-norm constraint of the atoms,
and the clamp of JumpReLU thresholds, one owner per latent (or input coordinate)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from percolation_tms.sae._kernels.vector import dot


def adam_constants(lr, beta1, beta2, eps, step):
    """The float64 array (5,) ``adam`` of the update kernels for Adam step ``step`` (from 1):
    [lr / (1 - beta1^step), beta1, beta2, 1 / sqrt(1 - beta2^step), eps]."""
    return np.array([lr / (1.0 - beta1 ** step), beta1, beta2,
                     1.0 / math.sqrt(1.0 - beta2 ** step), eps])


@njit(cache=True, error_model="numpy")
def adam_slice(theta, grad, moment1, moment2, adam):
    """PyTorch's Adam on 1-d arrays: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
    theta -= lr m_hat / (sqrt(v_hat) + eps), bias corrections folded into ``adam``.

    Compiled with numpy's error model: the division then has no zero-divisor check (its
    divisor is at least eps > 0), so that the loop is vectorised (4x faster); the IEEE
    arithmetic, hence every bit, is the same."""
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
def decoder_bias_step(err, grads, scale, update, params, moment1, moment2, adam):
    """grads.b_dec[c] = scale * sum_r 2 err[r, 0, c] - (W_enc^T grads.b_enc)_c (b_dec enters
    every level's reconstruction and the encoder's input; err (B, L, d), its level 0 the sum
    of all levels' errors; W_enc before the step: call before :func:`latent_update`); with
    ``update``, then one Adam step of params.b_dec (``moment1``, ``moment2``
    Parameters-shaped; ``adam`` as in :func:`adam_constants`).  One owner per block of
    coordinates; every sum runs in a fixed order."""
    grad_b_dec, grad_b_enc, b_dec, enc = grads.b_dec, grads.b_enc, params.b_dec, params.enc
    m1, m2 = moment1.b_dec, moment2.b_dec
    d = enc.shape[1]
    block = 8  # coordinates per iteration: one cache line of each W_enc row
    for b in prange((d + block - 1) // block):
        lo, hi = b * block, min(d, (b + 1) * block)
        for c in range(lo, hi):
            grad_b_dec[c] = 0.0
        for j in range(enc.shape[0]):  # (W_enc^T grad_b_enc)_c, latents ascending
            g = grad_b_enc[j]
            for c in range(lo, hi):
                grad_b_dec[c] -= enc[j, c] * g
        for c in range(lo, hi):
            err_sum = 0.0
            for r in range(err.shape[0]):
                err_sum += err[r, 0, c]
            grad_b_dec[c] += 2.0 * scale * err_sum
            if update:
                adam_slice(b_dec[c:c + 1], grad_b_dec[c:c + 1], m1[c:c + 1], m2[c:c + 1],
                           adam)


@njit(parallel=True, cache=True)
def latent_update(params, grads, moment1, moment2, adam):
    """One Adam step of every latent's parameters, one owner per latent j: the atom's gradient
    loses its component along the atom (the unit-norm constraint), W_enc row, b_enc and atom
    take an Adam step, and the atom is renormalised.  All but ``adam`` are ``Parameters``."""
    enc, b_enc, atoms = params.enc, params.b_enc, params.atoms
    grad_enc, grad_b_enc, grad_atoms = grads.enc, grads.b_enc, grads.atoms
    m1_enc, m1_b_enc, m1_atoms = moment1.enc, moment1.b_enc, moment1.atoms
    m2_enc, m2_b_enc, m2_atoms = moment2.enc, moment2.b_enc, moment2.atoms
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


@njit(cache=True)
def threshold_update(theta, grad, moment1, moment2, adam):
    """One Adam step of the JumpReLU thresholds, then theta >= 0 (as SAELens clamps)."""
    adam_slice(theta, grad, moment1, moment2, adam)
    for j in range(theta.shape[0]):
        theta[j] = max(theta[j], 0.0)
