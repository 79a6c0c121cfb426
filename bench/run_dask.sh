#!/usr/bin/env bash
# kmrbf.dask against dask-ml on a LocalCluster (dask_compare.py), and kmrbf.dask.RBFKMeans
# against the in-memory kmrbf.RBFKMeans (dask_rbf.py). Uses bench/.venv-dask with the
# package's wheel. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv-dask/bin/python ]; then
  python3 -m venv bench/.venv-dask
fi
bench/.venv-dask/bin/python -m pip install --quiet --disable-pip-version-check numpy scikit-learn \
  "dask[array]>=2023.1" "distributed>=2023.1" dask-ml
bench/.venv-dask/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./crates/kmrbf-py
bench/.venv-dask/bin/python bench/dask_compare.py "$@"
bench/.venv-dask/bin/python bench/dask_rbf.py
