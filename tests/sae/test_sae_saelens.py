"""SAELens folders (SPEC-sae-hierarchy check 7): hand-built folders encode as SAELens' formulas
say, project SAEs round-trip, unsupported settings exit 2; score-sae and hierarchical
sae-synthetic end to end."""

import json

import numpy as np
import pandas as pd
import pytest
import sae_reference as ref
from safetensors.numpy import save_file

from percolation_tms.cli import main
from percolation_tms.sae import SAEConfig, encode, read_saelens, train_sae, write_saelens
from percolation_tms.sae.saelens import SAELensFormatError


def folder_of(tmp_path, cfg, tensors, name="sae"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "cfg.json").write_text(json.dumps(cfg))
    save_file(tensors, str(folder / "sae_weights.safetensors"))
    return folder


def random_tensors(d, m, seed, dtype=np.float64, row_scale=None, threshold=False):
    rng = np.random.default_rng(seed)
    W_dec = rng.standard_normal((m, d))
    W_dec /= np.linalg.norm(W_dec, axis=1, keepdims=True)
    if row_scale is not None:
        W_dec *= rng.uniform(0.5, 2.0, (m, 1))
    tensors = {"W_enc": rng.standard_normal((d, m)) * 0.5, "b_enc": rng.standard_normal(m) * 0.2,
               "W_dec": W_dec, "b_dec": rng.standard_normal(d) * 0.3}
    if threshold:
        tensors["threshold"] = rng.uniform(0.0, 0.5, m)
    return {k: np.ascontiguousarray(v, dtype=dtype) for k, v in tensors.items()}


@pytest.mark.parametrize("cfg, scaled, threshold", [
    ({"architecture": "standard"}, False, False),
    ({"architecture": "standard", "apply_b_dec_to_input": False}, True, False),
    ({"architecture": "topk", "k": 4, "rescale_acts_by_decoder_norm": True}, True, False),
    ({"architecture": "topk", "k": 4}, False, False),
    ({"architecture": "jumprelu"}, True, True),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hand_built_folders_encode_as_saelens_formulas(tmp_path, cfg, scaled, threshold, dtype):
    d, m = 6, 15
    tensors = random_tensors(d, m, 1, dtype, row_scale=scaled or None, threshold=threshold)
    cfg = {"d_in": d, "d_sae": m, "normalize_activations": "none", **cfg}
    sae = read_saelens(folder_of(tmp_path, cfg, tensors))
    x = np.random.default_rng(2).standard_normal((40, d))
    want = ref.saelens_encode(cfg, tensors, x)
    norms = np.linalg.norm(tensors["W_dec"].astype(np.float64), axis=1)
    if cfg["architecture"] != "topk":
        want = want * norms  # the project's unit atoms carry the decoder norms
    got = encode(sae, x).activations.toarray()
    if dtype == np.float64:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * np.abs(want).max())
    # the same reconstruction
    recon = want / (norms if cfg["architecture"] != "topk" else 1.0) @ \
        tensors["W_dec"].astype(np.float64) + tensors["b_dec"]
    if cfg["architecture"] == "topk" and cfg.get("rescale_acts_by_decoder_norm"):
        recon = (want / norms) @ tensors["W_dec"].astype(np.float64) + tensors["b_dec"]
    np.testing.assert_allclose(got @ sae.params.atoms + sae.params.b_dec, recon, atol=1e-5)


@pytest.mark.parametrize("kind, extra", [("relu", {"l1": 1.0}), ("topk", {"k": 3}),
                                         ("batchtopk", {"k": 3}),
                                         ("jumprelu", {"l0_coefficient": 0.1})])
def test_project_saes_round_trip_through_the_format(tmp_path, kind, extra):
    X = np.random.default_rng(3).standard_normal((800, 6)) * 2 + 1
    sae = train_sae(X, SAEConfig(kind=kind, dict_ratio=2, epochs=1, **extra)).sae
    write_saelens(sae, tmp_path / "out", dtype="float64")
    back = read_saelens(tmp_path / "out")
    a, b = encode(sae, X).activations, encode(back, X).activations
    assert (a != b).nnz == 0 or np.abs((a - b).toarray()).max() < 1e-12
    cfg = json.loads((tmp_path / "out" / "cfg.json").read_text())
    assert cfg["architecture"] == {"relu": "standard", "topk": "topk"}.get(kind, "jumprelu")


@pytest.mark.parametrize("cfg, tensors_change, message", [
    ({"architecture": "gated"}, {}, "architecture 'gated' is not supported"),
    ({"architecture": "standard", "normalize_activations": "layer_norm"}, {},
     "normalize_activations"),
    ({"architecture": "topk", "k": 4}, "scale", "exact only with unit-norm"),
    ({"architecture": "jumprelu"}, {}, "lacks ['threshold']"),
    ({"architecture": "topk", "k": 0}, {}, "k must be an integer"),
    ({"architecture": "standard", "d_sae": 99}, {}, "d_sae = 99"),
])
def test_unsupported_folders_are_refused(tmp_path, cfg, tensors_change, message):
    tensors = random_tensors(5, 8, 0, row_scale=tensors_change == "scale" or None)
    folder = folder_of(tmp_path, cfg, tensors)
    with pytest.raises(SAELensFormatError, match=message.replace("[", r"\[")):
        read_saelens(folder)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    assert main(["-q", "generate", "--mode", "distribution", "--size", "3000", "--dim", "16",
                 "--seed", "0", "--outdir", str(out)]) == 0
    return out / "percolation_dataset_size3000_dim16_seed0.npz"


def test_score_sae_scores_a_saelens_folder_without_torch(tmp_path, dataset):
    from percolation_tms.dataset import load_dataset

    X = load_dataset(dataset).X
    sae = train_sae(X, SAEConfig(kind="topk", k=4, dict_ratio=2, epochs=1)).sae
    write_saelens(sae, tmp_path / "lens")
    assert main(["-q", "score-sae", "--saelens", str(tmp_path / "lens"), "--dataset",
                 str(dataset), "--min-feature-points", "16", "--out",
                 str(tmp_path / "scores")]) == 0
    metrics = pd.read_csv(tmp_path / "scores" / "metrics.csv")
    assert metrics["kind"].tolist() == ["topk"] and metrics["mean_l0"][0] == pytest.approx(4)
    assert 0 < metrics["explained_variance"][0] < 1
    assert len(pd.read_csv(tmp_path / "scores" / "absorption.csv")) > 0
    by_depth = pd.read_csv(tmp_path / "scores" / "recovery_by_depth.csv")
    assert (by_depth["n_features"] > 0).all()


def test_score_sae_refuses_bad_folders_with_exit_2(tmp_path, dataset, capsys):
    folder = folder_of(tmp_path, {"architecture": "gated"}, random_tensors(16, 8, 0))
    assert main(["-q", "score-sae", "--saelens", str(folder), "--dataset", str(dataset),
                 "--out", str(tmp_path / "s")]) == 2
    assert "not supported" in capsys.readouterr().err
    assert not (tmp_path / "s" / "metrics.csv").exists()
    folder = folder_of(tmp_path, {"architecture": "standard"}, random_tensors(5, 8, 0), "d5")
    assert main(["-q", "score-sae", "--saelens", str(folder), "--dataset", str(dataset),
                 "--out", str(tmp_path / "s")]) == 2
    assert "d = 16" in capsys.readouterr().err


def test_sae_synthetic_hierarchical_end_to_end(tmp_path):
    assert main(["-q", "sae-synthetic", "--structure", "hierarchical", "--n-samples", "3000",
                 "--dim", "16", "--n-features", "400", "--kind", "matryoshka", "--k", "3",
                 "--dict-ratios", "2", "--epochs", "2", "--out", str(tmp_path)]) == 0
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    for column in ("mcc", "uniqueness", "latent_precision", "latent_recall", "latent_f1",
                   "explained_variance", "mean_absorption", "absorption_fraction",
                   "full_absorption"):
        assert metrics[column].notna().all(), column
    assert metrics["mcc"][0] > 0.3 and metrics["mean_l0"][0] > 0
    depth = pd.read_csv(tmp_path / "absorption_by_depth.csv")
    assert set(depth["parent_depth"]) == {0, 1}
    dictionary = np.load(tmp_path / "dictionary.npz")
    assert dictionary["parent"].shape == (400,) and dictionary["dictionary"].shape == (400, 16)
