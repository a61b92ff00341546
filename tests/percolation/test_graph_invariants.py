"""Invariants of spec section 2 and the tree-shape statistics of section 8."""

import itertools
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from percolation_tms.percolation import generate_graph, plan_clusters


@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("mode,size,seed", [("distribution", 3000, 0), ("one_cluster", 500, 1),
                                            ("distribution", 1, 2), ("one_cluster", 2, 3)])
def test_forest_invariants(mode, size, seed, nested):
    graph = generate_graph(mode, size, seed, nested=nested)
    n, n_latents = graph.n_points, graph.n_latents
    assert n == size
    assert n_latents == size - graph.n_clusters == graph.edges.shape[0]
    parent = graph.latent_parent
    # Every latent has exactly two children; points are the leaves.
    child_count = np.bincount(parent[parent >= 0] - n, minlength=n_latents)
    assert np.all(child_count == 2)
    # Roots: one per cluster of size >= 2; singletons have no parent.
    roots = np.flatnonzero(parent[n:] < 0)
    assert roots.tolist() == graph.latent_offsets[:-1][graph.cluster_sizes >= 2].tolist()
    singles = graph.point_offsets[:-1][graph.cluster_sizes == 1]
    assert np.all(parent[singles] == -1)
    assert np.all(parent[:n][graph.point_cluster_size() >= 2] >= n)
    # Parents come before children in column order, and depth counts latent ancestors.
    latent_parent = parent[n:]
    has_parent = latent_parent >= 0
    assert np.all(latent_parent[has_parent] - n < np.flatnonzero(has_parent))
    for node in range(0, n + n_latents, max(1, (n + n_latents) // 300)):
        ancestors, p = 0, parent[node]
        while p >= 0:
            ancestors += 1
            p = parent[p]
        assert graph.depth[node] == ancestors
    # Sizes are non-increasing (largest first), ties by creation id.
    sizes, ids = graph.cluster_sizes, graph.cluster_ids
    assert np.all(np.diff(sizes) <= 0)
    same = np.diff(sizes) == 0
    assert np.all(np.diff(ids)[same] > 0)


@pytest.mark.parametrize("nested", [False, True])
def test_every_latent_is_a_connected_subtree_and_edges_form_a_spanning_tree(nested):
    graph = generate_graph("distribution", 4000, 7, nested=nested)
    n = graph.n_points
    for c in range(min(graph.n_clusters, 60)):
        s = int(graph.cluster_sizes[c])
        p0, q0 = int(graph.point_offsets[c]), int(graph.latent_offsets[c])
        if s < 2:
            continue
        edges = graph.edges[q0:q0 + s - 1] - p0
        assert edges.min() >= 0 and edges.max() < s
        # s - 1 edges connecting s points = a spanning tree.
        component = list(range(s))

        def find(x, component=component):
            while component[x] != x:
                x = component[x]
            return x
        for a, b in edges.tolist():
            ra, rb = find(a), find(b)
            assert ra != rb, "tree edges contain a cycle"
            component[ra] = rb
        # Each latent's points induce a connected subgraph (#internal edges = #points - 1).
        members = {}
        for p in range(p0, p0 + s):
            node = graph.latent_parent[p]
            while node >= 0:
                members.setdefault(node, set()).add(p - p0)
                node = graph.latent_parent[node]
        for points in members.values():
            inside = sum(1 for a, b in edges.tolist() if a in points and b in points)
            assert inside == len(points) - 1
        assert len(members) == s - 1 and all(q0 + n <= m < q0 + n + s - 1 for m in members)


def _tree_shape(edges: np.ndarray) -> str:
    degree = np.bincount(edges.ravel(), minlength=6)
    ordered = sorted(degree.tolist(), reverse=True)
    if ordered[0] == 5:
        return "star"
    if ordered[0] == 4:
        return "broom"
    if ordered[:2] == [3, 3]:
        return "double star"
    if ordered[0] == 2:
        return "path"
    center = int(np.argmax(degree))
    leaves = sum(degree[b if a == center else a] == 1 for a, b in edges.tolist()
                 if center in (a, b))
    return "spider 1-1-3" if leaves == 2 else "spider 1-2-2"


@pytest.mark.parametrize("nested", [False, True])
def test_six_point_tree_shapes_follow_cayley_counts(nested):
    """Spec section 8: one_cluster N = 6 over 3000 seeds, chi-square vs Cayley p > 1e-3."""
    expected = {"path": 360, "star": 6, "broom": 120, "double star": 90,
                "spider 1-1-3": 360, "spider 1-2-2": 360}
    assert sum(expected.values()) == 6**4
    counts = Counter(_tree_shape(generate_graph("one_cluster", 6, seed, nested=nested).edges)
                     for seed in range(3000))
    observed = np.array([counts[k] for k in expected])
    assert observed.sum() == 3000
    f_exp = np.array(list(expected.values())) / 6**4 * 3000
    assert stats.chisquare(observed, f_exp).pvalue > 1e-3


@pytest.mark.parametrize("nested", [False, True])
def test_four_point_labelled_trees_are_uniform(nested):
    """All 16 labelled trees on 4 points are equally likely (Cayley: uniform)."""
    counts = Counter(frozenset(map(tuple, np.sort(
        generate_graph("one_cluster", 4, s, nested=nested).edges, axis=1).tolist()))
        for s in range(3200))
    assert len(counts) == 16
    assert stats.chisquare(list(counts.values())).pvalue > 1e-3


def test_cluster_sizes_follow_yule_simon():
    """Distribution mode: P(s) = rho B(s, rho + 1) with rho = 1/(1-p) = 3/2 (exponent 5/2)."""
    plan = plan_clusters("distribution", 200_000, 3)
    counts = np.bincount(plan.cluster_sizes)[1:6]
    pmf = stats.yulesimon.pmf(np.arange(1, 6), 1.5)
    expected = pmf * plan.n_clusters
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert stats.chi2.sf(chi2, df=5) > 1e-3
    assert abs(plan.n_clusters / 200_000 - 1 / 3) < 0.01


@pytest.mark.parametrize("kwargs,message", [
    ({"mode": "nope", "size": 10, "seed": 0}, "mode must be one of"),
    ({"mode": "custom", "size": 10, "seed": 0}, "create_prob is required"),
    ({"mode": "custom", "size": 10, "seed": 0, "create_prob": 1.5}, "create_prob must lie in"),
    ({"mode": "custom", "size": 10, "seed": 0, "create_prob": float("nan")},
     "create_prob must lie in"),
    ({"mode": "one_cluster", "size": 10, "seed": 0, "create_prob": 0.1}, "only accepted in custom"),
    ({"mode": "distribution", "size": 0, "seed": 0}, "size must be >= 1"),
    ({"mode": "distribution", "size": 10, "seed": -1}, "seed must be >= 0"),
])
def test_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_graph(**kwargs)


def test_custom_mode_extremes():
    all_singletons = generate_graph("custom", 50, 0, create_prob=1.0)
    assert all_singletons.n_clusters == 50 and all_singletons.n_latents == 0
    one = generate_graph("custom", 50, 0, create_prob=0.0)
    assert one.n_clusters == 1
    assert list(itertools.islice(one.cluster_sizes, 1)) == [50]
