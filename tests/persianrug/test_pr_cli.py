"""The persian-rug command: files, their contents, and errors (exit 2, nothing written)."""

import json

import numpy as np
import pandas as pd
import pytest

from percolation_tms.cli import main
from percolation_tms.persianrug.sweep import COLUMNS

TINY = ["--n-features", "32,64", "--large-n-features", "128", "--ratios", "0.25,0.5",
        "--probabilities", "0.1,0.4", "--steps", "30", "--eval-samples", "500",
        "--rug-draws", "2", "--ks-samples", "200"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["-q", "persian-rug", *TINY, "--out", str(out)]) == 0
    return out


def test_writes_a_tidy_table_curves_weights_and_config(run):
    table = pd.read_csv(run / "results.csv")
    assert list(table.columns) == list(COLUMNS)
    counts = table.groupby("kind").size().to_dict()
    # trained on 2 n x 2 r x 2 p; rug and theory also at n = 128.
    assert counts == {"trained": 8, "rug": 12, "theory": 12}
    assert set(table.loc[table.kind == "theory", "seed"]) == {-1}
    assert np.all(np.isfinite(table.loc[table.kind != "theory", "loss"]))
    assert (table.m == np.maximum(1, (table.n * table.ratio_target).astype(int))).all()
    curves = pd.read_csv(run / "curves.csv")
    assert set(curves.curve) == {"vs_ratio", "vs_p"}
    weights = np.load(run / "weights.npz")
    trained = table[table.kind == "trained"].iloc[0]
    assert weights[f"{trained.model_id}.W_in"].shape == (trained.m, trained.n)
    rug = table[table.kind == "rug"].iloc[0]
    assert weights[f"{rug.model_id}.rows"].shape == (rug.m,)
    config = json.loads((run / "config.json").read_text())
    assert config["config"]["steps"] == 30 and config["stage"] == "persianrug"


@pytest.mark.parametrize("option,value,message", [
    ("--n-features", "96", "powers of two"),
    ("--ratios", "1.5", "must not exceed n"),
    ("--probabilities", "0", r"\(0, 1\]"),
    ("--probabilities", "1.2", r"\(0, 1\]"),
    ("--steps", "0", "steps must be a positive"),
    ("--eval-samples", "-5", "eval_samples must be a positive"),
    ("--kinds", "trained,magic", "kinds must be among"),
])
def test_bad_settings_exit_2_and_write_nothing(tmp_path, capsys, option, value, message):
    out = tmp_path / "out"
    assert main(["persian-rug", *TINY, option, value, "--out", str(out)]) == 2
    assert pytest.importorskip("re").search(message, capsys.readouterr().err)
    assert not out.exists()


def test_missing_output_paths_exit_2(tmp_path, capsys):
    assert main(["persian-rug", *TINY, "--results", str(tmp_path / "r.csv")]) == 2
    assert "--curves" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()
