"""Permutation-symmetric sparse data (specification section 1): x_i = B_i U_i, B_i ~
Bernoulli(p), U_i ~ U[0, 1), drawn as sparse rows on the project's keyed streams."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from percolation_tms.persianrug import _kernels
from percolation_tms.persianrug._kernels import (
    PURPOSE_EVAL,
    PURPOSE_FIT,
    PURPOSE_KS,
    PURPOSE_RUG_ADAM,
    PURPOSE_TRAIN,
)

__all__ = [
    "PURPOSE_EVAL",
    "PURPOSE_FIT",
    "PURPOSE_KS",
    "PURPOSE_RUG_ADAM",
    "PURPOSE_TRAIN",
    "SparseBatch",
    "row_capacity",
    "sample_batch",
]


class SparseBatch(NamedTuple):
    """A padded sparse batch of B samples of n features.

    indices : int32 (B, cap) -- active features of each row, increasing, in ``[:counts[r]]``.
    values : float32 or float64 (B, cap) -- their values in [0, 1).
    counts : int32 (B,).
    n : int -- features per sample.
    """

    indices: np.ndarray
    values: np.ndarray
    counts: np.ndarray
    n: int

    def dense(self) -> np.ndarray:
        """The batch as a dense (B, n) array of the values' dtype."""
        out = np.zeros((self.indices.shape[0], self.n), dtype=self.values.dtype)
        _kernels.densify(self.indices, self.values, self.counts, out)
        return out


def row_capacity(n: int, p: float) -> int:
    """Slots per row: the mean p n plus 8 standard deviations (a row overflows with
    probability below 1e-15; then the batch is drawn again with twice the room)."""
    mean = n * p
    return int(min(n, math.ceil(mean + 8.0 * math.sqrt(mean * (1 - p) + 1.0) + 8)))


def sample_batch(seed: int, purpose: int, index: int, first_row: int, rows: int, n: int,
                 p: float, dtype=np.float32, out: SparseBatch | None = None) -> SparseBatch:
    """Rows ``first_row .. first_row + rows - 1`` of the data stream (seed, purpose, index).

    ``out`` (a batch of at least ``rows`` rows, same n) is reused when given.  The numbers
    depend only on (seed, purpose, index, row number), not on ``rows``, the chunking or the
    thread count.
    """
    cap = row_capacity(n, p)
    if out is not None and out.indices.shape[0] >= rows and out.indices.shape[1] >= cap \
            and out.values.dtype == np.dtype(dtype):
        batch = SparseBatch(out.indices[:rows], out.values[:rows], out.counts[:rows], n)
    else:
        batch = SparseBatch(np.zeros((rows, cap), dtype=np.int32),
                            np.zeros((rows, cap), dtype=dtype),
                            np.empty(rows, dtype=np.int32), n)
    while _kernels.sample_rows(seed, purpose, index, first_row, n, float(p), batch.indices,
                               batch.values, batch.counts):
        cap = min(n, 2 * batch.indices.shape[1])
        batch = SparseBatch(np.zeros((rows, cap), dtype=np.int32),
                            np.zeros((rows, cap), dtype=dtype),
                            np.empty(rows, dtype=np.int32), n)
    return batch
