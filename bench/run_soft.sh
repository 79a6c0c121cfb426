#!/usr/bin/env bash
# Soft-step benchmark against PyTorch CPU (torch + entmax from PyPI). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv-torch/bin/python ]; then
  python3 -m venv bench/.venv-torch
fi
bench/.venv-torch/bin/python -m pip install --quiet --disable-pip-version-check numpy entmax
bench/.venv-torch/bin/python -m pip install --quiet --disable-pip-version-check torch
cargo build --release -p kmrbf-cli
bench/.venv-torch/bin/python bench/soft_compare.py "$@"
