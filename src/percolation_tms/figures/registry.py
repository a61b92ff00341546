"""The figure registry: every figure of the project, once.

The command ``percolation-tms plot NAME`` and its ``--help``, the workflow (one rule per figure,
made in a loop over this table in ``workflow/rules/figures.smk``), the report's captions and
the tests all read this table.  Adding a figure is: a ``plot_<name>(data, out_path)`` function
in ``module``, a caption ``workflow/report/<name>.rst``, and an entry here.  Its ``inputs`` key
names a group of files the workflow already knows (``FIGURE_INPUTS`` in the rule files); a new
group is one more entry there.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

# Report captions live beside the workflow: workflow/report/<name>.rst.
CAPTION_DIR = Path("workflow") / "report"


@dataclass(frozen=True)
class Figure:
    """One figure.

    name : the figure's name (its file is ``<name>.png`` / ``.pdf``, its rule ``plot_<name>``).
    module : the module holding ``plot_<name>(data, out_path)``.
    reader : ``"module:function"`` reading the ``--inputs`` files into ``data``.
    reads : what ``--inputs`` takes, for ``--help``.
    inputs : the workflow's group of input files (a key of ``FIGURE_INPUTS``).
    per_setting : drawn once per dataset setting (mode, size, dim) rather than once per run.
    folder : the figure's folder under ``results/figures/``.
    category, subcategory : where the report files it.
    """

    name: str
    module: str
    reader: str
    reads: str
    inputs: str
    folder: str
    category: str
    subcategory: str = ""
    per_setting: bool = False

    @property
    def caption(self) -> Path:
        """The caption file, relative to the top of the checkout."""
        return CAPTION_DIR / f"{self.name}.rst"

    def plot_function(self):
        return getattr(importlib.import_module(self.module), f"plot_{self.name}")

    def read_function(self):
        module, function = self.reader.split(":")
        return getattr(importlib.import_module(module), function)


def _group(names, **common) -> dict[str, Figure]:
    return {name: Figure(name=name, **common) for name in names}


_PERCOLATION = {
    "module": "percolation_tms.figures.percolation",
    "reader": "percolation_tms.figures.inputs:read_percolation_stats",
    "reads": ("describe's arrays.npz and summary.csv of every seed of one setting (mode, size, "
           "dim), in any order"),
    "inputs": "percolation_setting", "folder": "percolation", "category": "Percolation datasets",
    "subcategory": "{mode}, N = {size}, d = {dim}", "per_setting": True}
_TOY = {
    "module": "percolation_tms.figures.toymodels",
    "reader": "percolation_tms.figures.inputs:read_toy_models",
    "reads": ("measurements.npz, weights.npz, metrics.csv and config.json of every train-toy "
           "run (model kinds and seed groups; the runs of one model kind are merged)"),
    "inputs": "toy_synthetic", "folder": "toymodels", "category": "Toy models",
    "subcategory": "Synthetic features"}
_SAE = {
    "module": "percolation_tms.figures.sae",
    "reader": "percolation_tms.figures.sae:read_sae_runs",
    "reads": ("train-sae's metrics.csv, recovery_by_depth.csv, recovery_by_frequency.csv and "
           "config.json of one or more sweeps"),
    "inputs": "sae_percolation", "folder": "sae", "category": "Sparse autoencoders",
    "subcategory": "Percolation dataset"}

_PERSIANRUG = {
    "module": "percolation_tms.figures.persianrug",
    "reader": "percolation_tms.figures.persianrug:read_persianrug",
    "reads": ("persian-rug's results.csv (any kinds, any number of runs), curves.csv and "
           "weights.npz"),
    "inputs": "persian_rug", "folder": "persianrug", "category": "Persian Rug",
    "subcategory": "Large-n toy models"}
_BASIN = {
    "module": "percolation_tms.figures.basins",
    "reader": "percolation_tms.figures.basins:read_basins", "folder": "basins",
    "category": "Basin volumes and learning coefficients"}

FIGURES: dict[str, Figure] = {
    **_group(["cluster_sizes", "degrees", "hierarchy", "embedding", "feature_frequency",
              "baselines"], **_PERCOLATION),
    **_group(["tms_wtw", "tms_weights", "tms_represented", "tms_feature_dimensionality",
              "tms_loss"], **_TOY),
    "tms_phase_diagram": Figure(
        name="tms_phase_diagram", module="percolation_tms.figures.toymodels",
        reader="percolation_tms.figures.inputs:read_phase_diagram",
        reads="the phase_diagram.npz written by phase-diagram", inputs="toy_phase_diagram",
        folder="toymodels", category="Toy models", subcategory="Phase diagram"),
    "percolation_superposition": Figure(
        name="percolation_superposition", **{
            **_TOY, "inputs": "toy_percolation", "subcategory": "Percolation features",
            "reads": ("measurements.npz, weights.npz, metrics.csv and config.json of "
                      "train-toy runs on percolation features")}),
    **_group(["sae_recovery_depth", "sae_recovery_frequency", "sae_tradeoff"], **_SAE),
    "sae_architectures": Figure(
        name="sae_architectures", **{
            **_SAE, "inputs": "sae_architectures", "subcategory": "Architectures",
            "reads": ("metrics.csv and config.json of the sae-synthetic (hierarchical) and "
                      "train-sae sweeps of every kind")}),
    "sae_absorption": Figure(
        name="sae_absorption", **{
            **_SAE, "inputs": "sae_absorption", "subcategory": "Architectures",
            "reads": ("absorption_by_depth.csv, metrics.csv and config.json of the "
                      "sae-synthetic (hierarchical) and train-sae sweeps of every kind")}),
    "sae_mmcs": Figure(
        name="sae_mmcs", **{
            **_SAE, "inputs": "sae_synthetic", "subcategory": "Known dictionary",
            "reads": "sae-synthetic's metrics.csv, recovery.csv and config.json"}),
    **_group(["persianrug_loss_vs_ratio", "persianrug_loss_vs_p", "persianrug_symmetry",
              "persianrug_weights"], **_PERSIANRUG),
    "basin_volume_sparsity": Figure(
        name="basin_volume_sparsity", **_BASIN, inputs="basin_sweep",
        subcategory="Against sparsity",
        reads="basin-volume's volumes.csv (and llc's llc.csv) of every model kind of the sweep"),
    "llc_sparsity": Figure(
        name="llc_sparsity", **_BASIN, inputs="basin_sweep", subcategory="Against sparsity",
        reads="llc's llc.csv (and basin-volume's volumes.csv) of every model kind"),
    "kgon_volume": Figure(
        name="kgon_volume", **_BASIN, inputs="basin_kgon", subcategory="Competing k-gons",
        reads="basin-kgon's kgon.csv (volumes.csv and llc.csv may be given too)"),
    "basin_cutoff_scan": Figure(
        name="basin_cutoff_scan", **_BASIN, inputs="basin_scan", subcategory="Cutoff scan",
        reads="basin-volume's slopes.csv of a cutoff scan and llc's llc.csv of its run"),
}
