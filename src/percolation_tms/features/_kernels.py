"""Numba kernels of the feature stage: each point's latent ancestors as CSR rows."""

from __future__ import annotations

from numba import njit, prange


@njit(cache=True, parallel=True)
def count_kept_ancestors(latent_parent, n_points, n_features, counts):
    """counts[p] = number of latent ancestors of point p whose column is < n_features."""
    for p in prange(n_points):
        count = 0
        node = latent_parent[p]
        while node >= 0:
            if node - n_points < n_features:
                count += 1
            node = latent_parent[node]
        counts[p] = count


@njit(cache=True, parallel=True)
def fill_rows(latent_parent, n_points, n_features, indptr, latent_value, binary, indices, data):
    """Write every point's kept ancestors into its CSR row, columns ascending.

    Walking up from a point meets columns in decreasing order (a parent's column is smaller
    than its child's), so the row is filled from its end backwards.
    """
    for p in prange(n_points):
        position = indptr[p + 1] - 1
        node = latent_parent[p]
        while node >= 0:
            column = node - n_points
            if column < n_features:
                indices[position] = column
                data[position] = 1.0 if binary else latent_value[column]
                position -= 1
            node = latent_parent[node]
