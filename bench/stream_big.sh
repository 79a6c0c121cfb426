#!/usr/bin/env bash
# The largest streamed run: a .npy of ROWS x 32 float32 (default 128,000,000 rows, 16 GiB) fitted
# with k = K (default 256) from k-means++ on a 100,000-row sample, in blocks of the automatic size (--block-rows auto),
# then its labels streamed by `predict`, then an entmax-1.5 annealing (two temperatures, two
# steps each) streamed the same way; wall time and peak RSS of each (GNU time). Writes the
# file under bench/data/ and removes it at the end (KEEP=1 keeps it). Not part of CI.
# Usage: bash bench/stream_big.sh [ROWS] [K] [MAX_ITER]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-128000000}
k=${2:-256}
iters=${3:-3}
mkdir -p bench/data
py=target/test-venv/bin/python
[ -x "$py" ] || py=bench/.venv/bin/python
x=bench/data/big_${rows}x32.npy
if [ ! -f "$x" ]; then
  "$py" - "$x" "$rows" "$k" <<'PY'
import sys, numpy as np
path, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
centers = rng.uniform(-1, 1, size=(k, 32)).astype(np.float32)
out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 32))
step = 2_000_000
for s in range(0, n, step):
    m = min(step, n - s)
    block = rng.standard_normal((m, 32), dtype=np.float32)
    block *= 0.3
    block += centers[rng.integers(0, k, size=m)]
    out[s:s + m] = block
    out.flush()
del out
PY
fi
cargo build --release -p kmrbf-cli
bin=target/release/kmrbf
echo "data: $rows x 32 float32 ($(du -h "$x" | cut -f1)), k = $k, $(nproc) threads, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "memory: $(grep MemTotal /proc/meminfo | awk '{print int($2/1048576)}') GiB total"
/usr/bin/time -f "fit: %e s wall, peak RSS %M KiB" "$bin" fit --data "$x" --k "$k" --block-rows auto \
  --max-iter "$iters" --tol 0 --out bench/data/big_model.json
/usr/bin/time -f "predict: %e s wall, peak RSS %M KiB" "$bin" predict --model bench/data/big_model.json \
  --data "$x" --block-rows auto --out bench/data/big_labels.npy
ls -l bench/data/big_labels.npy
rm -f bench/data/big_labels.npy
/usr/bin/time -f "anneal: %e s wall, peak RSS %M KiB" "$bin" anneal --data "$x" --k "$k" \
  --map entmax15 --sigmas 0.05,0.02 --stage-cap 2 --tol 0 --block-rows auto \
  --out bench/data/big_anneal.json
[ "${KEEP:-0}" = 1 ] || rm -f "$x"
