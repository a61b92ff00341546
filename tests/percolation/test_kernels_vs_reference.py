"""Every kernel of the dataset engine against its slow plain-Python version (small inputs)."""

import numba
import numpy as np
import pytest
from percolation_reference import (
    Stream,
    ancestor_columns,
    assign_clusters,
    coalescent,
    embed_graph,
    labels,
)

from percolation_tms import _rng
from percolation_tms.dataset import generate
from percolation_tms.embedding import embed
from percolation_tms.features import ground_truth_features
from percolation_tms.labels import draw_labels
from percolation_tms.percolation import _kernels, build_graph, generate_graph, plan_clusters


def test_stream_uniforms_and_normals_match_reference_bit_for_bit():
    stream = Stream(123, 4, 5, 6)
    expected_u = [stream.double() for _ in range(500)]
    expected_n = [stream.normal() for _ in range(5000)]
    state = np.uint64(_rng.stream_state(123, 4, 5, 6))
    u = np.empty(500)
    state = _rng.fill_double(state, u)
    g = np.empty(5000)
    _rng.fill_normal(np.uint64(state), g)
    assert u.tolist() == expected_u
    assert g.tolist() == expected_n


def test_ziggurat_normals_are_standard_normal():
    from scipy import stats

    x = _rng.normals(2024, 1, 0, 0, 1_000_000)
    assert stats.kstest(x, "norm").pvalue > 1e-3
    assert abs(x.mean()) < 5e-3 and abs(x.std() - 1) < 5e-3
    # The tail beyond R = 3.654 (layer 0's slow path) has the right mass: 2.58e-4.
    tail = np.mean(np.abs(x) > _rng._ZIG_R)
    assert abs(tail - 2 * stats.norm.sf(_rng._ZIG_R)) < 6 * np.sqrt(2.58e-4 / 1e6)


@pytest.mark.parametrize("create_prob", [0.0, 1 / 3, 0.8, 1.0])
def test_assign_clusters_matches_reference(create_prob):
    n = 300
    cluster_of = np.empty(n, dtype=np.int32)
    n_clusters = _kernels.assign_clusters(n, create_prob, 17, cluster_of)
    expected = assign_clusters(n, create_prob, 17)
    assert cluster_of.tolist() == expected
    assert n_clusters == max(expected) + 1


@pytest.mark.parametrize("mode,size,seed", [("one_cluster", 2, 0), ("one_cluster", 9, 3),
                                            ("one_cluster", 40, 5), ("distribution", 300, 1),
                                            ("distribution", 120, 8)])
def test_coalescent_matches_reference(mode, size, seed):
    graph = generate_graph(mode, size, seed)
    n = graph.n_points
    for c, cluster_id in enumerate(graph.cluster_ids.tolist()):
        s = int(graph.cluster_sizes[c])
        p0, q0 = int(graph.point_offsets[c]), int(graph.latent_offsets[c])
        if s == 1:
            assert graph.latent_parent[p0] == -1
            continue
        edges, children = coalescent(s, cluster_id, seed)
        for t in range(s - 1):
            column = q0 + (s - 2 - t)
            assert tuple(graph.edges[column] - p0) == edges[t]
            node = n + column
            for kind, index in children[t]:
                child = p0 + index if kind == "p" else n + q0 + (s - 2 - index)
                assert graph.latent_parent[child] == node


@pytest.mark.parametrize("mode,dim", [("one_cluster", 3), ("distribution", 5),
                                      ("distribution", 1)])
def test_embedding_matches_reference(mode, dim):
    graph = generate_graph(mode, 150, 4)
    np.testing.assert_array_equal(embed(graph, dim, embed_seed=99),
                                  embed_graph(graph, dim, 99))


def test_labels_and_features_match_reference():
    graph = generate_graph("distribution", 400, 6)
    values = draw_labels(graph, value_seed=31)
    y, z = labels(graph, 31)
    np.testing.assert_array_equal(values.latent_value, z)
    np.testing.assert_array_equal(values.y, y)
    features = ground_truth_features(graph, values.latent_value)
    rows = ancestor_columns(graph)
    for p, cols in enumerate(rows):
        row = features.getrow(p)
        assert row.indices.tolist() == cols
        np.testing.assert_array_equal(row.data, z[cols])
    k = graph.n_latents // 3
    truncated = ground_truth_features(graph, binary=True, n_features=k)
    for p, cols in enumerate(rows):
        assert truncated.getrow(p).indices.tolist() == [j for j in cols if j < k]
    assert np.all(truncated.data == 1.0)


def test_same_result_at_one_and_two_threads_and_on_rerun():
    def arrays():
        ds = generate("distribution", 30_000, 8, seed=5)
        return [ds.X, ds.y, ds.graph.latent_parent, ds.graph.edges, ds.graph.depth,
                ds.features.data, ds.features.indices, ds.features.indptr]

    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = arrays()
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = arrays()
        again = arrays()
    finally:
        numba.set_num_threads(previous)
    for a, b, c in zip(one, two, again):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(b, c)


def test_building_a_range_of_clusters_equals_the_slice_of_the_whole():
    plan = plan_clusters("distribution", 5000, 12)
    whole = build_graph(plan)
    start, stop = 3, 700
    part = build_graph(plan, cluster_start=start, cluster_stop=stop)
    p0, p1 = whole.point_offsets[start], whole.point_offsets[stop]
    q0, q1 = whole.latent_offsets[start], whole.latent_offsets[stop]
    np.testing.assert_array_equal(part.edges + p0, whole.edges[q0:q1])
    np.testing.assert_array_equal(part.depth[: p1 - p0], whole.depth[p0:p1])
    # Parents: local node ids map to whole-dataset ids by shifting points and latents.
    def to_whole(local):
        local = local.copy()
        latent = local >= part.n_points
        local[latent] += whole.n_points + q0 - part.n_points
        local[~latent & (local >= 0)] += p0
        return local
    np.testing.assert_array_equal(to_whole(part.latent_parent[: part.n_points]),
                                  whole.latent_parent[p0:p1])
    np.testing.assert_array_equal(X_part := embed(part, 4), embed(whole, 4)[p0:p1])
    assert X_part.shape == (p1 - p0, 4)
