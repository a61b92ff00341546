"""The small typed tuples the SAE kernels take instead of long argument lists.

numba compiles a ``NamedTuple`` of arrays and scalars into a struct, so a kernel reads
``params.atoms`` or ``rule.top_k`` at no cost, and two same-typed fields can no longer be
swapped silently by reordering positional arguments.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# How the active latents of a row are chosen (``ActivationRule.mode``).
MODE_RELU = 0  # every latent with z > 0
MODE_TOPK = 1  # the top_k largest z, then > 0
MODE_THRESHOLD = 2  # every latent with z_j > threshold_j (JumpReLU; BatchTopK at inference)
MODE_GIVEN = 3  # the active sets are already in ``act_index`` / ``n_active`` (BatchTopK)

# The sparsity penalty added to the loss (``ActivationRule.penalty``).
PENALTY_NONE = 0  # relu's L1 term, if any, is ``l1``
PENALTY_STEP = 1  # lambda * number of active latents (JumpReLU, straight-through)
PENALTY_TANH = 2  # lambda * sum_j tanh(c a_j) (JumpReLU as SynthSAEBench trains it)


class Parameters(NamedTuple):
    """Weights, one row per latent: enc (m, d) = W_enc; b_enc (m,); atoms (m, d) = W_dec^T
    (the unit-norm dictionary atoms); b_dec (d,).  Also the layout of their gradients and of
    Adam's moments.  All float64, C-contiguous."""

    enc: np.ndarray
    b_enc: np.ndarray
    atoms: np.ndarray
    b_dec: np.ndarray


class ActivationRule(NamedTuple):
    """How pre-activations z become activations a, and the sparsity penalty.

    mode : one of ``MODE_*``.
    top_k : k of ``MODE_TOPK`` (0 otherwise).
    l1 : L1 coefficient (relu; 0 otherwise).
    threshold : float64 (m,) theta_j of ``MODE_THRESHOLD`` (zeros otherwise).
    penalty : one of ``PENALTY_*`` (JumpReLU's L0 penalty).
    coefficient : lambda of the JumpReLU penalty.
    tanh_scale : c of ``PENALTY_TANH``.
    bandwidth : epsilon of the straight-through estimator; a threshold gradient is computed
        when > 0 (JumpReLU training) and the pass is differentiated.
    """

    mode: int
    top_k: int
    l1: float
    threshold: np.ndarray
    penalty: int
    coefficient: float
    tanh_scale: float
    bandwidth: float


class Levels(NamedTuple):
    """Nested reconstruction levels (Matryoshka): level i decodes latents j < end[i].

    end : int64 (L,) increasing, end[-1] = m; one level (end = [m]) for every other kind.
    latent_level : int64 (m,) the group of each latent: the first level that uses it.
    """

    end: np.ndarray
    latent_level: np.ndarray


class Scratch(NamedTuple):
    """Per-row buffers of one forward/backward pass over B rows (m latents, d inputs, L levels).

    xc (B, d) x - b_dec; pre (B, m) pre-activations z; act_index (B, m) int64 the active
    latents of a row (ascending), n_active (B,) int64 how many; act_value (B, m) their
    activations; act_grad (B, m) dloss_r/dz_rj of those entries; err (B, L, d) the error each
    group's gradient sees, sum_{i >= g} e_i (e = reconstruction - x); level_err (B, L, d) the
    error e_i of every level (the same array as ``err`` when L = 1); sq_err (B,) |e_L|^2 of the
    full reconstruction; l1_norm (B,) sum of activations; extra (B,) the loss beyond
    sq_err + l1 * l1_norm (other levels' errors, the JumpReLU penalty); theta_rows (B, m)
    dloss_r/dtheta_j of JumpReLU with ``ste_to_input`` ((1, 1) otherwise).
    """

    xc: np.ndarray
    pre: np.ndarray
    act_index: np.ndarray
    act_value: np.ndarray
    act_grad: np.ndarray
    n_active: np.ndarray
    err: np.ndarray
    level_err: np.ndarray
    sq_err: np.ndarray
    l1_norm: np.ndarray
    extra: np.ndarray
    theta_rows: np.ndarray


class Entries(NamedTuple):
    """A latent-major index of a batch's entries (counting-sort transpose): the entries of
    latent j are (entry_row, entry_slot)[offsets[j]:offsets[j + 1]], batch rows ascending.
    offsets (m + 1,), entry_row and entry_slot (B m,), all int64."""

    offsets: np.ndarray
    entry_row: np.ndarray
    entry_slot: np.ndarray


class BatchWork(NamedTuple):
    """Scratch of :func:`model.batch_top_k` over B rows and m latents: kth (B,) each row's
    k-th largest value; counts (B,) int64, values (B, m) and columns (B, m) int64 each row's
    candidates.  ``batch_work`` allocates one."""

    kth: np.ndarray
    counts: np.ndarray
    values: np.ndarray
    columns: np.ndarray


def batch_work(n_rows: int, n_latents: int) -> BatchWork:
    return BatchWork(np.empty(n_rows), np.empty(n_rows, dtype=np.int64),
                     np.empty((n_rows, n_latents)), np.empty((n_rows, n_latents), dtype=np.int64))
