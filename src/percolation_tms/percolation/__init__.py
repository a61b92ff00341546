"""Graph stage: clusters, random trees and the latent hierarchy (spec section 2)."""

from percolation_tms.percolation.graph import (
    MODES,
    ClusterPlan,
    Graph,
    build_graph,
    generate_graph,
    load_graph,
    plan_clusters,
    resolve_create_prob,
    save_graph,
)

__all__ = ["MODES", "ClusterPlan", "Graph",
           "build_graph", "generate_graph", "load_graph", "plan_clusters",
           "resolve_create_prob", "save_graph"]
