"""The install files agree with what the workflow needs: `pip install -e .` (or a conda
environment from environment.yml) is enough for `snakemake --report`, and every file asks for
the snakemake version the Snakefile demands."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

# What `snakemake --report` imports (snakemake/report/: docutils and jinja2 for the page,
# pygments for the code and config listings; it stops with "Python package pygments must be
# installed to create reports" without it).
REPORT_PACKAGES = {"docutils", "jinja2", "pygments"}


def core_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(line) for line in project["dependencies"]]


def snakemake_requirement() -> Requirement:
    (req,) = [r for r in core_requirements() if canonicalize_name(r.name) == "snakemake"]
    return req


def installed_closure(requirements: list[Requirement]) -> set[str]:
    """Names of the requirements, plus what snakemake (installed here) pulls in with the
    extras they ask of it; one level is enough, the report's packages are snakemake's own."""
    names = {canonicalize_name(r.name) for r in requirements}
    for req in requirements:
        if canonicalize_name(req.name) != "snakemake":
            continue
        for line in metadata.requires("snakemake") or []:
            sub = Requirement(line)
            extras = [""] + sorted(req.extras)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                names.add(canonicalize_name(sub.name))
    return names


def snakefile_min_version() -> Version:
    match = re.search(r'min_version\("([0-9.]+)"\)', (ROOT / "Snakefile").read_text())
    assert match, "the Snakefile states no min_version"
    return Version(match.group(1))


def conda_dependencies() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    entries = [e for e in env["dependencies"] if isinstance(e, str)]
    return {e.split()[0]: e[len(e.split()[0]):].strip() for e in entries}


def test_the_core_install_brings_what_the_report_imports():
    missing = REPORT_PACKAGES - installed_closure(core_requirements())
    assert not missing, (f"`pip install -e .` does not bring {sorted(missing)}, which "
                         "`snakemake --report` imports")


def test_the_conda_environment_brings_what_the_report_imports():
    conda = conda_dependencies()
    assert "snakemake-minimal" in conda or "snakemake" in conda
    if "snakemake-minimal" in conda:  # conda-forge's snakemake-minimal leaves pygments out
        assert "pygments" in conda


def test_every_install_file_asks_for_the_snakefiles_snakemake():
    wanted = snakefile_min_version()
    specifier = snakemake_requirement().specifier
    assert [(s.operator, Version(s.version)) for s in specifier] == [(">=", wanted)]
    conda = conda_dependencies()
    spec = conda.get("snakemake-minimal") or conda["snakemake"]
    assert spec.replace(" ", "") == f">={wanted}"
    assert Version(metadata.version("snakemake")) >= wanted
