#!/usr/bin/env bash
# kmrbf.MiniBatchKMeans against scikit-learn's (minibatch.py). Uses bench/.venv (as run.sh)
# with the package's wheel installed. Not part of CI. Usage: bash bench/run_minibatch.sh [options]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/python -m pip install --quiet --disable-pip-version-check numpy scikit-learn threadpoolctl
bench/.venv/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./crates/kmrbf-py
bench/.venv/bin/python bench/minibatch.py "$@"
