"""Embedding stage: the branching random walk that places points in R^d (spec section 3)."""

from percolation_tms.embedding.embed import DTYPES, embed, step_length

__all__ = ["DTYPES", "embed", "step_length"]
