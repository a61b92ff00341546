"""Lazy package attributes (PEP 562).

A stage package lists its public names by submodule; each is imported from its submodule on
first use (``from percolation_tms.sae import train_sae`` works as before).  Importing one
submodule, such as the stage's ``cli`` that only builds argparse options, therefore does not
import the stage's kernels, numba, scipy or pandas.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]]):
    """``(__getattr__, __dir__)`` for ``package``: the names ``exports[sub]`` live in
    ``package.sub``.  Submodules are attributes on first use too (as after an eager import)."""
    owner = {name: sub for sub, names in exports.items() for name in names}

    def __getattr__(name: str):
        sub = owner.get(name)
        if sub is not None:
            value = getattr(importlib.import_module(f"{package}.{sub}"), name)
            setattr(sys.modules[package], name, value)
            return value
        if not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}"):
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *owner})

    return __getattr__, __dir__
