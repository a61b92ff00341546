"""A tiny train-toy run and the basin commands' outputs on it, shared by the CLI and figure
tests (settings small enough for a few seconds)."""

from __future__ import annotations

from pathlib import Path

from percolation_tms.cli import main

TRAIN = ["--n-features", "6", "--n-hidden", "2", "--sparsities", "0,0.9", "--seeds", "0,1,2",
         "--steps", "300", "--batch-size", "128", "--eval-batch-size", "2000",
         "--history-every", "100", "--importance", "1.0"]
VOLUME = ["--n-directions", "12", "--eval-samples", "200", "--n-bootstrap", "50"]
LLC = ["--n-chains", "2", "--n-draws", "40", "--n-burnin", "20", "--eval-samples", "200"]


def tiny_run(folder: Path, model: str = "tied") -> Path:
    run = folder / f"run_{model}"
    assert main(["-q", "train-toy", "--model", model, *TRAIN, "--out", str(run)]) == 0
    return run


def basin_outputs(folder: Path) -> dict[str, Path]:
    """Every table the basin figures read, from tiny tied and untied runs."""
    paths = {}
    for model in ("tied", "untied"):
        run = tiny_run(folder, model)
        out = folder / f"basins_{model}"
        assert main(["-q", "basin-volume", "--run", str(run), *VOLUME, "--out", str(out)]) == 0
        assert main(["-q", "llc", "--run", str(run), *LLC, "--out", str(out)]) == 0
        paths[f"volumes_{model}"] = out / "volumes.csv"
        paths[f"llc_{model}"] = out / "llc.csv"
    out = folder / "kgon"
    assert main(["-q", "basin-kgon", "--volumes", str(paths["volumes_tied"]), "--llc",
                 str(paths["llc_tied"]), "--out", str(out)]) == 0
    paths["kgon"] = out / "kgon.csv"
    scan = folder / "scan"
    assert main(["-q", "basin-volume", "--run", str(folder / "run_tied"), *VOLUME,
                 "--instances", "0,3", "--cutoff-rel", "0.01,0.1,1", "--out", str(scan)]) == 0
    paths["slopes"] = scan / "slopes.csv"
    paths["scan_volumes"] = scan / "volumes.csv"
    return paths
