#!/usr/bin/env bash
# Snakemake runs this once in the new conda environment, from the top of the checkout (the
# working directory): install the package there, editable so that code changes need no rebuild.
set -euo pipefail
python -m pip install --no-deps --editable .
