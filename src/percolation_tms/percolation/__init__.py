"""Graph stage: clusters, random trees and the latent hierarchy (spec section 2)."""

from percolation_tms.percolation.graph import (
    EMBED_SEED_OFFSET,
    MODES,
    VALUE_SEED_OFFSET,
    ClusterPlan,
    Graph,
    build_graph,
    generate_graph,
    load_graph,
    plan_clusters,
    resolve_create_prob,
    save_graph,
)

__all__ = ["EMBED_SEED_OFFSET", "MODES", "VALUE_SEED_OFFSET", "ClusterPlan", "Graph",
           "build_graph", "generate_graph", "load_graph", "plan_clusters",
           "resolve_create_prob", "save_graph"]
