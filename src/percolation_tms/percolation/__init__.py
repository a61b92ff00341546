"""Graph stage: clusters, random trees and the latent hierarchy (spec section 2)."""

from percolation_tms._lazy import lazy_exports

__all__ = ["MODES", "ClusterPlan", "Graph",
           "build_graph", "generate_graph", "load_graph", "plan_clusters",
           "resolve_create_prob", "save_graph"]

# Imported from their submodules on first use (percolation_tms._lazy).
__getattr__, __dir__ = lazy_exports(__name__, {
    "graph": ("MODES", "ClusterPlan", "Graph", "build_graph", "generate_graph", "load_graph",
              "plan_clusters", "resolve_create_prob", "save_graph"),
})
