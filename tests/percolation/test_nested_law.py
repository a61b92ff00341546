"""Exact laws behind nested (size-consistent) datasets; the proofs are in docs/nested.md.

1. The cyclic coalescent (spec section 2, as implemented by the reference) gives every labelled
   tree with every order of its edges the same probability; its hierarchy is the single-linkage
   dendrogram of that order.
2. Its hierarchy is the Markov branching tree with the Abel split law q_n, and given the
   hierarchy the tree edges have independent uniform end points in the two children.
3. No refinement that splits one point into a cherry *and shares the old point's tree edges*
   has the right law at 6 points (an exact counting certificate), although one exists up to 5.
4. The split sizes are stochastically ordered, L_n <= L_{n+1} <= L_n + 1, so the quantile
   coupling of the hierarchy across sizes refines by one leaf at a time (the nested mode).
"""

from fractions import Fraction
from itertools import pairwise, permutations
from math import factorial, lcm

import numpy as np
import pytest
from nested_enumeration import (
    abel_split,
    cherry_edges,
    coalescent_runs,
    contract,
    hierarchy_shape,
    is_star,
    labelled_tree_hierarchy,
    markov_branching_law,
    n_edge_ordered_trees,
    ordered_class,
    ordered_classes,
    ranked_key,
    refinements,
    single_linkage,
    split_cdf,
    tree_hierarchy_class,
    tree_hierarchy_law,
)


def _relabel(edges, perm):
    return [(perm[a], perm[b]) for a, b in edges]


# ------------------------------------------------------------------ 1. the coalescent's law
@pytest.mark.parametrize("s", [2, 3, 4])
def test_coalescent_gives_every_edge_ordered_tree_the_same_probability(s):
    law, tree_hierarchy = {}, set()
    for probability, edges, children in coalescent_runs(s):
        assert children == single_linkage(s, edges)  # hierarchy = single-linkage dendrogram
        key = ranked_key(edges)
        law[key] = law.get(key, 0) + probability
        tree_hierarchy.add(labelled_tree_hierarchy(s, edges))
    assert sum(law.values()) == 1
    assert len(law) == n_edge_ordered_trees(s)  # s^(s-2) (s-1)!: every tree, every order
    assert set(law.values()) == {Fraction(1, n_edge_ordered_trees(s))}
    # Forgetting the ranks of the merges: 1, 6 and 84 distinct (tree, hierarchy) outcomes.
    assert len(tree_hierarchy) == {2: 1, 3: 6, 4: 84}[s]


def test_coalescent_law_at_five_points():
    """Five points: the merges are enumerated for the identity cyclic order (2,000 runs) and
    relabelled by the 120 orders; that the code uses the order only to name points is checked
    at four points, where every run is enumerated."""
    s = 5
    identity_start = tuple(range(s - 1, 0, -1))  # Fisher-Yates draws j = i: no swap
    conditional = {}
    for probability, edges, children in coalescent_runs(s, identity_start):
        assert children == single_linkage(s, edges)
        key = tuple(edges)
        conditional[key] = conditional.get(key, 0) + probability
    law, representative = {}, {}
    for perm in permutations(range(s)):
        for edges, probability in conditional.items():
            relabelled = _relabel(edges, perm)
            key = ranked_key(relabelled)
            law[key] = law.get(key, 0) + probability / factorial(s)
            representative.setdefault(key, relabelled)
    assert len(law) == 3000 and set(law.values()) == {Fraction(1, 3000)}
    tree_hierarchy = {labelled_tree_hierarchy(s, edges) for edges in representative.values()}
    assert len(tree_hierarchy) == 2040


def test_coalescent_uses_the_cyclic_order_only_to_name_points():
    s = 4
    by_perm = {}
    for first in range(4):
        for second in range(3):
            for third in range(2):
                start = (first, second, third)
                perm = list(range(s))
                for i, j in zip(range(s - 1, 0, -1), start):
                    perm[i], perm[j] = perm[j], perm[i]
                law = {}
                for probability, edges, _ in coalescent_runs(s, start):
                    # position -> point is perm; express the run in positions
                    position = {point: pos for pos, point in enumerate(perm)}
                    key = tuple(_relabel(edges, position))
                    law[key] = law.get(key, 0) + probability
                by_perm[start] = law
    assert len({tuple(sorted(law.items())) for law in by_perm.values()}) == 1


# ------------------------------------------------------- 2. hierarchy and tree given hierarchy
@pytest.mark.parametrize("s", [3, 4, 5, 6, 7])
def test_edge_ordered_trees_have_no_symmetry(s):
    """s^(s-3) classes up to relabelling = s^(s-2) (s-1)! / s!: every class has s! labellings,
    so the coalescent's law is uniform over the classes (used by the tests below)."""
    assert len(ordered_classes(s)) * factorial(s) == n_edge_ordered_trees(s)


@pytest.mark.parametrize("s", [2, 3, 4, 5, 6, 7])
def test_hierarchy_is_markov_branching_with_abel_splits(s):
    classes = ordered_classes(s)
    law = {}
    for edges in classes.values():
        shape = hierarchy_shape(s, edges)
        law[shape] = law.get(shape, 0) + Fraction(1, len(classes))
    assert law == markov_branching_law(s)


@pytest.mark.parametrize("s", [3, 4, 5])
def test_tree_given_hierarchy_has_independent_uniform_end_points(s):
    """P(T, D) = P(D) / prod over latents |A| |B|, and every choice of one end point in each
    child of each latent occurs: the end points are independent and uniform given D."""
    joint = {}
    for edges in ordered_classes(s).values():
        for perm in permutations(range(s)):
            key = labelled_tree_hierarchy(s, _relabel(edges, perm))
            joint[key] = joint.get(key, 0) + Fraction(1, n_edge_ordered_trees(s))
    by_hierarchy = {}
    for key, probability in joint.items():
        hierarchy = frozenset(points for points, _ in key)
        by_hierarchy.setdefault(hierarchy, []).append(probability)
    for hierarchy, probabilities in by_hierarchy.items():
        sizes = {points: len(points) for points in hierarchy}
        n_choices = 1
        for points in hierarchy:
            children = [c for c in hierarchy if c < points and not any(
                c < other < points for other in hierarchy)]
            child_sizes = [len(c) for c in children]
            child_sizes += [1] * (2 - len(children))  # children that are single points
            assert sum(child_sizes) == sizes[points]
            n_choices *= child_sizes[0] * child_sizes[1]
        assert len(probabilities) == n_choices
        assert len(set(probabilities)) == 1


# ------------------------------------------------- 3. no refinement that shares tree edges
def _max_flow_fraction(s, ranked=True):
    """Largest mass of the law at s that an edge-sharing refinement kernel can carry onto the
    law at s + 1, on edge-ordered classes (uniform) or, without the ranks, on (T, D) classes:
    1 iff such a kernel exists; otherwise 1 - flow is the least total-variation distance one
    step can reach."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    if ranked:
        representative, larger = ordered_classes(s), ordered_classes(s + 1)
        small = dict.fromkeys(representative, Fraction(1, len(representative)))
        large = dict.fromkeys(larger, Fraction(1, len(larger)))
        key = ordered_class
    else:
        small, large = tree_hierarchy_law(s), tree_hierarchy_law(s + 1)
        representative = {}
        for edges in ordered_classes(s).values():
            representative.setdefault(tree_hierarchy_class(s, edges), edges)
        key = tree_hierarchy_class
    index_small = {c: i for i, c in enumerate(small)}
    index_large = {c: i for i, c in enumerate(large)}
    scale = lcm(*(p.denominator for p in list(small.values()) + list(large.values())))
    n_small, n_large = len(small), len(large)
    source, sink = n_small + n_large, n_small + n_large + 1
    rows, cols, caps = [], [], []
    for c, edges in representative.items():
        rows.append(source), cols.append(index_small[c]), caps.append(int(small[c] * scale))
        for target in {key(s + 1, new) for _, new in refinements(s, edges)}:
            rows.append(index_small[c]), cols.append(n_small + index_large[target])
            caps.append(scale)
    for c, p in large.items():
        rows.append(n_small + index_large[c]), cols.append(sink), caps.append(int(p * scale))
    graph = csr_matrix((np.array(caps, dtype=np.int32), (rows, cols)),
                       shape=(n_small + n_large + 2,) * 2)
    return Fraction(int(maximum_flow(graph, source, sink).flow_value), scale)


@pytest.mark.parametrize("s,ranked,flow", [
    (2, True, 1), (3, True, 1), (4, True, 1), (5, True, Fraction(5391, 5400)),
    (6, True, Fraction(514164, 518616)), (4, False, 1), (5, False, Fraction(5391, 5400)),
    (6, False, Fraction(516906, 518616))])
def test_refinements_sharing_tree_edges_exist_up_to_five_points_only(s, ranked, flow):
    assert _max_flow_fraction(s, ranked) == flow


def test_certificate_no_edge_sharing_refinement_from_five_to_six_points():
    """E: 'the 6-point hierarchy has exactly one cherry, and contracting the cherry's edge
    leaves a star'.  A refinement's new cherry is a cherry of the larger hierarchy; when it is
    the only one, the smaller tree is the larger one with that edge contracted.  So under any
    edge-sharing refinement E implies 'the 5-point tree is a star': P(E) <= 1/25.  But P(E) =
    1/24 (double stars whose central edge comes first: 5,760 labelled edge-ordered trees;
    spiders with legs 1, 1, 1, 2 whose outer leg edge comes first and inner second: 720)."""
    six = ordered_classes(6)
    in_event = []
    for edges in six.values():
        cherries = cherry_edges(6, edges)
        if len(cherries) == 1 and is_star(*contract(6, edges, cherries[0])):
            in_event.append(edges)
    assert Fraction(len(in_event), len(six)) == Fraction(1, 24)
    assert len(in_event) * factorial(6) == 5760 + 720
    five = ordered_classes(5)
    stars = [edges for edges in five.values() if is_star(5, edges)]
    assert Fraction(len(stars), len(five)) == Fraction(1, 25)


# -------------------------------------------------- 4. the nested mode's coupling is valid
@pytest.mark.parametrize("n", range(2, 41))
def test_split_sizes_are_stochastically_ordered(n):
    """F_n(a-1) <= F_{n+1}(a) <= F_n(a): the quantile coupling moves the size of child 0 by 0
    or +1 when a point is added (docs/nested.md, Lemma 3); and the lemma's two steps."""
    small, large = split_cdf(n), split_cdf(n + 1)
    for a in range(1, n + 1):
        assert small[a - 1] <= large[a] <= small[a]
    ratio = [x / y for x, y in zip(abel_split(n + 1), abel_split(n))]  # a = 1..n-1
    assert all(r1 >= r2 for r1, r2 in pairwise(ratio))  # decreasing likelihood ratio
    assert ratio[0] <= 1
