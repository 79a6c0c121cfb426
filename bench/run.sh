#!/usr/bin/env bash
# Side-by-side benchmark: kmrbf vs scikit-learn vs FAISS, same data, same initial centers.
# Makes its own venv (bench/.venv), builds kmrbf, then runs compare.py with the peers at their
# best: OpenBLAS on its SkylakeX kernel where the CPU has AVX-512 (its own choice otherwise:
# forcing SkylakeX on an AVX2-only CPU would fault) and OPENBLAS_L2_SIZE unset, and glibc's
# malloc asking for transparent huge pages (kmrbf asks for them itself), in this command only.
# Not part of CI. Usage: bash bench/run.sh [compare.py options], or bash bench/run.sh grid
# [grid.py options] for the shape grid (bench/run_grid.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/python -m pip install --quiet --disable-pip-version-check numpy scikit-learn faiss-cpu threadpoolctl
cargo build --release -p kmrbf-cli
script=compare.py
if [ "${1:-}" = grid ]; then
  script=grid.py
  shift
fi
core=()
if grep -qw avx512f /proc/cpuinfo; then
  core=(OPENBLAS_CORETYPE=SkylakeX)
fi
env -u OPENBLAS_L2_SIZE "${core[@]}" GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
  bench/.venv/bin/python "bench/${script}" "$@"
