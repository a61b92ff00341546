"""Slow plain-Python version of nested mode's cluster construction (docs/nested.md, section 4),
written from the note's words with recursion and dictionaries; same streams as the kernel."""

from __future__ import annotations

import math

from percolation_reference import MASK, Stream, mix64

from percolation_tms import _rng

ROOT_KEY = 0x2545F4914F6CDD1D
GAMMA = 0x9E3779B97F4A7C15


def child_key(key: int, c: int) -> int:
    return mix64((key + (c + 1) * GAMMA) & MASK) | 1


def split_size(n: int, u: float) -> int:
    """min{a : F_n(a) > u}, F_n summed from the nearer end, as the kernel does."""
    if n <= 2:
        return 1
    upper = u >= 0.5
    target = 1.0 - u if upper else u
    q = 0.5 * math.exp((n - 3) * math.log1p(-1.0 / n))
    cdf, a = q, 1
    while a < n - 1 and not (cdf > target or (upper and cdf == target)):
        q *= math.exp((a - 1) * math.log1p(1.0 / a) + (n - a - 2) * math.log1p(-1.0 / (n - a)))
        a += 1
        cdf += q
    return n - a if upper else a


def nested_cluster(s: int, cluster_id: int, seed: int):
    """Returns (nodes, edges, row_of_leaf): nodes in preorder as dicts with key, size, depth,
    parent (index), children (indices), leaves (list of leaf indices), and for latents their
    column; edges[column] = (leaf index u, leaf index v); row_of_leaf the uniform labelling."""
    nodes = []

    def grow(key, size, depth, parent, origin, first):
        index = len(nodes)
        node = {"key": key, "size": size, "depth": depth, "parent": parent, "origin": origin,
                "leaves": list(range(first, first + size)), "children": []}
        nodes.append(node)
        if size >= 2:
            u = Stream(seed, _rng.DOMAIN_NESTED_SPLIT, cluster_id, key).double()
            left = split_size(size, u)
            k0, k1 = child_key(key, 0), child_key(key, 1)
            node["children"].append(grow(k0, left, depth + 1, index, origin, first))
            node["children"].append(grow(k1, size - left, depth + 1, index, k1, first + left))
        return index

    grow(ROOT_KEY, s, 0, -1, ROOT_KEY, 0)
    # Columns: a uniform linear extension, each step taking an available latent with
    # probability (latents in its subtree) / (latents left), in preorder when scanning.
    latents = [i for i, node in enumerate(nodes) if node["size"] >= 2]
    stream = Stream(seed, _rng.DOMAIN_NESTED_SPLIT, cluster_id, 0)
    available, order = [0], []
    for left in range(s - 1, 0, -1):
        r = stream.below(left)
        available.sort()  # node indices are preorder
        for i in available:
            r -= nodes[i]["size"] - 1
            if r < 0:
                break
        available.remove(i)
        order.append(i)
        available.extend(c for c in nodes[i]["children"] if nodes[c]["size"] >= 2)
    assert sorted(order) == latents
    for column, i in enumerate(order):
        nodes[i]["column"] = column
    origin_of_leaf = {}
    for node in nodes:
        if node["size"] == 1:
            origin_of_leaf[node["leaves"][0]] = node["origin"]
    stream = Stream(seed, _rng.DOMAIN_NESTED_EDGE, cluster_id, 0)
    row_of_leaf = list(range(s))
    for i in range(s - 1, 0, -1):
        j = stream.below(i + 1)
        row_of_leaf[i], row_of_leaf[j] = row_of_leaf[j], row_of_leaf[i]
    edges = [None] * (s - 1)
    for node in nodes:
        if node["size"] < 2:
            continue
        base = Stream(seed, _rng.DOMAIN_NESTED_EDGE, cluster_id, node["key"]).state
        ends = []
        for child in node["children"]:
            leaves = nodes[child]["leaves"]
            ends.append(min(leaves, key=lambda w: (mix64(base ^ origin_of_leaf[w]), w)))
        edges[node["column"]] = tuple(ends)
    return nodes, edges, row_of_leaf
