"""BatchTopK, JumpReLU, Matryoshka and AuxK against slow references and finite differences, and
the identities of SPEC-sae-hierarchy section 6 (checks 1-4)."""

import numba
import numpy as np
import pytest
import sae_reference as ref

from percolation_tms.sae import SAEConfig, _kernels, encode, train_sae
from percolation_tms.sae.train import Parameters, SparseAutoencoder, _Trainer, loss_and_gradients


def random_params(n_latents, dim, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    atoms = rng.standard_normal((n_latents, dim))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    return Parameters(rng.standard_normal((n_latents, dim)),
                      rng.standard_normal(n_latents) * 0.3 + shift, atoms,
                      rng.standard_normal(dim) * 0.2)


def finite_difference(loss, params, h=1e-6):
    out = []
    for index in range(4):
        numeric = np.zeros_like(params[index])
        for position in np.ndindex(params[index].shape):
            shifted = [p.copy() for p in params]
            shifted[index][position] += h
            up = loss(shifted)
            shifted[index][position] -= 2 * h
            numeric[position] = (up - loss(shifted)) / (2 * h)
        out.append(numeric)
    return out


def assert_gradients(grads, numeric):
    for name, got, want in zip(Parameters._fields, grads, numeric):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=name)


def well_separated_batch(k, n_latents=7, dim=5, rows=6, seed=3):
    """A draw whose K-th and (K+1)-th batch values are apart (so the selection is smooth)."""
    for s in range(seed, seed + 200):
        params = random_params(n_latents, dim, s)
        x = np.random.default_rng(s + 1).standard_normal((rows, dim))
        pre = ref.preactivations(params, x)
        ranked = -np.sort(-pre[pre > 0])
        n_keep = k * rows
        if ranked.size > n_keep and (ranked[n_keep - 1] - ranked[n_keep]) > 1e-3 \
                and np.abs(pre).min() > 1e-3:
            return params, x
    raise AssertionError("no well-separated draw")


@pytest.mark.parametrize("kind", ["batchtopk", "matryoshka"])
def test_batch_kinds_loss_and_gradients_match_the_reference(kind):
    params, x = well_separated_batch(k=2, n_latents=8)
    config = SAEConfig(kind=kind, k=2, dict_ratio=8 / 5, aux_coefficient=0.0,
                       width_fractions=(0.25, 0.5, 1.0))
    ends = (2, 4, 8) if kind == "matryoshka" else (8,)
    loss, grads, _ = loss_and_gradients(params, x, config=config)
    assert loss == pytest.approx(ref.matryoshka_loss(params, x, 2, ends), rel=1e-12)
    # the selection is frozen under tiny perturbations: differentiate the reference loss
    assert_gradients(grads, finite_difference(lambda p: ref.matryoshka_loss(p, x, 2, ends),
                                              list(params)))


@pytest.mark.parametrize("penalty", ["tanh", "step"])
def test_jumprelu_loss_and_gradients_match_the_reference(penalty):
    for seed in range(100):
        params = random_params(7, 5, seed)
        x = np.random.default_rng(seed + 50).standard_normal((6, 5))
        theta = np.random.default_rng(seed + 9).uniform(0.05, 0.6, 7)
        if np.abs(ref.preactivations(params, x) - theta).min() > 1e-3:
            break
    lam, c, eps = 0.3, 4.0, 0.8
    config = SAEConfig(kind="jumprelu", l0_coefficient=lam, sparsity=penalty, tanh_scale=c,
                       bandwidth=eps, aux_coefficient=0.0, dict_ratio=7 / 5)
    loss, grads, grad_theta = loss_and_gradients(params, x, config=config, threshold=theta)
    assert loss == pytest.approx(ref.jumprelu_loss(params, x, theta, lam, c, penalty),
                                 rel=1e-12)
    assert_gradients(grads, finite_difference(
        lambda p: ref.jumprelu_loss(p, x, theta, lam, c, penalty), list(params)))
    # Threshold gradients: the straight-through estimator, written out densely.
    z = ref.preactivations(params, x)
    a = np.where(z > theta, z, 0.0)
    err = a @ params.atoms + params.b_dec - x
    window = np.abs(z - theta) < eps / 2
    dl_da = 2 * err @ params.atoms.T
    if penalty == "tanh":
        dl_da = dl_da + lam * c * (1 - np.tanh(c * a) ** 2)
    g = -(theta / eps) * dl_da * window
    if penalty == "step":
        g = g - lam / eps * window
    np.testing.assert_allclose(grad_theta, g.mean(axis=0), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("penalty", ["tanh", "step"])
def test_ste_to_input_passes_the_threshold_gradients_on_to_z(penalty):
    """dloss/dz_rj gains -dloss/dtheta_j of row r (SPEC 1.4) for every latent in the window,
    firing or not: the encoder, b_enc and (through W_enc^T) b_dec gradients change by that
    term, the atoms' not at all, the thresholds' not at all."""
    params = random_params(7, 5, 3)
    x = np.random.default_rng(53).standard_normal((6, 5))
    theta = np.random.default_rng(12).uniform(0.05, 0.6, 7)
    lam, c, eps = 0.3, 4.0, 0.8
    common = {"kind": "jumprelu", "l0_coefficient": lam, "sparsity": penalty,
              "tanh_scale": c, "bandwidth": eps, "aux_coefficient": 0.0, "dict_ratio": 7 / 5}
    loss, grads, grad_theta = loss_and_gradients(params, x, config=SAEConfig(**common),
                                                 threshold=theta)
    loss_ste, grads_ste, grad_theta_ste = loss_and_gradients(
        params, x, config=SAEConfig(**common, ste_to_input=True), threshold=theta)
    assert loss_ste == loss
    np.testing.assert_array_equal(grad_theta_ste, grad_theta)
    z = ref.preactivations(params, x)
    a = np.where(z > theta, z, 0.0)
    err = a @ params.atoms + params.b_dec - x
    window = np.abs(z - theta) < eps / 2
    assert (window & (a == 0)).any()  # the test needs latents in the window that do not fire
    dl_da = 2 * err @ params.atoms.T
    if penalty == "tanh":
        dl_da = dl_da + lam * c * (1 - np.tanh(c * a) ** 2)
    g_theta = -(theta / eps) * dl_da * window - (lam / eps * window if penalty == "step" else 0)
    extra = -g_theta / x.shape[0]  # d(mean loss)/dz_rj gained
    xc = x - params.b_dec
    np.testing.assert_allclose(grads_ste.enc, grads.enc + extra.T @ xc, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads_ste.b_enc, grads.b_enc + extra.sum(axis=0), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(grads_ste.b_dec, grads.b_dec - params.enc.T @ extra.sum(axis=0),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(grads_ste.atoms, grads.atoms)


@pytest.mark.parametrize("penalty", ["tanh", "step"])
def test_threshold_gradients_sum_the_window_directly_or_as_its_complement(penalty):
    """threshold_gradients sums a latent's errors over the rows in its window directly when
    they are at most half the batch, else as all rows minus the rows outside: both ways give
    the dense straight-through sum (and the per-row kernel's, summed), on a batch where some
    latents have few rows in the window and others most."""
    n_latents, dim, rows = 40, 6, 50
    params = random_params(n_latents, dim, 5)
    x = np.random.default_rng(6).standard_normal((rows, dim))
    theta = np.random.default_rng(7).uniform(0.05, 0.6, n_latents)
    lam, c, eps = 0.3, 4.0, 0.8
    config = SAEConfig(kind="jumprelu", l0_coefficient=lam, sparsity=penalty, tanh_scale=c,
                       bandwidth=eps, aux_coefficient=0.0, dict_ratio=n_latents / dim)
    # encoder rows from tiny to unit scale, biased to sit just above theta: windows hold
    # from most of the rows (z close to theta + 0.1, firing or not) to a few
    scale = np.linspace(0.02, 1.0, n_latents)[:, None]
    params = params._replace(enc=params.enc * scale, b_enc=theta + 0.1)
    z = ref.preactivations(params, x)
    window = np.abs(z - theta) < eps / 2
    in_window = window.sum(axis=0)
    assert (in_window <= rows // 2).any() and (in_window > rows // 2).any()
    _, _, grad_theta = loss_and_gradients(params, x, config=config, threshold=theta)
    a = np.where(z > theta, z, 0.0)
    err = a @ params.atoms + params.b_dec - x
    dl_da = 2 * err @ params.atoms.T
    if penalty == "tanh":
        dl_da = dl_da + lam * c * (1 - np.tanh(c * a) ** 2)
    g = -(theta / eps) * dl_da * window - (lam / eps * window if penalty == "step" else 0.0)
    np.testing.assert_allclose(grad_theta, g.mean(axis=0), rtol=1e-10, atol=1e-12)
    trainer = _Trainer(Parameters(*(p.copy() for p in params)),
                       SAEConfig(**{**config.__dict__, "ste_to_input": True}), rows)
    trainer.threshold[:] = theta
    trainer.evaluate(x, np.arange(rows, dtype=np.int64), update=False)
    np.testing.assert_allclose(trainer.buffers.theta_rows.sum(axis=0) / rows, grad_theta,
                               rtol=1e-10, atol=1e-12)


def test_jumprelu_step_threshold_gradient_is_the_penalty_term_at_theta_zero():
    params = random_params(9, 4, 2)
    x = np.random.default_rng(4).standard_normal((12, 4))
    lam, eps = 0.7, 1.5
    config = SAEConfig(kind="jumprelu", l0_coefficient=lam, sparsity="step", bandwidth=eps,
                       aux_coefficient=0.0, dict_ratio=9 / 4)
    _, _, grad_theta = loss_and_gradients(params, x, config=config, threshold=np.zeros(9))
    rows_in_window = (np.abs(ref.preactivations(params, x)) < eps / 2).sum(axis=0)
    np.testing.assert_allclose(grad_theta, -lam / (eps * 12) * rows_in_window, rtol=1e-12)


def test_auxk_gradients_with_the_residual_frozen():
    params, x = well_separated_batch(k=1, n_latents=8, rows=5, seed=30)
    dead = np.zeros(8, dtype=bool)
    dead[[1, 4, 6]] = True
    config = SAEConfig(kind="topk", k=1, dict_ratio=8 / 5, aux_coefficient=0.5, aux_k=2)
    loss, grads, _ = loss_and_gradients(params, x, config=config, dead=dead)
    codes = ref.activations(list(params), x, top_k=1)
    residual = x - (codes @ params.atoms + params.b_dec)

    def total(p):
        return ref.loss(p, x, 1) + ref.auxk_loss(p, x, residual, dead, 2, 0.5)

    assert loss == pytest.approx(total(list(params)), rel=1e-12)
    assert_gradients(grads, finite_difference(total, list(params)))


def test_batch_top_k_keeps_the_largest_floor_kb_entries():
    rng = np.random.default_rng(0)
    pre = rng.standard_normal((16, 30))
    pre[3, :5] = pre[2, 7]  # ties across rows go to the lower row-major index
    for k in (1, 2, 5):
        act_index = np.zeros((16, 30), dtype=np.int64)
        n_active = np.zeros(16, dtype=np.int64)
        low = _kernels.batch_top_k(pre, k, 16 * k, act_index, n_active,
                                   _kernels.batch_work(16, 30))
        got = np.zeros_like(pre)
        for r in range(16):
            got[r, act_index[r, :n_active[r]]] = pre[r, act_index[r, :n_active[r]]]
        want = ref.batch_top_k(pre, k)
        np.testing.assert_array_equal(got, want)
        assert n_active.sum() == 16 * k and low == want[want > 0].min()
    few = -np.abs(pre)
    few[0, 0], few[5, 3] = 1.0, 2.0  # fewer positive entries than k B: all of them
    n_active = np.zeros(16, dtype=np.int64)
    _kernels.batch_top_k(few, 2, 32, np.zeros((16, 30), dtype=np.int64), n_active,
                         _kernels.batch_work(16, 30))
    assert n_active.sum() == 2


def test_batch_top_k_of_one_row_is_top_k_and_eta_one_gives_the_batch_minimum():
    x = np.random.default_rng(1).standard_normal((40, 6))
    start = random_params(10, 6, 2)
    topk = _Trainer(Parameters(*(p.copy() for p in start)), SAEConfig(kind="topk", k=3), 1)
    batch = _Trainer(Parameters(*(p.copy() for p in start)),
                     SAEConfig(kind="batchtopk", k=3, aux_coefficient=0.0,
                               threshold_lr=1.0), 1)
    for r in range(40):
        rows = np.array([r], dtype=np.int64)
        assert topk.train_step(x, rows) == batch.train_step(x, rows)
        kept = batch.buffers.act_value[0, :batch.buffers.n_active[0]]
        assert batch.batch_threshold == kept.min()
    for a, b in zip(topk.params, batch.params):
        np.testing.assert_array_equal(a, b)


def test_matryoshka_with_one_width_is_batchtopk_bit_for_bit():
    X = np.random.default_rng(2).standard_normal((900, 8))
    runs = [train_sae(X, SAEConfig(kind=kind, k=3, dict_ratio=2, epochs=2, seed=4,
                                   batch_size=100, width_fractions=(1.0,)))
            for kind in ("batchtopk", "matryoshka")]
    for a, b in zip(runs[0].sae.params, runs[1].sae.params):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(runs[0].epoch_loss, runs[1].epoch_loss)


def test_matryoshka_level_ignores_later_latents():
    params, x = well_separated_batch(k=2, n_latents=8)
    config = SAEConfig(kind="matryoshka", k=2, dict_ratio=8 / 5, aux_coefficient=0.0,
                       width_fractions=(0.25, 0.5, 1.0))
    _, grads, _ = loss_and_gradients(params, x, config=config)
    changed = Parameters(params.enc, params.b_enc, params.atoms.copy(), params.b_dec)
    changed.atoms[4:] = np.roll(changed.atoms[4:], 1, axis=0)  # only latents >= m_2 = 4
    codes = ref.batch_top_k(ref.preactivations(params, x), 2)
    # level losses of the first two levels do not see latents >= 4
    for end in (2, 4):
        assert ref.matryoshka_loss(params, x, 2, (end,), codes) == \
            ref.matryoshka_loss(changed, x, 2, (end,), codes)
    assert np.isfinite(grads.atoms).all()


def test_jumprelu_at_zero_threshold_and_penalty_is_relu_bit_for_bit():
    X = np.random.default_rng(3).standard_normal((700, 6))
    relu = train_sae(X, SAEConfig(kind="relu", l1=0.0, dict_ratio=2, epochs=2, seed=1))
    jump = train_sae(X, SAEConfig(kind="jumprelu", l0_coefficient=0.0, threshold_init=0.0,
                                  aux_coefficient=0.0, dict_ratio=2, epochs=2, seed=1))
    for a, b in zip(relu.sae.params, jump.sae.params):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(relu.epoch_loss, jump.epoch_loss)
    assert (jump.sae.threshold == 0).all()


def test_threshold_codes_do_not_depend_on_the_chunk():
    X = np.random.default_rng(4).standard_normal((3000, 8))
    sae = train_sae(X, SAEConfig(kind="batchtopk", k=3, dict_ratio=2, epochs=1)).sae
    assert sae.kind == "batchtopk" and sae.threshold.min() > 0
    one = encode(sae, X[:300], chunk=1).activations
    many = encode(sae, X[:300], chunk=2048).activations
    assert (one != many).nnz == 0
    back = SparseAutoencoder.from_arrays(sae.to_arrays())
    assert back.kind == "batchtopk"
    np.testing.assert_array_equal(back.threshold, sae.threshold)


@pytest.mark.parametrize("kind, extra", [
    ("batchtopk", {"k": 3}), ("jumprelu", {"l0_coefficient": 0.2}),
    ("jumprelu", {"l0_coefficient": 0.2, "ste_to_input": True}),
    ("matryoshka", {"k": 3}), ("topk", {"k": 3, "aux_coefficient": 1.0}),
])
def test_new_kinds_are_bit_identical_on_reruns_and_thread_counts(kind, extra):
    X = np.random.default_rng(5).standard_normal((2000, 8)) ** 3  # heavy tails: dead latents
    config = SAEConfig(kind=kind, dict_ratio=4, epochs=2, seed=2, dead_window=3, **extra)
    previous = numba.get_num_threads()
    runs = []
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS), 1):
            numba.set_num_threads(threads)
            runs.append(train_sae(X, config))
    finally:
        numba.set_num_threads(previous)
    for other in runs[1:]:
        for a, b in zip(runs[0].sae.params, other.sae.params):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(runs[0].sae.threshold, other.sae.threshold)
        np.testing.assert_array_equal(runs[0].epoch_loss, other.epoch_loss)


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "batchtopk"}, "k must be a finite number > 0"),
    ({"kind": "jumprelu", "k": 2}, "applies to kind 'topk' only"),
    ({"kind": "topk", "k": 2, "l0_coefficient": 0.1}, "applies to kind 'jumprelu' only"),
    ({"kind": "jumprelu", "bandwidth": 0.0}, "bandwidth must be"),
    ({"kind": "jumprelu", "sparsity": "l2"}, "sparsity must be one of"),
    ({"kind": "matryoshka", "k": 2, "width_fractions": (0.5, 0.4, 1.0)}, "width_fractions"),
    ({"kind": "matryoshka", "k": 2, "width_fractions": (0.5,)}, "width_fractions"),
    ({"kind": "relu", "aux_coefficient": 1.0}, "no AuxK loss"),
    ({"kind": "batchtopk", "k": 2, "threshold_lr": 0.0}, "threshold_lr must be"),
    ({"kind": "topk", "k": 2, "ste_to_input": True}, "ste_to_input applies to kind 'jumprelu'"),
    ({"kind": "topk", "k": 2, "aux_k": 0}, "aux_k must be an integer >= 1"),
])
def test_bad_architecture_settings_are_refused_with_their_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SAEConfig(**kwargs)


def test_fractional_k_keeps_floor_k_b_entries_per_batch():
    x = np.random.default_rng(12).standard_normal((64, 6))
    for kind in ("batchtopk", "matryoshka"):
        extra = {"width_fractions": (0.5, 1.0)} if kind == "matryoshka" else {}
        trainer = _Trainer(random_params(12, 6, 4), SAEConfig(kind=kind, k=2.5, **extra), 16)
        for start in range(0, 64, 16):
            rows = np.arange(start, start + 16, dtype=np.int64)
            trainer.train_step(x, rows)
            assert trainer.buffers.n_active[:16].sum() == 40  # floor(2.5 x 16)
        codes = ref.batch_top_k(ref.preactivations(trainer.params, x[:16]), 2.5)
        trainer.evaluate(x, np.arange(16, dtype=np.int64), update=False)
        got = np.zeros_like(codes)
        for r in range(16):
            kept = trainer.buffers.act_index[r, :trainer.buffers.n_active[r]]
            got[r, kept] = trainer.buffers.act_value[r, :trainer.buffers.n_active[r]]
        np.testing.assert_allclose(got, codes, rtol=1e-12, atol=1e-12)
    trainer = _Trainer(random_params(12, 6, 4), SAEConfig(kind="batchtopk", k=0.01), 16)
    trainer.train_step(x, np.arange(16, dtype=np.int64))  # floor(0.16) = 0: nothing kept
    assert trainer.buffers.n_active[:16].sum() == 0


@pytest.mark.parametrize("config, message", [
    ({"kind": "topk", "k": 2.5}, "integer >= 1 for kind 'topk'"),
    ({"kind": "batchtopk", "k": 0}, "k must be a finite number > 0"),
    ({"kind": "matryoshka", "k": -1.5}, "k must be a finite number > 0"),
])
def test_k_is_checked_per_kind(config, message):
    with pytest.raises(ValueError, match=message):
        SAEConfig(**config)
    whole = SAEConfig(kind="topk", k=8.0)  # a list of floats from the CLI gives 8.0
    assert whole.k == 8 and isinstance(whole.k, int) and whole.sparsity_label() == "k 8"
