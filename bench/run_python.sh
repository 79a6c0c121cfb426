#!/usr/bin/env bash
# The Python package's speed and memory against the CLI, scikit-learn and FAISS (python_api.py).
# Uses bench/.venv (as run.sh), installs the package's wheel into it, sets the peers' BLAS
# environment as run.sh does. Not part of CI. Usage: bash bench/run_python.sh [options]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/python -m pip install --quiet --disable-pip-version-check numpy scikit-learn faiss-cpu threadpoolctl
bench/.venv/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./crates/kmrbf-py
cargo build --release -p kmrbf-cli
core=()
if grep -qw avx512f /proc/cpuinfo; then
  core=(OPENBLAS_CORETYPE=SkylakeX)
fi
env -u OPENBLAS_L2_SIZE "${core[@]}" GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
  bench/.venv/bin/python bench/python_api.py "$@"
