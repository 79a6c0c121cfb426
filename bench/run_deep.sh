#!/usr/bin/env bash
# Time per epoch of `kmrbf deep` (burn, flex backend) against the same autoencoder, batches
# and losses in plain PyTorch (deep_epoch.py), 1 and 2 threads, alternating. Not part of CI.
# Usage: bash bench/run_deep.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
bench/.venv/bin/python -m pip install --quiet --disable-pip-version-check numpy torch entmax
cargo build --release -p kmrbf-cli
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
  for t in 1 2; do
    target/release/kmrbf deep --data builtin:digits --k 10 --pretrain-epochs 10 --epochs 5 \
      --threads "$t" --quiet --out "$out/run"
    bench/.venv/bin/python - "$out/run/metrics.json" "$t" <<'PY'
import json, statistics, sys
h = json.load(open(sys.argv[1]))["seeds"][0]["history"]
pre = [e["seconds"] for e in h if e["phase"] == "pretrain"][1:]
joint = [e["seconds"] for e in h if e["phase"] == "cluster"]
print(f"kmrbf deep threads {sys.argv[2]}: pretrain epoch {statistics.median(pre):.4f} s, "
      f"joint epoch {statistics.median(joint):.4f} s (medians; first pretraining epoch left out)")
PY
    bench/.venv/bin/python bench/deep_epoch.py --threads "$t"
  done
done
