#!/usr/bin/env bash
# The PyTorch layer against plain PyTorch and the entmax package (torch_layer.py). Uses
# bench/.venv-torch (as run_soft.sh) with the package's wheel installed. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv-torch/bin/python ]; then
  python3 -m venv bench/.venv-torch
fi
bench/.venv-torch/bin/python -m pip install --quiet --disable-pip-version-check numpy scikit-learn entmax torch
bench/.venv-torch/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./crates/kmrbf-py
bench/.venv-torch/bin/python bench/torch_layer.py "$@"
