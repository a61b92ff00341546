"""Training: recovery of a known dictionary, determinism, standardisation, validation."""

import re

import numba
import numpy as np
import pytest

from percolation_tms.sae import (
    SAEConfig,
    encode,
    make_known_dictionary_data,
    mean_max_cosine_similarity,
    score_features,
    select_features,
    sweep_configs,
    train_sae,
)
from percolation_tms.sae.train import SparseAutoencoder


@pytest.fixture(scope="module")
def known_dictionary():
    # The seed's setup at small scale: 64 directions in 32 dimensions (2x overcomplete), three
    # active per point on average, coefficients uniform in (0, 1].
    return make_known_dictionary_data(20_000, 32, 64, mean_active=3.0, decay=0.0, seed=0)


@pytest.mark.parametrize("config", [
    SAEConfig(kind="relu", dict_ratio=4, l1=2.0, lr=3e-3, epochs=10, seed=1),
    SAEConfig(kind="topk", dict_ratio=4, k=3, lr=1e-3, epochs=10, seed=1),
], ids=["relu", "topk"])
def test_a_tuned_sae_recovers_the_known_dictionary(known_dictionary, config):
    result = train_sae(known_dictionary.X, config)
    assert result.epoch_loss[-1] < result.epoch_loss[0]
    # The bound: mean max cosine similarity above 0.9.
    match = mean_max_cosine_similarity(known_dictionary.dictionary, result.sae.W_dec)
    assert match.mmcs > 0.9
    # Recovered directions are recovered in activation space too.  A latent equal to a
    # direction's coefficient (uniform in (0, 1] when present, probability p = 3/64) would
    # correlate sqrt(1 - p) / (2 sqrt(1/3 - p/4)) = 0.86 with the direction's presence; a
    # trained SAE's activations are shrunk and mixed, so ask for 70% of that.
    recovery = score_features(encode(result.sae, known_dictionary.X).activations,
                              select_features(known_dictionary.coefficients))
    assert np.median(recovery.pearson[match.cosine > 0.9]) > 0.6


def test_training_is_bit_identical_on_reruns_and_thread_counts(known_dictionary):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 numba threads")
    X = known_dictionary.X[:3000]
    runs = []
    previous = numba.get_num_threads()
    try:
        for threads in (1, 2, 2):
            numba.set_num_threads(threads)
            for config in (SAEConfig(kind="relu", dict_ratio=2, l1=1.0, epochs=2, seed=5,
                                     batch_size=100),
                           SAEConfig(kind="topk", dict_ratio=2, k=4, epochs=2, seed=5)):
                result = train_sae(X, config)
                encoding = encode(result.sae, X)
                recovery = score_features(encoding.activations,
                                          select_features(known_dictionary.coefficients[:3000]))
                data = make_known_dictionary_data(500, 8, 12, 2.0, 0.5, seed=2)
                runs.append([*result.sae.params, result.epoch_loss, encoding.activations.data,
                             encoding.activations.indices, recovery.pearson, recovery.f1_max,
                             data.X, data.coefficients.data])
    finally:
        numba.set_num_threads(previous)
    # runs: [relu, topk] at 1 thread, at 2 threads, and again at 2 threads.
    for a, b in zip(runs[:2], runs[2:4]):  # 1 thread vs 2 threads
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    for a, b in zip(runs[2:4], runs[4:6]):  # rerun
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_seeds_change_the_initialisation_and_order(known_dictionary):
    X = known_dictionary.X[:1000]
    a = train_sae(X, SAEConfig(kind="topk", dict_ratio=1, k=2, epochs=1, seed=0))
    b = train_sae(X, SAEConfig(kind="topk", dict_ratio=1, k=2, epochs=1, seed=1))
    assert not np.array_equal(a.sae.W_dec, b.sae.W_dec)


def test_standardisation_centres_and_scales_with_one_factor():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 5)) * np.array([1.0, 2.0, 3.0, 4.0, 5.0]) + 7.0
    sae = train_sae(X, SAEConfig(kind="topk", dict_ratio=1, k=1, epochs=1)).sae
    xs = sae.standardized(X)
    np.testing.assert_allclose(xs.mean(axis=0), 0.0, atol=1e-12)
    assert (xs ** 2).sum(axis=1).mean() == pytest.approx(5.0)
    # One factor for all coordinates: directions are kept (coordinate ratios unchanged).
    np.testing.assert_allclose(xs * sae.input_scale + sae.input_mean, X)
    raw = train_sae(X, SAEConfig(kind="topk", dict_ratio=1, k=1, epochs=1,
                                 standardize=False)).sae
    assert raw.input_scale == 1.0 and not raw.input_mean.any()


def test_weights_round_trip_through_arrays(known_dictionary):
    sae = train_sae(known_dictionary.X[:500], SAEConfig(kind="topk", dict_ratio=1, k=2,
                                                        epochs=1)).sae
    back = SparseAutoencoder.from_arrays(sae.to_arrays())
    for a, b in zip(sae.params, back.params):
        np.testing.assert_array_equal(a, b)
    assert (back.input_scale, back.top_k, back.l1) == (sae.input_scale, 2, 0.0)
    np.testing.assert_array_equal(sae.W_dec.shape, (32, 32))


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "sparse"}, "kind must be one of"),
    ({"dict_ratio": 0}, "dict_ratio must be a finite number > 0"),
    ({"l1": -1.0}, "l1 must be a finite number >= 0"),
    ({"l1": float("nan")}, "l1 must be"),
    ({"kind": "relu", "k": 3}, "applies to kind 'topk' only"),
    ({"kind": "topk", "k": 0}, "k must be an integer >= 1"),
    ({"kind": "topk", "k": 2, "l1": 1.0}, "applies to kind 'relu' only"),
    ({"epochs": 0}, "epochs must be an integer >= 1"),
    ({"batch_size": 2.5}, "batch_size must be an integer >= 1"),
    ({"lr": 0.0}, "lr must be a finite number > 0"),
    ({"beta2": 1.0}, "beta2 must be a finite number in [0, 1)"),
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"standardize": "yes"}, "standardize must be true or false"),
])
def test_bad_settings_are_refused_with_their_name(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        SAEConfig(**kwargs)


def test_k_larger_than_the_dictionary_is_refused():
    with pytest.raises(ValueError, match="k=9 exceeds the dictionary size 8"):
        train_sae(np.ones((10, 4)), SAEConfig(kind="topk", dict_ratio=2, k=9))


@pytest.mark.parametrize("X, message", [
    (np.ones(5), "X must be a 2-D array"),
    (np.ones((0, 3)), "X must be a 2-D array"),
    (np.array([[1.0, np.nan]]), "NaN or infinite"),
    (np.array([["a", "b"]]), "real numbers"),
])
def test_bad_inputs_are_refused(X, message):
    with pytest.raises(ValueError, match=message):
        train_sae(X, SAEConfig(kind="topk", dict_ratio=1, k=1))


def test_divergence_is_reported_not_hidden():
    X = np.random.default_rng(0).standard_normal((300, 4))
    with pytest.raises(ValueError, match="diverged"):
        train_sae(X, SAEConfig(kind="relu", dict_ratio=2, l1=0.1, lr=1e200, epochs=3))


def test_sweep_configs_cover_every_pair_and_refuse_the_wrong_parameter():
    base = SAEConfig(kind="relu", l1=1.0)
    configs = sweep_configs(base, [2, 4], l1_values=[0.5, 1.0, 2.0])
    assert [(c.dict_ratio, c.l1) for c in configs] == [
        (2, 0.5), (2, 1.0), (2, 2.0), (4, 0.5), (4, 1.0), (4, 2.0)]
    with pytest.raises(ValueError, match="k values apply to kind 'topk'"):
        sweep_configs(base, [2], l1_values=[1.0], k_values=[3])
    with pytest.raises(ValueError, match="kind 'topk' needs at least one k value"):
        sweep_configs(SAEConfig(kind="topk", k=1), [2])
    assert SAEConfig.from_dict(configs[4].to_dict()) == configs[4]
    with pytest.raises(ValueError, match="unknown SAE config keys"):
        SAEConfig.from_dict({"kind": "relu", "lambda": 1})


def test_a_long_epoch_reports_its_progress(monkeypatch, capsys):
    """Within an epoch longer than PROGRESS_SECONDS a line says how far it is (here every
    step), and the trained weights do not depend on it."""
    import percolation_tms.sae.train as train_module
    from percolation_tms import _progress

    monkeypatch.setattr(_progress, "_quiet", False)  # an in-process -q elsewhere may have set it
    X = np.random.default_rng(0).standard_normal((600, 5))
    config = SAEConfig(kind="topk", k=2, dict_ratio=2, epochs=2, batch_size=256)
    quiet = train_sae(X, config)
    capsys.readouterr()
    monkeypatch.setattr(train_module, "PROGRESS_SECONDS", 0.0)
    reported = train_sae(X, config)
    lines = capsys.readouterr().err.splitlines()
    progress = [line for line in lines if "points (" in line]
    # 3 steps per epoch (256, 256, 88 points): a line after the first two of each epoch
    assert len(progress) == 4, lines
    assert "epoch 1/2: 256 of 600 points (43 %)" in progress[0]
    assert "epoch 2/2: 512 of 600 points (85 %)" in progress[3]
    assert "to the epoch's end" in progress[3]
    np.testing.assert_array_equal(reported.sae.params.atoms, quiet.sae.params.atoms)
