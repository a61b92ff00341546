"""The peak-memory estimate of the dataset commands, and generate's refusal of a dataset too
big for the machine, before any work."""

from __future__ import annotations

import subprocess
import sys

import pytest

from percolation_tms import cli
from percolation_tms.dataset import memory

BIG = ["generate", "--mode", "distribution", "--size", "20000000", "--dim", "100",
       "--seed", "0"]


@pytest.fixture
def little_memory(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 4 * 2**30)
    monkeypatch.setattr(memory, "_resident_bytes", lambda: 0)


def test_a_dataset_too_big_is_refused_before_any_work(tmp_path, little_memory, monkeypatch,
                                                      capsys):
    from percolation_tms import dataset

    def no_work(*args, **kwargs):
        raise AssertionError("generate started although the dataset cannot fit")

    monkeypatch.setattr(dataset, "generate_dataset", no_work)
    status = cli.main(["-q", *BIG, "--outdir", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith("percolation-tms generate: error: N = 20,000,000, d = 100, float64 "
                           "needs about ")
    assert "4.0 GiB is available" in line
    assert "--dtype float32 (about " in line and "shards" in line
    assert "--ignore-memory-check" in line
    assert not (tmp_path / "out").exists()


def test_float32_is_suggested_only_when_it_would_help(little_memory):
    with pytest.raises(memory.MemoryCheckError) as caught:
        memory.check_fits("distribution", 20_000_000, 100, "float32")
    assert "--dtype float32" not in str(caught.value) and "shards" in str(caught.value)


def test_the_check_can_be_overridden(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(memory, "available_bytes", lambda: 1)  # nothing fits
    monkeypatch.setattr(memory, "_resident_bytes", lambda: 0)
    argv = ["-q", "generate", "--mode", "distribution", "--size", "300", "--dim", "4",
            "--seed", "0", "--outdir", str(tmp_path)]
    assert cli.main(argv) == 2
    assert "needs about" in capsys.readouterr().err
    assert cli.main(argv + ["--ignore-memory-check"]) == 0
    assert len(list(tmp_path.glob("*.npz"))) == 4


def test_an_unknown_amount_of_memory_checks_nothing(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: None)
    memory.check_fits("distribution", 10**9, 1000)


def test_the_machines_memory_is_read():
    available = memory.available_bytes()
    with open("/proc/meminfo") as meminfo:
        total = int(meminfo.read().split("MemTotal:")[1].split()[0]) * 1024
    assert available is not None and 0 < available <= total


def test_estimates_grow_with_the_data():
    small = memory.estimate_peak_bytes("distribution", 10**5, 100)
    assert memory.estimate_peak_bytes("distribution", 10**6, 100) > small
    assert memory.estimate_peak_bytes("distribution", 10**5, 200) > small
    assert memory.estimate_peak_bytes("distribution", 10**5, 100, "float32") < small
    assert memory.estimate_peak_bytes("one_cluster", 10**5, 100) > small  # deeper trees
    for stage in memory.STAGES:
        assert memory.estimate_peak_bytes("custom", 1000, 10, stage=stage) > 0
    with pytest.raises(ValueError, match="stage must be one of"):
        memory.estimate_peak_bytes("distribution", 10, 1, stage="embedding")


def measured_peak_bytes(argv) -> int:
    """Peak resident memory of ``python -m percolation_tms <argv>`` (its own process only)."""
    probe = ("import resource, subprocess, sys; "
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "percolation_tms",
                          "-q", *argv], capture_output=True, text=True, check=True)
    return int(out.stdout) * 1024


def test_the_built_graph_is_checked_again_with_its_own_depth(monkeypatch):
    from percolation_tms.dataset import generate

    monkeypatch.setattr(memory, "available_bytes", lambda: 0)
    monkeypatch.setattr(memory, "_resident_bytes", lambda: 10 * 2**20)
    with pytest.raises(memory.MemoryCheckError, match=r"its trees' mean depth: \d+"):
        generate("one_cluster", 2000, 8, 0, memory_check=True)
    assert generate("one_cluster", 2000, 8, 0).X.shape == (2000, 8)


@pytest.mark.parametrize("mode, size, dim", [("distribution", 200_000, 50),
                                             ("one_cluster", 50_000, 50)])
def test_the_estimate_bounds_the_measured_peak(tmp_path, mode, size, dim):
    # With the graph's own mean depth the estimate is the fit of measured peaks; it bounds
    # this run's peak, and not by more than half of it.
    from percolation_tms.percolation import generate_graph

    graph = generate_graph(mode, size, 0)
    mean_depth = float(graph.depth[:size].mean())
    # The estimate is of a run with numba's kernels cached: compiling them (once per checkout)
    # costs about 140 MB more. A small run of the same mode and dtype fills the cache first.
    measured_peak_bytes(["generate", "--mode", mode, "--size", "500", "--dim", str(dim),
                         "--seed", "0", "--outdir", str(tmp_path / "warm")])
    peak = measured_peak_bytes(["generate", "--mode", mode, "--size", str(size), "--dim",
                                str(dim), "--seed", "0", "--outdir", str(tmp_path)])
    estimate = memory.estimate_peak_bytes(mode, size, dim, "float64", "generate", mean_depth)
    assert peak <= estimate <= 1.5 * peak, (peak, estimate)
