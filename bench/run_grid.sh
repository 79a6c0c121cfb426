#!/usr/bin/env bash
# The shape grid (grid.py): kmrbf vs scikit-learn vs FAISS on d x k x threads x dtype, one run.
# Same venv and BLAS environment as bench/run.sh. Not part of CI; the full grid takes about an
# hour on two cores. Usage: bash bench/run_grid.sh [grid.py options], e.g. --d 768 --k 1024.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/python -m pip install --quiet --disable-pip-version-check numpy scikit-learn faiss-cpu threadpoolctl
cargo build --release -p kmrbf-cli
core=()
if grep -qw avx512f /proc/cpuinfo; then
  core=(OPENBLAS_CORETYPE=SkylakeX)
fi
env -u OPENBLAS_L2_SIZE "${core[@]}" GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
  bench/.venv/bin/python bench/grid.py "$@"
