"""Every kernel of the SAE stage against a slow numpy version on small inputs."""

import numpy as np
import pytest
import sae_reference as ref
from scipy import sparse

from percolation_tms._rng import DOMAIN_SAE_BATCH, DOMAIN_SAE_INIT, DOMAIN_SAE_SYNTHETIC
from percolation_tms.sae import _kernels
from percolation_tms.sae.config import SAEConfig
from percolation_tms.sae.score import mean_max_cosine_similarity, score_features, select_features
from percolation_tms.sae.synthetic import make_known_dictionary_data
from percolation_tms.sae.train import (
    Parameters,
    SparseAutoencoder,
    _Trainer,
    encode,
    initial_parameters,
    loss_and_gradients,
)


def random_params(n_latents, dim, seed, b_enc_shift=0.0):
    rng = np.random.default_rng(seed)
    atoms = rng.standard_normal((n_latents, dim))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    return Parameters(rng.standard_normal((n_latents, dim)),
                      rng.standard_normal(n_latents) * 0.3 + b_enc_shift, atoms,
                      rng.standard_normal(dim) * 0.2)


def test_select_top_k_matches_a_sort_with_ties_to_the_lower_index():
    rng = np.random.default_rng(0)
    for trial in range(2000):
        m = int(rng.integers(1, 30))
        k = int(rng.integers(1, m + 1))
        # Integer values make ties common; negatives and zeros test the ReLU after TopK.
        pre = rng.integers(-3, 4, size=m).astype(float) if trial % 2 else rng.standard_normal(m)
        out = np.empty(m, dtype=np.int64)
        count = _kernels.select_top_k(pre, k, out)
        chosen = sorted(range(m), key=lambda j: (-pre[j], j))[:k]
        assert list(out[:count]) == sorted(j for j in chosen if pre[j] > 0)


@pytest.mark.parametrize("top_k", [0, 3])
def test_gradients_match_the_dense_chain_rule(top_k):
    x = np.random.default_rng(1).standard_normal((9, 5))
    params = random_params(7, 5, seed=2)
    l1 = 0.4 if top_k == 0 else 0.0
    loss, grads = loss_and_gradients(params, x, top_k, l1)
    assert loss == pytest.approx(ref.loss(params, x, top_k, l1), rel=1e-12)
    for name, got, want in zip(Parameters._fields, grads, ref.gradients(params, x, top_k, l1)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("top_k", [0, 2])
def test_gradients_match_finite_differences(top_k):
    x = np.random.default_rng(3).standard_normal((6, 4))
    params = random_params(5, 4, seed=4)
    l1 = 0.3 if top_k == 0 else 0.0
    # The loss is smooth away from pre-activations at 0 and TopK boundaries; this draw keeps
    # well away from them, so central differences with h = 1e-6 are accurate to ~1e-8.
    pre = (x - params.b_dec) @ params.enc.T + params.b_enc
    assert np.abs(pre).min() > 1e-3
    if top_k:
        ranked = -np.sort(-pre, axis=1)
        assert (ranked[:, top_k - 1] - ranked[:, top_k]).min() > 1e-3
    _, grads = loss_and_gradients(params, x, top_k, l1)
    h = 1e-6
    for index, name in enumerate(Parameters._fields):
        numeric = np.zeros_like(params[index])
        for position in np.ndindex(params[index].shape):
            shifted = [p.copy() for p in params]
            shifted[index][position] += h
            up = ref.loss(shifted, x, top_k, l1)
            shifted[index][position] -= 2 * h
            numeric[position] = (up - ref.loss(shifted, x, top_k, l1)) / (2 * h)
        np.testing.assert_allclose(grads[index], numeric, rtol=1e-6, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("kind", ["relu", "topk"])
def test_training_steps_match_constrained_adam(kind):
    x = np.random.default_rng(5).standard_normal((20, 6))
    start = random_params(8, 6, seed=6)
    config = SAEConfig(kind=kind, l1=0.2 if kind == "relu" else 0.0,
                       k=3 if kind == "topk" else 0, lr=0.01)
    trainer = _Trainer(Parameters(*(p.copy() for p in start)), config, batch_size=8)
    params = list(start)
    moment1 = [np.zeros_like(p) for p in start]
    moment2 = [np.zeros_like(p) for p in start]
    for step, rows in enumerate([np.arange(8), np.arange(8, 16), np.arange(16, 20)], start=1):
        rows = rows.astype(np.int64)
        loss = trainer.train_step(x, rows)
        assert loss == pytest.approx(ref.loss(params, x[rows], trainer.top_k, config.l1))
        grads = ref.gradients(params, x[rows], trainer.top_k, config.l1)
        params, moment1, moment2 = ref.adam_step(params, grads, moment1, moment2, step,
                                                 config.lr)
    for name, got, want in zip(Parameters._fields, trainer.params, params):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=name)


def test_encode_matches_the_dense_forward_pass():
    x = np.random.default_rng(7).standard_normal((50, 6)) * 3 + 1
    params = random_params(10, 6, seed=8)
    sae = SparseAutoencoder(params, x.mean(axis=0), 2.0, top_k=0, l1=0.0)
    encoding = encode(sae, x, chunk=16)  # several chunks, the last one partial
    xs = (x - x.mean(axis=0)) / 2.0
    f = ref.activations(params, xs)
    np.testing.assert_allclose(encoding.activations.toarray(), f, rtol=1e-12, atol=1e-12)
    assert encoding.activations.data.min() > 0  # only active entries are stored
    err = f @ params.atoms + params.b_dec - xs
    np.testing.assert_allclose(encoding.sq_err, (err ** 2).sum(axis=1), rtol=1e-12)
    assert encoding.fvu == pytest.approx((err ** 2).sum() / ((xs - xs.mean(0)) ** 2).sum())
    assert encoding.mean_l0 == pytest.approx((f > 0).sum() / 50)


@pytest.mark.parametrize("n_rows, m", [(12, 7), (30, 150)])  # one block of latents, three
def test_latent_major_lists_each_latents_rows_in_order(n_rows, m):
    rng = np.random.default_rng(9)
    act_index = np.zeros((n_rows, m), dtype=np.int64)
    n_active = rng.integers(0, m + 1, size=n_rows)
    for r in range(n_rows):
        act_index[r, :n_active[r]] = np.sort(rng.choice(m, n_active[r], replace=False))
    offsets = np.empty(m + 1, dtype=np.int64)
    entry_row = np.empty(n_rows * m, dtype=np.int64)
    entry_slot = np.empty(n_rows * m, dtype=np.int64)
    _kernels.latent_major(act_index, n_active, m, offsets, entry_row, entry_slot)
    for j in range(m):
        want = [(r, t) for r in range(n_rows) for t in range(n_active[r]) if act_index[r, t] == j]
        got = list(zip(entry_row[offsets[j]:offsets[j + 1]], entry_slot[offsets[j]:offsets[j + 1]]))
        assert got == want


def test_shuffled_order_is_fisher_yates_on_the_epochs_stream():
    for n, epoch in [(1, 0), (2, 3), (57, 1)]:
        got = _kernels.shuffled_order(n, 11, DOMAIN_SAE_BATCH, epoch)
        np.testing.assert_array_equal(got, ref.fisher_yates(n, 11, DOMAIN_SAE_BATCH, epoch))


def test_initial_dictionary_is_normalised_stream_normals_and_nested():
    params = initial_parameters(9, 5, seed=4, b_dec=np.zeros(5))
    want = ref.unit_gaussian_rows(4, DOMAIN_SAE_INIT, 0, 9, 5)
    np.testing.assert_allclose(params.atoms, want, rtol=1e-14)
    np.testing.assert_array_equal(params.enc, params.atoms)  # tied initialisation
    scaled = initial_parameters(9, 5, seed=4, b_dec=np.zeros(5), encoder_scale=0.25)
    np.testing.assert_array_equal(scaled.enc, 0.25 * params.atoms)
    # A smaller dictionary is the start of a larger one (a sweep over sizes shares atoms).
    np.testing.assert_array_equal(initial_parameters(4, 5, 4, np.zeros(5)).atoms,
                                  params.atoms[:4])


def test_synthetic_data_matches_the_one_draw_at_a_time_sampler():
    data = make_known_dictionary_data(40, 6, 9, mean_active=2.0, decay=0.7, seed=3)
    np.testing.assert_allclose(data.dictionary,
                               ref.unit_gaussian_rows(3, DOMAIN_SAE_SYNTHETIC, 0, 9, 6),
                               rtol=1e-14)
    for i in range(40):
        features, coefficients, x = ref.synthetic_sample(3, DOMAIN_SAE_SYNTHETIC,
                                                         data.probability, data.dictionary, i)
        row = data.coefficients[i]
        assert list(row.indices) == features
        np.testing.assert_array_equal(row.data, coefficients)
        np.testing.assert_allclose(data.X[i], x, rtol=1e-12, atol=1e-15)


def test_best_latent_matches_against_dense_correlations():
    rng = np.random.default_rng(12)
    n, m, n_features = 60, 8, 15
    A = np.where(rng.random((n, m)) < 0.3, rng.random((n, m)) + 0.1, 0.0)
    A[:, 5] = 0.0  # a dead latent correlates 0
    M = rng.random((n, n_features)) < rng.uniform(0.05, 0.6, n_features)
    M[:, 3] = True  # a feature covering every point has no correlation
    M[:, 4] = False
    M[7, 4] = True  # a one-point feature
    features = select_features(sparse.csr_matrix(M.astype(float)))
    got = score_features(sparse.csr_matrix(A), features)
    best, pearson, f1_of_best, f1_best = ref.best_matches(A, M)
    finite = np.isfinite(pearson)
    np.testing.assert_array_equal(got.best_latent[finite], best[finite])
    np.testing.assert_allclose(got.pearson, pearson, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.f1[finite], f1_of_best[finite], rtol=1e-12)
    np.testing.assert_allclose(got.f1_max, f1_best, rtol=1e-12)


def test_max_cosine_against_dense_products():
    rng = np.random.default_rng(13)
    dictionary, decoder = rng.standard_normal((6, 4)), rng.standard_normal((4, 9))
    got = mean_max_cosine_similarity(dictionary, decoder)
    cosines = (dictionary / np.linalg.norm(dictionary, axis=1, keepdims=True)) @ (
        decoder / np.linalg.norm(decoder, axis=0, keepdims=True))
    np.testing.assert_array_equal(got.best_atom, cosines.argmax(axis=1))
    np.testing.assert_allclose(got.cosine, cosines.max(axis=1), rtol=1e-12)
    assert got.mmcs == pytest.approx(cosines.max(axis=1).mean())
