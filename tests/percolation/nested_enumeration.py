"""Exact enumeration helpers for the laws of the cyclic coalescent and of its nested version.

Everything here is exact (``fractions.Fraction``) and meant for clusters of at most 7 points.
Objects:

* a *run* of the coalescent: the reference implementation (``percolation_reference``) with
  every random choice enumerated, each run with its exact probability;
* an *edge-ordered tree* on s points: a list of s - 1 edges (u, v), index = rank in the order;
  its hierarchy is the single-linkage dendrogram (merge the edges in that order);
* a *refinement* of an edge-ordered tree: split one point p into a cherry {p, q} (q = s, the
  new point), hand each of p's edges to p or to q, and insert the new edge {p, q} anywhere
  before p's first edge in the order (so that the new edge is the cherry's merge).
"""

from __future__ import annotations

from fractions import Fraction
from math import comb

from percolation_reference import coalescent_with


# ----------------------------------------------------------------------------- coalescent runs
class _NeedChoice(Exception):
    def __init__(self, n):
        self.n = n


def coalescent_runs(s: int, start=()):
    """Yield (probability, edges, children) for every run of the reference coalescent on s
    points: every sequence of its ``below(n)`` choices, each of probability prod 1/n.

    ``start`` fixes the first choices (e.g. the Fisher-Yates draws); the probabilities are then
    conditional on them."""
    stack = [tuple(start)]
    while stack:
        prefix = stack.pop()
        sizes = []

        def below(n, prefix=prefix, sizes=sizes):
            if len(sizes) < len(prefix):
                sizes.append(n)
                return prefix[len(sizes) - 1]
            raise _NeedChoice(n)

        try:
            edges, children = coalescent_with(s, below)
        except _NeedChoice as need:
            stack.extend(prefix + (c,) for c in range(need.n))
            continue
        probability = Fraction(1)
        for n in sizes[len(start):]:
            probability /= n
        yield probability, edges, children


def single_linkage(s: int, edges):
    """Children of every merge of the single-linkage dendrogram of ordered edges, as
    representatives ('p', i) / ('l', t), the block of the edge's first end point first."""
    block = {i: {i} for i in range(s)}
    rep = {i: ("p", i) for i in range(s)}  # keyed by the smallest point of the block
    where = list(range(s))
    children = []
    for t, (u, v) in enumerate(edges):
        a, b = where[u], where[v]
        assert a != b, "edges of a tree never close a cycle"
        children.append((rep[a], rep[b]))
        merged = block.pop(a) | block.pop(b)
        key = min(merged)
        del rep[a], rep[b]
        block[key], rep[key] = merged, ("l", t)
        for i in merged:
            where[i] = key
    return children


def ranked_key(edges):
    """A labelled edge-ordered tree as a hashable value (edges unordered, order kept)."""
    return tuple(frozenset(e) for e in edges)


def n_edge_ordered_trees(s: int) -> int:
    """s^(s-2) labelled trees (Cayley) times (s-1)! orders of their edges."""
    n = 1
    for k in range(2, s):
        n *= k
    return s ** (s - 2) * n if s >= 2 else 1


# ------------------------------------------------------------------------ (tree, hierarchy)
def dendrogram(s: int, edges):
    """{latent s + t: (child A, child B, u, v)} for merge t of edge (u, v), u in A."""
    parent_block = list(range(s))
    rep = list(range(s))

    def find(x):
        while parent_block[x] != x:
            x = parent_block[x]
        return x

    children = {}
    for t, (u, v) in enumerate(edges):
        a, b = find(u), find(v)
        children[s + t] = (rep[a], rep[b], u, v)
        parent_block[b] = a
        rep[a] = s + t
    return children


def labelled_tree_hierarchy(s: int, edges):
    """(T, D) of labelled points without the ranks of the merges: a frozenset of
    (frozenset of the latent's points, frozenset edge) pairs."""
    children = dendrogram(s, edges)
    points = {i: frozenset([i]) for i in range(s)}
    out = []
    for latent in sorted(children):
        a, b, u, v = children[latent]
        points[latent] = points[a] | points[b]
        out.append((points[latent], frozenset((u, v))))
    return frozenset(out)


def hierarchy_shape(s: int, edges) -> str:
    """The unlabelled binary hierarchy as a canonical string ('L' a point, '(xy)' a latent)."""
    if s == 1:
        return "L"
    children = dendrogram(s, edges)

    def encode(x):
        if x < s:
            return "L"
        a, b = encode(children[x][0]), encode(children[x][1])
        return "(" + min(a, b) + max(a, b) + ")"

    return encode(s + len(edges) - 1)


# ---------------------------------------------------------------------- edge-ordered classes
def _adjacency(s, edges):
    adjacency = [[] for _ in range(s)]
    for rank, (a, b) in enumerate(edges):
        adjacency[a].append((rank, b))
        adjacency[b].append((rank, a))
    for row in adjacency:
        row.sort()
    return adjacency


def ordered_class(s: int, edges):
    """Canonical form of an edge-ordered tree up to relabelling its points (for s >= 2 the
    only automorphism-free description: the two sides of the first edge, encoded by ranks)."""
    if s == 1:
        return ()
    adjacency = _adjacency(s, edges)

    def encode(vertex, via):
        return tuple((rank, encode(other, rank)) for rank, other in adjacency[vertex]
                     if rank != via)

    a, b = edges[0]
    x, y = encode(a, 0), encode(b, 0)
    return (min(x, y), max(x, y))


def refinements(s: int, edges):
    """Every refinement (p, mask of p's edges handed to q, rank j of the new edge) of an
    edge-ordered tree on s points; yields (p, new_edges) with q = s."""
    adjacency = _adjacency(s, edges)
    for p in range(s):
        ranks = [rank for rank, _ in adjacency[p]]
        first = min(ranks) if ranks else 0
        for mask in range(1 << len(ranks)):
            to_q = {ranks[i] for i in range(len(ranks)) if mask >> i & 1}
            for j in range(first + 1):
                new = []
                for rank, (a, b) in enumerate(edges):
                    if rank in to_q:
                        a, b = (s if a == p else a), (s if b == p else b)
                    new.append((a, b))
                new.insert(j, (p, s))
                yield p, new


def ordered_classes(s: int) -> dict:
    """{class: representative edges} of every edge-ordered tree on s points.  Every class of
    s points is a refinement of one of s - 1 points (contract its first edge), so growing by
    refinements reaches them all."""
    if s == 1:
        return {(): []}
    out = {}
    for edges in ordered_classes(s - 1).values():
        for _, new in refinements(s - 1, edges):
            out.setdefault(ordered_class(s, new), new)
    return out


def cherry_edges(s: int, edges) -> list[int]:
    """Ranks of the edges that merge two single points (earlier than every adjacent edge)."""
    adjacency = _adjacency(s, edges)
    out = []
    for rank, (a, b) in enumerate(edges):
        if all(other > rank for other, _ in adjacency[a] + adjacency[b] if other != rank):
            out.append(rank)
    return out


def contract(s: int, edges, rank: int):
    """Contract edge ``rank`` (its second end point merges into the first); the other edges
    keep their order.  Returns (s - 1, edges) with points renumbered 0..s-2."""
    a, b = edges[rank]
    rename = {}
    for x in range(s):
        if x != b:
            rename[x] = len(rename)
    rename[b] = rename[a]
    return s - 1, [(rename[u], rename[v]) for k, (u, v) in enumerate(edges) if k != rank]


def is_star(s: int, edges) -> bool:
    degree = [0] * s
    for a, b in edges:
        degree[a] += 1
        degree[b] += 1
    return s >= 3 and max(degree) == s - 1


# --------------------------------------------------------------- Markov branching hierarchy
def abel_split(n: int) -> list[Fraction]:
    """q_n(a), a = 1..n-1: law of the size of child 0 of a root latent with n points,
    q_n(a) = C(n, a) a^(a-1) (n-a)^(n-a-1) / (2 (n-1) n^(n-2))."""
    denominator = 2 * (n - 1) * n ** (n - 2)
    return [Fraction(comb(n, a) * a ** (a - 1) * (n - a) ** (n - a - 1), denominator)
            for a in range(1, n)]


def markov_branching_law(s: int) -> dict:
    """{hierarchy shape: probability} of the Markov branching tree with splits q_n."""
    if s == 1:
        return {"L": Fraction(1)}
    law = {}
    for a, qa in zip(range(1, s), abel_split(s)):
        for left, pl in markov_branching_law(a).items():
            for right, pr in markov_branching_law(s - a).items():
                shape = "(" + min(left, right) + max(left, right) + ")"
                law[shape] = law.get(shape, 0) + qa * pl * pr
    return law


def split_cdf(n: int) -> list[Fraction]:
    """F_n(a) = P(size of child 0 <= a), a = 0..n (F_n(0) = 0, F_n(n-1) = F_n(n) = 1)."""
    cdf = [Fraction(0)]
    for q in abel_split(n):
        cdf.append(cdf[-1] + q)
    cdf.append(Fraction(1))
    return cdf


def tree_hierarchy_class(s: int, edges) -> tuple:
    """Canonical form of (T, D) without merge ranks, up to relabelling the points: D encoded
    recursively, each leaf tagged with the depths of the latents whose edge ends there."""
    if s == 1:
        return ("L",)
    children = dendrogram(s, edges)

    def encode(x, ports, level):
        if x < s:
            return ("L",) + tuple(sorted(ports.get(x, ())))
        a, b, u, v = children[x]
        ports = dict(ports)
        ports[u] = ports.get(u, ()) + (level,)
        ports[v] = ports.get(v, ()) + (level,)
        ea, eb = encode(a, ports, level + 1), encode(b, ports, level + 1)
        return ("N", min(ea, eb), max(ea, eb))

    return encode(s + len(edges) - 1, {}, 0)


def tree_hierarchy_law(s: int) -> dict:
    """{(T, D) class: probability} under the coalescent (uniform over edge-ordered classes)."""
    classes = ordered_classes(s)
    law = {}
    for edges in classes.values():
        key = tree_hierarchy_class(s, edges)
        law[key] = law.get(key, 0) + Fraction(1, len(classes))
    return law
