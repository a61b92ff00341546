"""Reading the figures' inputs: pairing, merging and the errors a miswired workflow gets."""

import numpy as np
import pandas as pd
import pytest
from figures_fakes import write_phase_diagram, write_stats, write_toy_run

from percolation_tms import io
from percolation_tms.figures import inputs
from percolation_tms.io import InputFileError


def test_stats_are_matched_to_summary_rows_by_content_in_any_order(tmp_path):
    a0, s0 = write_stats(tmp_path, seed=0)
    a1, s1 = write_stats(tmp_path, seed=1)
    _, s2 = write_stats(tmp_path, seed=2, size=1200)  # another setting, only in the summary
    aggregated = tmp_path / "summary.csv"
    io.write_csv(aggregated, pd.concat([pd.read_csv(p) for p in (s2, s1, s0)]))
    stats = inputs.read_percolation_stats([a1, a0, aggregated])
    assert stats.seeds == [0, 1]
    assert (stats.mode, stats.size, stats.dim) == ("distribution", 3000, 16)
    for d, path in zip(stats.datasets, (a0, a1)):
        assert np.array_equal(d.arrays["cluster_sizes"], io.load_arrays(path)["cluster_sizes"])


def test_stats_without_their_summary_row_are_refused(tmp_path):
    a0, _ = write_stats(tmp_path, seed=0)
    _, s1 = write_stats(tmp_path, seed=1)
    with pytest.raises(InputFileError, match="match 0 summary rows"):
        inputs.read_percolation_stats([a0, s1])
    with pytest.raises(InputFileError, match="give describe's arrays.npz and summary.csv"):
        inputs.read_percolation_stats([a0])


def test_stats_of_two_settings_are_refused(tmp_path):
    paths = write_stats(tmp_path, seed=0) + write_stats(tmp_path, seed=1, size=1200)
    with pytest.raises(InputFileError, match="mix dataset settings"):
        inputs.read_percolation_stats(paths)


def test_stats_missing_an_array_name_it(tmp_path):
    arrays, summary = write_stats(tmp_path, seed=0)
    content = io.load_arrays(arrays)
    del content["knn_mse"]
    io.save_arrays(arrays, **content)
    with pytest.raises(InputFileError, match="knn_mse"):
        inputs.read_percolation_stats([arrays, summary])


def test_toy_runs_are_merged_by_model_kind_in_a_fixed_order(tmp_path):
    paths = (write_toy_run(tmp_path / "u", "untied", seeds=(0,), sparsities=(0.0, 0.9))
             + write_toy_run(tmp_path / "t1", "tied", seeds=(0, 1), sparsities=(0.0, 0.9))
             + write_toy_run(tmp_path / "t2", "tied", seeds=(2,), sparsities=(0.0, 0.9)))
    untied, tied = inputs.read_toy_models(paths)[::-1]
    assert (tied.model, untied.model) == ("tied", "untied")
    assert sorted(tied.seed.tolist()) == [0, 0, 1, 1, 2, 2] and tied.arrays["WtW"].shape[0] == 6
    assert "W_dec" in untied.arrays and "W_dec" not in tied.arrays
    assert (tied.n_hidden, tied.n_features) == (3, 8)


def test_toy_run_missing_a_file_or_with_a_stranger_is_refused(tmp_path):
    measurements, weights, metrics = write_toy_run(tmp_path / "run", "tied")
    with pytest.raises(InputFileError, match="lack \\['metrics.csv'\\]"):
        inputs.read_toy_models([measurements, weights])
    with pytest.raises(InputFileError, match="not a toy run file"):
        inputs.read_toy_models([measurements, weights, metrics, tmp_path / "run" / "notes.txt"])
    # A run's config.json may come along (a workflow passes all of a run's outputs).
    (model,) = inputs.read_toy_models([measurements, weights, metrics,
                                       tmp_path / "run" / "config.json"])
    assert model.model == "tied"


def test_toy_run_files_are_grouped_by_the_run_they_record_not_by_folder(tmp_path):
    # one run's files spread over three folders under other names, and two runs' files side
    # by side in one folder: grouped by run_id all the same
    a = write_toy_run(tmp_path / "a", "tied", seeds=(0,), sparsities=(0.0, 0.9))
    b = write_toy_run(tmp_path / "b", "tied", seeds=(1,), sparsities=(0.0, 0.9))
    moved = []
    for index, path in enumerate(a):
        target = tmp_path / f"spread{index}" / f"file{index}{path.suffix}"
        target.parent.mkdir()
        moved.append(path.rename(target))
    together = tmp_path / "together"
    together.mkdir()
    side_by_side = [path.rename(together / f"b_{path.name}") for path in b]
    (model,) = inputs.read_toy_models(moved + side_by_side)
    assert model.seed.tolist() == [0, 0, 1, 1] and len(model.run_ids) == 2
    with pytest.raises(InputFileError, match="two measurements.npz files of toy run"):
        inputs.read_toy_models(moved + [moved[0]])


def test_toy_files_without_a_run_identity_are_refused(tmp_path):
    measurements, weights, metrics = write_toy_run(tmp_path / "run", "tied")
    content = io.load_arrays(weights)
    del content["run_id"]
    io.save_arrays(weights, **content)
    with pytest.raises(InputFileError, match=r"lacks the arrays \['run_id'\].*rerun"):
        inputs.read_toy_models([measurements, weights, metrics])


def test_toy_runs_trained_on_different_features_are_not_merged(tmp_path):
    paths = (write_toy_run(tmp_path / "a", "tied", seeds=(0,), percolation=True)
             + write_toy_run(tmp_path / "b", "tied", seeds=(1,), percolation=True))
    with pytest.raises(InputFileError, match="different features"):
        inputs.read_toy_models(paths)


def test_phase_diagram_reader_checks_the_grid(tmp_path):
    path = write_phase_diagram(tmp_path / "phase_diagram.npz", n_ratio=5, n_sparsity=4)
    assert inputs.read_phase_diagram([path])["phase"].shape == (5, 4)
    content = io.load_arrays(path)
    content["phase"] = content["phase"].T
    io.save_arrays(path, **content)
    with pytest.raises(InputFileError, match="expected \\(R, S\\) = \\(5, 4\\)"):
        inputs.read_phase_diagram([path])
