"""The basin-volume, llc and basin-kgon commands: the documented files and columns, the error
cases (exit status 2, nothing written), determinism."""

import numpy as np
import pandas as pd
import pytest
from basin_runs import LLC, VOLUME, basin_outputs, tiny_run

from percolation_tms.cli import main


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("basins")
    return folder, basin_outputs(folder)


def test_volume_table_one_row_per_instance_with_the_spec_parts(outputs):
    _folder, paths = outputs
    table = pd.read_csv(paths["volumes_tied"])
    assert len(table) == 6 and table["instance"].tolist() == list(range(6))
    for column in ("log_prob", "log_prob_low", "log_prob_high", "log_prob_mean_log",
                   "log_prob_std_log", "log_prob_ess", "log_prior_at_anchor", "log_volume",
                   "log_density_ratio", "capped_fraction", "nonmonotone_fraction", "sparsity",
                   "seed", "model", "features_represented", "polygon_k", "cutoff"):
        assert column in table.columns
    # ln P = ln p(theta) + ln Vol + ln rho (spec 1.6)
    np.testing.assert_allclose(table["log_prob"], table["log_prior_at_anchor"]
                               + table["log_volume"] + table["log_density_ratio"], atol=1e-9)
    assert (table["log_prob_low"] <= table["log_prob"]).all()
    assert (table["log_prob"] <= table["log_prob_high"]).all()
    assert (table["n_params"] == 18).all() and (table["cost"] == "output").all()
    with np.load(paths["volumes_tied"].with_name("rays.npz")) as rays:
        assert rays["log_prob"].shape == (6, 12) and rays["radius"].shape == (6, 12)
        assert "n_directions" in str(rays["config"])
    untied = pd.read_csv(paths["volumes_untied"])
    assert (untied["n_params"] == 30).all()


def test_llc_and_kgon_tables(outputs):
    _folder, paths = outputs
    llc = pd.read_csv(paths["llc_tied"])
    assert len(llc) == 6
    for column in ("llc_mean", "llc_std", "llc_sem", "nbeta", "step_size", "llc_quadratic",
                   "half_dim", "rising", "negative_chains"):
        assert column in llc.columns
    with np.load(paths["llc_tied"].with_name("llc_traces.npz")) as traces:
        assert traces["loss_traces"].shape == (6, 2, 40)
        np.testing.assert_allclose(traces["llc_per_chain"].mean(axis=1), llc["llc_mean"])
    kgon = pd.read_csv(paths["kgon"])
    for (sparsity, group) in kgon.groupby("sparsity"):
        assert group["count"].sum() == 3
        assert group["frequency"].sum() == pytest.approx(1.0)
        assert group["log_frequency_ratio"].max() == 0.0


def test_scan_slopes(outputs):
    _folder, paths = outputs
    slopes = pd.read_csv(paths["slopes"])
    assert slopes["instance"].tolist() == [0, 3] and (slopes["n_cutoffs"] == 3).all()
    volumes = pd.read_csv(paths["scan_volumes"])
    for row in slopes.itertuples():
        part = volumes[volumes["instance"] == row.instance]
        expected = np.polyfit(np.log(part["cutoff"]), part["log_volume"], 1)[0]
        assert row.slope_log_volume == pytest.approx(expected)
        assert 0 < row.slope_log_volume < 2 * row.half_dim


def test_rerun_gives_the_same_bits(outputs, tmp_path):
    folder, paths = outputs
    out = tmp_path / "again"
    assert main(["-q", "basin-volume", "--run", str(folder / "run_tied"), *VOLUME,
                 "--out", str(out)]) == 0
    assert (out / "volumes.csv").read_bytes() == paths["volumes_tied"].read_bytes()
    assert main(["-q", "llc", "--run", str(folder / "run_tied"), *LLC, "--out", str(out)]) == 0
    assert (out / "llc.csv").read_bytes() == paths["llc_tied"].read_bytes()


@pytest.mark.parametrize(("command", "extra", "message"), [
    ("basin-volume", ["--cutoff-rel", "0"], "cutoff"),
    ("basin-volume", ["--cutoff-rel", "-0.1"], "cutoff"),
    ("basin-volume", ["--sigma", "0"], "sigma"),
    ("basin-volume", ["--sigma", "-1"], "sigma"),
    ("basin-volume", ["--instances", "6"], "out of range"),
    ("basin-volume", ["--n-directions", "1"], "n_directions"),
    ("llc", ["--instances", "0,99"], "out of range"),
    ("llc", ["--step-size", "0"], "step_size"),
    ("llc", ["--n-chains", "0"], "n_chains")])
def test_errors_exit_2_and_write_nothing(outputs, tmp_path, capsys, command, extra, message):
    folder, _ = outputs
    out = tmp_path / "bad"
    status = main([command, "--run", str(folder / "run_tied"), *extra, "--out", str(out)])
    assert status == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_non_finite_anchor_and_missing_run(outputs, tmp_path, capsys):
    folder, _ = outputs
    run = tiny_run(tmp_path, "linear")
    with np.load(run / "weights.npz") as f:
        arrays = dict(f)
    arrays["W"][1, 0, 0] = np.nan
    np.savez(run / "weights.npz", **arrays)
    out = tmp_path / "bad"
    assert main(["basin-volume", "--run", str(run), *VOLUME, "--out", str(out)]) == 2
    assert "not finite" in capsys.readouterr().err and not out.exists()
    assert main(["llc", "--run", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert "not a train-toy run folder" in capsys.readouterr().err
    assert main(["basin-volume", "--run", str(folder / "run_tied")]) == 2
    assert "--out" in capsys.readouterr().err
