"""Numba kernels of the sparse-autoencoder stage: arrays, scalars and small typed tuples in,
arrays out, ``@njit(cache=True)``.  One module per concern:

``tuples``     the typed tuples kernels take (parameters, activation rule, levels, scratch);
``vector``     the shared vectorised dot product;
``model``      forward pass: pre-activations, active sets (ReLU, TopK, thresholds, BatchTopK),
               decoding at every Matryoshka level, dloss/dz (and JumpReLU's per-row
               threshold gradients for ``ste_to_input``), the AuxK pass, CSR assembly;
``gradients``  backward pass: per-latent gradients, JumpReLU threshold gradients;
``optim``      Adam, the unit-norm atoms, the threshold clamp;
``data``       minibatch shuffles, random unit rows, flat known-dictionary samples;
``hierarchy``  samples of a known hierarchical dictionary;
``score``      best-matching latents of ground-truth features, closest atoms.

Determinism: every parallel loop writes outputs that only its own iteration computes (a batch
row, a latent, an input coordinate, a feature), and every sum inside an iteration runs in a
fixed order, so results do not depend on the number of threads.
"""

from percolation_tms.sae._kernels.data import (
    shuffled_order,
    synthetic_counts,
    synthetic_fill,
    unit_gaussian_rows,
)
from percolation_tms.sae._kernels.gradients import (
    latent_gradients,
    latent_major,
    threshold_gradients,
)
from percolation_tms.sae._kernels.model import (
    aux_rows,
    batch_top_k,
    compact_rows,
    forward_rows,
    preactivations,
    select_top,
    select_top_k,
    ste_rows,
    threshold_gradient_rows,
)
from percolation_tms.sae._kernels.optim import (
    adam_constants,
    adam_slice,
    decoder_bias_step,
    latent_update,
    threshold_update,
)
from percolation_tms.sae._kernels.score import absorption_rows, best_latent_matches, max_cosine
from percolation_tms.sae._kernels.tuples import (
    ActivationRule,
    BatchWork,
    Entries,
    Levels,
    Parameters,
    Scratch,
    batch_work,
)
from percolation_tms.sae._kernels.vector import dot

__all__ = [
    "ActivationRule",
    "BatchWork",
    "Entries",
    "Levels",
    "Parameters",
    "Scratch",
    "absorption_rows",
    "adam_constants",
    "adam_slice",
    "aux_rows",
    "batch_top_k",
    "batch_work",
    "best_latent_matches",
    "compact_rows",
    "decoder_bias_step",
    "dot",
    "forward_rows",
    "latent_gradients",
    "latent_major",
    "latent_update",
    "max_cosine",
    "preactivations",
    "select_top",
    "select_top_k",
    "shuffled_order",
    "ste_rows",
    "synthetic_counts",
    "synthetic_fill",
    "threshold_gradient_rows",
    "threshold_gradients",
    "threshold_update",
    "unit_gaussian_rows",
]
