"""Building the command line stays light: stage packages import their modules on first use,
and the options come from config modules that need no kernels (numba), scipy, pandas or
matplotlib."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import percolation_tms

HEAVY = ("numba", "scipy", "pandas", "matplotlib")

LAZY_PACKAGES = ("dataset", "percolation", "labels", "shards", "toymodels", "sae", "persianrug",
                 "basins")


def test_building_the_parser_imports_no_heavy_module():
    # The child imports the same percolation_tms as this process.
    src = str(Path(percolation_tms.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    code = ("import sys; import percolation_tms.cli as c; c.build_parser(); "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_lazy_package_exports_every_public_name(name):
    package = importlib.import_module(f"percolation_tms.{name}")
    for attribute in package.__all__:  # the exported object, never a submodule of that name
        assert not isinstance(getattr(package, attribute), types.ModuleType), attribute
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018


def test_moved_names_are_the_same_objects_at_their_old_paths():
    from percolation_tms.embedding import embed
    from percolation_tms.percolation import graph, options
    from percolation_tms.sae import config, hierarchy, synthetic

    assert callable(embed) and embed.__module__ == "percolation_tms.embedding.embed"
    assert graph.MODES is options.MODES
    assert graph.resolve_create_prob is options.resolve_create_prob
    assert graph.check_flag is options.check_flag
    assert hierarchy.HierarchyConfig is config.HierarchyConfig
    assert synthetic.SyntheticConfig is config.SyntheticConfig
