"""``DatasetConfig``: every setting of a dataset's generation, in one place.

``generate`` (API and command), ``plan-shards`` and the stage commands (``generate-graph``,
``embed``, ``label``, ``export``) take their options from these fields; the workflow schema's
``percolation`` defaults are tested equal to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from percolation_tms.checks import check_count
from percolation_tms.embedding.embed import DTYPES
from percolation_tms.percolation.options import MODES, check_flag, resolve_create_prob
from percolation_tms.seeds import EMBED_SEED_OFFSET, VALUE_SEED_OFFSET, dataset_seeds
from percolation_tms.settings import setting


@dataclass(frozen=True)
class DatasetConfig:
    """Settings of one dataset (spec sections 2-7).

    Seeds: the dataset seed S gives graph S, embed S + 10000, value S + 20000 (spec section
    6); each may be overridden.  ``create_prob`` is given in custom mode only (the other modes
    fix it).  ``n_features`` (checked against the number of latents once the graph is known)
    keeps the first k feature columns; ``binary`` stores 1 instead of the latent values.
    """

    mode: str = setting(help="one_cluster (p = 0), distribution (p = 1/3) or custom "
                             "(--create-prob)", choices=MODES)
    size: int = setting(help="number of points N >= 1", metavar="N")
    dim: int = setting(help="embedding dimension d >= 1", metavar="D")
    seed: int = setting(help=f"dataset seed S: graph S, embed S+{EMBED_SEED_OFFSET}, value "
                             f"S+{VALUE_SEED_OFFSET}", metavar="S")
    create_prob: float | None = setting(None, "new-cluster probability p in [0, 1]; custom "
                                              "mode only", metavar="P")
    graph_seed: int | None = setting(None, "override the graph seed (default S)")
    embed_seed: int | None = setting(None, f"override the embed seed (default "
                                           f"S+{EMBED_SEED_OFFSET})")
    value_seed: int | None = setting(None, f"override the value seed (default "
                                           f"S+{VALUE_SEED_OFFSET})")
    dtype: str = setting("float64", "dtype of X (float32 halves memory and disk)",
                         choices=tuple(DTYPES))
    n_features: int | None = setting(None, "keep the first K feature columns "
                                           "(1 <= K <= number of latents; default all)",
                                     metavar="K")
    binary: bool = setting(False, "store 1 instead of the latent values z in the features")
    nested: bool = setting(False, "size-consistent construction (docs/nested.md): datasets of "
                                  "sizes N < N' from the same seeds refine one another "
                                  "(map-nested maps them)")

    def __post_init__(self):
        resolve_create_prob(self.mode, self.create_prob)
        check_count("size", self.size)
        check_count("dim", self.dim)
        dataset_seeds(self.seed, self.graph_seed, self.embed_seed, self.value_seed)
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {self.dtype!r}")
        if self.n_features is not None:
            check_count("n_features", self.n_features)
        check_flag("nested", self.nested)

    @property
    def seeds(self):
        """The stage seeds (:class:`percolation_tms.seeds.DatasetSeeds`)."""
        return dataset_seeds(self.seed, self.graph_seed, self.embed_seed, self.value_seed)

    @property
    def resolved_create_prob(self) -> float:
        return resolve_create_prob(self.mode, self.create_prob)

    # which fields each command takes
    GRAPH_FIELDS = ("mode", "size", "seed", "create_prob", "graph_seed", "nested")
    EMBED_FIELDS = ("dim", "embed_seed", "dtype")
    VALUE_FIELDS = ("value_seed",)
    FEATURE_FIELDS = ("n_features", "binary")
