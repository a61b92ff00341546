"""Random streams for numba kernels: one documented derivation from seeds to numbers.

Every random number in the project comes from a *stream*: a SplitMix64 generator whose start
state is a hash of ``(seed, domain, a, b)``:

* ``seed``   -- the stage seed (graph, embed, value, toy-model seed, ...), a non-negative int;
* ``domain`` -- a small constant naming what the stream is for (the ``DOMAIN_*`` table below), so
  that two uses of the same seed never share numbers;
* ``a, b``   -- the unit of work, e.g. (cluster id, 0) or (cluster id, latent index) or
  (instance, step).

Because a stream depends only on those four integers -- never on a global state, on the order in
which work is scheduled, or on how many threads run -- a cluster built by one thread, by another,
or in a separate job on another machine gets the same numbers, bit for bit.

SplitMix64 (Steele, Lea & Flood 2014) passes BigCrush as a generator; the hash that seeds it is
its own output function applied in a chain, a bijection at each step.  Kernels thread the state
through explicitly, functional style::

    state = stream_state(seed, DOMAIN_CLUSTER_BUILD, cluster_id, 0)
    u, state = next_double(state)
    k, state = next_below(state, n)
    g, state = next_normal(state)

Normal variates use a 256-layer ziggurat (Marsaglia & Tsang 2000) on 52-bit magnitudes: about
one 64-bit draw per variate, several times faster than Box-Muller.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# --------------------------------------------------------------------------------------------
# Stream domains: one constant per use of randomness in the project.  Never renumber a domain
# (datasets already generated would change); add new ones at the end.
# --------------------------------------------------------------------------------------------
DOMAIN_CLUSTER_ASSIGN = 1  # percolation: which cluster each point joins (one sequential stream)
DOMAIN_CLUSTER_BUILD = 2  # percolation: cyclic order and coalescent of one cluster
DOMAIN_CLUSTER_EMBED = 3  # embedding: a cluster's direction, origin and root-point walk
DOMAIN_LATENT_EMBED = 4  # embedding: the Gaussian drawn at one latent node
DOMAIN_CLUSTER_VALUES = 5  # labels: latent values z and point noise e of one cluster
DOMAIN_TOY_INIT = 6  # toy models: initial weights of one instance
DOMAIN_TOY_BATCH = 7  # toy models: the batch of one (instance, step)
DOMAIN_TOY_EVAL = 8  # toy models: the held-out evaluation batch of one instance
DOMAIN_SAE_INIT = 9  # sparse autoencoders: initial weights
DOMAIN_SAE_BATCH = 10  # sparse autoencoders: minibatch order of one epoch
# 11: retired, never used (was DOMAIN_SAMPLE; the statistics' subsets use DOMAIN_STATS)
DOMAIN_SAE_SYNTHETIC = 12  # sparse autoencoders: known dictionary and samples of synthetic data
DOMAIN_PERSIANRUG_DATA = 13  # persian rug: inputs of one (purpose, row): batches, evaluation, fit
DOMAIN_PERSIANRUG_MODEL = 14  # persian rug: initial weights of a trained model, the rug's rows
DOMAIN_BASIN_DIRECTION = 15  # basins: ray direction (index, 0); bootstrap resample (index, 1)
DOMAIN_BASIN_EVAL = 16  # basins: the fixed evaluation set of one instance's cost
DOMAIN_BASIN_SGLD = 17  # basins: the Langevin noise of one SGLD chain
DOMAIN_SAE_HIERARCHY = 18  # sparse autoencoders: hierarchical known-dictionary data
DOMAIN_SAE_HIERARCHY_SIGMA = 19  # sparse autoencoders: per-feature magnitude spreads of it
DOMAIN_NESTED_SPLIT = 20  # nested: split uniform of one hierarchy node (a = cluster, b = key)
DOMAIN_NESTED_EDGE = 21  # nested: end-point keys of a latent (b = its key); labelling (b = 0)
DOMAIN_NESTED_NODE = 22  # nested: embedding (a = 2 cluster) and values (a = 2 cluster + 1)
DOMAIN_STATS = 23  # statistics: train/test splits, row subsets, random rotation (stats/)

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TWO_POW_M53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def mix64(z):
    """SplitMix64's output function: a bijection of uint64 with good avalanche."""
    z = np.uint64(z)
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def stream_state(seed, domain, a, b):
    """Start state (uint64) of the stream named by four non-negative integers."""
    h = mix64(np.uint64(seed) + _GAMMA)
    h = mix64(h ^ mix64(np.uint64(domain) + _GAMMA))
    h = mix64(h ^ mix64(np.uint64(a) + _GAMMA))
    h = mix64(h ^ mix64(np.uint64(b) + _GAMMA))
    return h


@njit(cache=True, inline="always")
def next_u64(state):
    """(uniform uint64, new state)."""
    state = state + _GAMMA
    return mix64(state), state


@njit(cache=True, inline="always")
def next_double(state):
    """(uniform float64 in [0, 1) with 53 random bits, new state)."""
    state = state + _GAMMA
    return np.float64(mix64(state) >> np.uint64(11)) * _TWO_POW_M53, state


@njit(cache=True, inline="always")
def next_below(state, n):
    """(uniform int64 in [0, n), new state) for 1 <= n < 2**53.

    Computed as floor(u * n) from a 53-bit uniform u: no division, and a bias of at most
    n / 2**53 in any outcome's probability (below 1e-6 for every n this project uses).
    """
    u, state = next_double(state)
    k = np.int64(u * n)
    if k >= n:  # cannot happen for n < 2**53; kept so the result is provably in range
        k = n - 1
    return k, state


# --------------------------------------------------------------------------------------------
# Ziggurat tables (256 layers, 52-bit magnitudes).  Layer i >= 1 is the rectangle
# [0, x_i] x [f(x_i), f(x_{i-1})] with x_255 = R the start of the tail; layer 0 is the base strip
# together with the tail.  K[i] = floor(x_{i-1} / x_i * 2**52) is the fast-accept threshold.
# --------------------------------------------------------------------------------------------
_ZIG_R = 3.6541528853610088
_ZIG_V = 4.92867323399e-3


def _ziggurat_tables():
    m = 2.0**52
    k = np.zeros(256, dtype=np.uint64)
    w = np.zeros(256, dtype=np.float64)
    f = np.zeros(256, dtype=np.float64)
    dn = _ZIG_R
    tn = dn
    q = _ZIG_V / math.exp(-0.5 * dn * dn)
    k[0] = np.uint64((dn / q) * m)
    k[1] = np.uint64(0)
    w[0] = q / m
    w[255] = dn / m
    f[0] = 1.0
    f[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(_ZIG_V / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = np.uint64((dn / tn) * m)
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / m
    return k, w, f


ZIG_K, ZIG_W, ZIG_F = _ziggurat_tables()
_ZIG_INV_R = 1.0 / _ZIG_R


@njit(cache=True, inline="always")
def next_normal(state):
    """(standard normal float64, new state), by the ziggurat method.

    Bits of one 64-bit draw: 0-7 layer, 8 sign, 12-63 magnitude.  The fast path (about 99% of
    draws) is inlined into the caller; rejected draws go to :func:`_normal_slow_path`, which
    starts over with fresh 64-bit numbers.  Consumption of the stream is data dependent but
    fixed by the state: the same state always gives the same variate and the same new state.
    """
    state = state + _GAMMA
    bits = mix64(state)
    layer = np.int64(bits & np.uint64(0xFF))
    magnitude = bits >> np.uint64(12)
    if magnitude < ZIG_K[layer]:
        x = np.float64(magnitude) * ZIG_W[layer]
        return (-x if (bits >> np.uint64(8)) & np.uint64(1) else x), state
    return _normal_slow_path(state, bits)


@njit(cache=True)
def _normal_slow_path(state, bits):
    """The ziggurat's wedge and tail tests for a draw that failed the fast test."""
    while True:
        layer = np.int64(bits & np.uint64(0xFF))
        negative = (bits >> np.uint64(8)) & np.uint64(1)
        magnitude = bits >> np.uint64(12)
        x = np.float64(magnitude) * ZIG_W[layer]
        if magnitude < ZIG_K[layer]:
            return (-x if negative else x), state
        if layer == 0:
            # Tail beyond R (Marsaglia 1964): exponential proposals, accepted with prob. exp(..).
            while True:
                u1, state = next_double(state)
                u2, state = next_double(state)
                xt = -math.log(1.0 - u1) * _ZIG_INV_R
                yt = -math.log(1.0 - u2)
                if yt + yt >= xt * xt:
                    break
            x = _ZIG_R + xt
            return (-x if negative else x), state
        u, state = next_double(state)
        if ZIG_F[layer] + u * (ZIG_F[layer - 1] - ZIG_F[layer]) < math.exp(-0.5 * x * x):
            return (-x if negative else x), state
        state = state + _GAMMA
        bits = mix64(state)


@njit(cache=True)
def fill_normal(state, out):
    """Fill a 1-d float array with standard normals; return the new state."""
    for i in range(out.shape[0]):
        g, state = next_normal(state)
        out[i] = g
    return state


# One 64-bit draw split in two (toy-model data, basin evaluation sets): the high 32 bits
# decide whether a feature is present (compared with p 2^32), the low 32 bits give its uniform
# value in [0, 1).
HIGH_SHIFT = np.uint64(32)
LOW_MASK = np.uint64(0xFFFFFFFF)
LOW_SCALE = 1.0 / 4294967296.0


@njit(cache=True)
def fill_unit_normal(state, out):
    """Fill a 1-d float array with a uniformly random unit vector (standard normals divided by
    their norm, accumulated in order); return the new state."""
    norm2 = 0.0
    for i in range(out.shape[0]):
        g, state = next_normal(state)
        out[i] = g
        norm2 += g * g
    scale = 1.0 / math.sqrt(norm2)
    for i in range(out.shape[0]):
        out[i] *= scale
    return state


@njit(cache=True)
def permutation(state, n):
    """int64 (n,): a uniformly random permutation of 0..n-1 (Fisher-Yates from the top, one
    ``next_below`` per swap)."""
    order = np.arange(n)
    for i in range(n - 1, 0, -1):
        j, state = next_below(state, i + 1)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp
    return order


@njit(cache=True)
def fill_double(state, out):
    """Fill a 1-d float array with uniforms in [0, 1); return the new state."""
    for i in range(out.shape[0]):
        u, state = next_double(state)
        out[i] = u
    return state


def normals(seed: int, domain: int, a: int, b: int, n: int) -> np.ndarray:
    """float64 array of shape (n,): the first n normals of a stream (for tests and small uses)."""
    out = np.empty(n, dtype=np.float64)
    # np.uint64: a boxed state >= 2**63 would otherwise be typed as int64 and overflow.
    fill_normal(np.uint64(stream_state(seed, domain, a, b)), out)
    return out


def uniforms(seed: int, domain: int, a: int, b: int, n: int) -> np.ndarray:
    """float64 array of shape (n,): the first n uniforms in [0, 1) of a stream."""
    out = np.empty(n, dtype=np.float64)
    fill_double(np.uint64(stream_state(seed, domain, a, b)), out)
    return out
