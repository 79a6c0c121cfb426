#!/usr/bin/env bash
# The shape grid (grid.py): kmrbf vs scikit-learn vs FAISS on d x k x threads x dtype, one run,
# with bench/run.sh's venv and BLAS environment. Not part of CI; the full grid takes about an
# hour on two cores. Usage: bash bench/run_grid.sh [grid.py options], e.g. --d 768 --k 1024.
exec bash "$(dirname "$0")/run.sh" grid "$@"
