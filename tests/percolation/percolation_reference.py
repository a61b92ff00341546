"""Slow, obviously-correct Python versions of the engine's kernels, for small inputs.

They consume the same random streams in the same order as the kernels (documented in the
kernels' docstrings), so results must agree exactly (bit for bit where no floating-point
reordering is involved).
"""

from __future__ import annotations

import math

import numpy as np

from percolation_tms import _rng

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def mix64(z: int) -> int:
    z &= MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class Stream:
    """SplitMix64 stream seeded from (seed, domain, a, b), as in ``_rng.stream_state``."""

    def __init__(self, seed: int, domain: int, a: int, b: int):
        h = mix64(seed + GAMMA)
        for x in (domain, a, b):
            h = mix64(h ^ mix64(x + GAMMA))
        self.state = h

    def u64(self) -> int:
        self.state = (self.state + GAMMA) & MASK
        return mix64(self.state)

    def double(self) -> float:
        return (self.u64() >> 11) * 2.0**-53

    def below(self, n: int) -> int:
        return min(int(self.double() * n), n - 1)

    def normal(self) -> float:
        k, w, f = _rng.ZIG_K, _rng.ZIG_W, _rng.ZIG_F
        while True:
            bits = self.u64()
            layer = bits & 0xFF
            negative = (bits >> 8) & 1
            magnitude = bits >> 12
            x = float(magnitude) * float(w[layer])
            if magnitude < int(k[layer]):
                return -x if negative else x
            if layer == 0:
                while True:
                    xt = -math.log(1.0 - self.double()) / _rng._ZIG_R
                    yt = -math.log(1.0 - self.double())
                    if yt + yt >= xt * xt:
                        break
                x = _rng._ZIG_R + xt
                return -x if negative else x
            if f[layer] + self.double() * (f[layer - 1] - f[layer]) < math.exp(-0.5 * x * x):
                return -x if negative else x


def assign_clusters(n_points: int, create_prob: float, seed: int) -> list[int]:
    stream = Stream(seed, _rng.DOMAIN_CLUSTER_ASSIGN, 0, 0)
    cluster_of = [0]
    n_clusters = 1
    for i in range(1, n_points):
        if stream.double() < create_prob:
            cluster_of.append(n_clusters)
            n_clusters += 1
        else:
            cluster_of.append(cluster_of[stream.below(i)])
    return cluster_of


def coalescent(s: int, cluster_id: int, seed: int):
    """One cluster by the spec's words, with explicit lists of blocks (no union-find).

    Returns (edges, children): edges[t] = (point at u, point at v) of merge t (local point
    indices), children[t] = (rep A, rep B) where a rep is ('p', i) or ('l', t').
    """
    stream = Stream(seed, _rng.DOMAIN_CLUSTER_BUILD, cluster_id, 0)
    return coalescent_with(s, stream.below)


def coalescent_with(s: int, below):
    """The coalescent of :func:`coalescent` with its random choices made by ``below(n)`` (a
    uniform integer in [0, n)), so that a test can enumerate every run exactly."""
    perm = list(range(s))
    for i in range(s - 1, 0, -1):
        j = below(i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    # Blocks as arcs in cyclic order: [start, size, representative].
    blocks = [[pos, 1, ("p", perm[pos])] for pos in range(s)]
    edges, children = [], []
    for t in range(s - 1):
        u = below(s)
        ia = next(i for i, (start, size, _) in enumerate(blocks)
                  if (u - start) % s < size)
        ib = (ia + 1) % len(blocks)
        a, b = blocks[ia], blocks[ib]
        v = (b[0] + below(b[1])) % s
        edges.append((perm[u], perm[v]))
        children.append((a[2], b[2]))
        a[1] += b[1]
        a[2] = ("l", t)
        del blocks[ib]
    return edges, children


def embed_graph(graph, dim: int, embed_seed: int) -> np.ndarray:
    """The embedding by the spec's words, cluster by cluster, with Python floats.

    Uses the same streams and the same arithmetic order as the kernel, so agreement is exact.
    """
    n = graph.n_points
    children = {}
    for node, parent in enumerate(graph.latent_parent.tolist()):
        if parent >= 0:
            children.setdefault(parent, []).append(node)  # increasing node id: child 0 first
    step = float(graph.size) ** (-0.25 if graph.mode == "one_cluster" else -1.0 / 6.0)
    scale = math.sqrt(dim)
    X = np.zeros((n, dim))
    offsets = graph.point_offsets.tolist()
    latent_offsets = graph.latent_offsets.tolist()
    for c, cluster_id in enumerate(graph.cluster_ids.tolist()):
        s, p0, q0 = int(graph.cluster_sizes[c]), offsets[c], latent_offsets[c]
        stream = Stream(embed_seed, _rng.DOMAIN_CLUSTER_EMBED, cluster_id, 0)

        def unit_vector(stream=stream):
            g = [stream.normal() for _ in range(dim)]
            norm2 = 0.0
            for x in g:
                norm2 += x * x
            inv = 1.0 / math.sqrt(norm2)
            return [x * inv for x in g]

        direction = unit_vector()
        if graph.mode == "one_cluster":
            origin = [0.0] * dim
        else:
            origin = unit_vector()
            radius = (1.0 - stream.double()) ** (1.0 / dim)
            origin = [x * radius for x in origin]
        if s == 1:
            X[p0] = [scale * (o + step * e) for o, e in zip(origin, direction)]
            continue
        root_latent = n + q0
        node = root_latent
        while node >= n:
            node = children[node][stream.below(2)]
        root_point = node
        vector = {root_latent: direction}
        for column in range(q0, q0 + s - 1):  # parents before children
            latent = n + column
            v = vector.pop(latent)
            lstream = Stream(embed_seed, _rng.DOMAIN_LATENT_EMBED, cluster_id, column - q0)
            g = [lstream.normal() for _ in range(dim)]
            dot = 0.0
            for gk, vk in zip(g, v):
                dot += gk * vk
            g = [gk - dot * vk for gk, vk in zip(g, v)]
            norm2 = 0.0
            for gk in g:
                norm2 += gk * gk
            c0, c1 = children[latent]
            if norm2 == 0.0:  # d = 1: nothing is orthogonal to v; both children keep v
                vector[c0] = vector[c1] = v
                continue
            inv = 1.0 / math.sqrt(norm2)
            vector[c0] = [(vk + gk * inv) * (1.0 / math.sqrt(2.0)) for vk, gk in zip(v, g)]
            vector[c1] = [(vk - gk * inv) * (1.0 / math.sqrt(2.0)) for vk, gk in zip(v, g)]
        adjacency = {p: [] for p in range(p0, p0 + s)}
        for a, b in graph.edges[q0:q0 + s - 1].tolist():
            adjacency[a].append(b)
            adjacency[b].append(a)
        position = {root_point: [o + step * vk for o, vk in zip(origin, vector[root_point])]}
        queue = [root_point]
        while queue:
            p = queue.pop()
            for nb in adjacency[p]:
                if nb not in position:
                    position[nb] = [x + step * vk for x, vk in zip(position[p], vector[nb])]
                    queue.append(nb)
        for p, pos in position.items():
            X[p] = [scale * x for x in pos]
    return X


def labels(graph, value_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(y, z) by the spec's words: z per latent, e per point, sums down the hierarchy."""
    n = graph.n_points
    parent = graph.latent_parent.tolist()
    z = np.zeros(graph.n_latents)
    y = np.zeros(n)
    offsets, latent_offsets = graph.point_offsets.tolist(), graph.latent_offsets.tolist()
    for c, cluster_id in enumerate(graph.cluster_ids.tolist()):
        stream = Stream(value_seed, _rng.DOMAIN_CLUSTER_VALUES, cluster_id, 0)
        for j in range(latent_offsets[c], latent_offsets[c + 1]):
            z[j] = stream.normal()
        for p in range(offsets[c], offsets[c + 1]):
            e = stream.normal()
            ancestors = []
            node = parent[p]
            while node >= 0:
                ancestors.append(node - n)
                node = parent[node]
            total = e + sum(z[j] for j in reversed(ancestors))
            y[p] = total / math.sqrt(len(ancestors) + 1)
    return y, z


def ancestor_columns(graph) -> list[list[int]]:
    """Sorted feature columns (latent ancestors) of every point."""
    n = graph.n_points
    parent = graph.latent_parent.tolist()
    rows = []
    for p in range(n):
        cols, node = [], parent[p]
        while node >= 0:
            cols.append(node - n)
            node = parent[node]
        rows.append(sorted(cols))
    return rows
