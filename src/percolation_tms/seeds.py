"""The seeds of a dataset, derived in one place (spec section 6).

The dataset seed S gives the graph seed S, the embed seed S + 10000 and the value seed
S + 20000 (the published datasets' convention); each can be overridden.
"""

from __future__ import annotations

from dataclasses import dataclass

from percolation_tms.checks import check_seed

EMBED_SEED_OFFSET = 10_000
VALUE_SEED_OFFSET = 20_000


@dataclass(frozen=True)
class DatasetSeeds:
    """seed : the dataset seed S; graph, embed, value : the stage seeds."""

    seed: int
    graph: int
    embed: int
    value: int


def graph_seed_of(seed: int, graph_seed: int | None = None) -> int:
    return check_seed("seed", seed) if graph_seed is None else check_seed("graph_seed",
                                                                        graph_seed)


def embed_seed_of(seed: int, embed_seed: int | None = None) -> int:
    if embed_seed is None:
        return check_seed("seed", seed) + EMBED_SEED_OFFSET
    return check_seed("embed_seed", embed_seed)


def value_seed_of(seed: int, value_seed: int | None = None) -> int:
    if value_seed is None:
        return check_seed("seed", seed) + VALUE_SEED_OFFSET
    return check_seed("value_seed", value_seed)


def dataset_seeds(seed: int, graph_seed: int | None = None, embed_seed: int | None = None,
                  value_seed: int | None = None) -> DatasetSeeds:
    """Every stage seed of dataset seed ``seed``, with the overrides given (validated)."""
    return DatasetSeeds(check_seed("seed", seed), graph_seed_of(seed, graph_seed),
                        embed_seed_of(seed, embed_seed), value_seed_of(seed, value_seed))
