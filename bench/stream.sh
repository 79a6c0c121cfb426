#!/usr/bin/env bash
# Streamed fit (--block-rows auto, and 500000 rows) against the in-memory fit of the same .npy: time per Lloyd
# iteration as the marginal cost (t(6) - t(2)) / 4 of each fit's own timer (in memory: the
# iterations; streamed: the whole fit, whose three setup passes cancel), peak RSS, and the read bandwidth
# from the page cache (dd). Usage: bash bench/stream.sh [ROWS] [K] (default 32000000 x 32 f32,
# 4 GiB; k = 64). Writes its data under bench/data/. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-32000000}
k=${2:-64}
mkdir -p bench/data
py=target/test-venv/bin/python
[ -x "$py" ] || py=bench/.venv/bin/python
x=bench/data/stream_${rows}x32.npy
c=bench/data/stream_${rows}_c0.npy
if [ ! -f "$x" ]; then
  "$py" - "$x" "$c" "$rows" "$k" <<'PY'
import sys, numpy as np
path, cpath, n, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
centers = rng.uniform(-1, 1, size=(k, 32)).astype(np.float32)
out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 32))
step = 1_000_000
for s in range(0, n, step):
    m = min(step, n - s)
    out[s:s + m] = centers[rng.integers(0, k, size=m)] + rng.normal(0, 0.6, size=(m, 32)).astype(np.float32)
out.flush()
np.save(cpath, np.array(out[rng.choice(n, size=k, replace=False)]))
PY
fi
cargo build --release -p kmrbf-cli
bin=target/release/kmrbf
echo "data: $rows x 32 float32 ($(du -h "$x" | cut -f1)), k = $k, $(nproc) threads"
dd if="$x" of=/dev/null bs=16M 2>&1 | tail -1
run() {  # $1 = max-iter, rest = extra flags; prints the fit's own seconds and peak RSS (KiB)
  local it=$1; shift
  local rss
  rss=$(/usr/bin/time -f "%M" "$bin" --quiet fit --data "$x" --k "$k" --init "$c" --tol 0 \
    --max-iter "$it" --out bench/data/stream_model.json "$@" 2>&1 | tail -1)
  python3 -c "
import json; s = json.load(open('bench/data/stream_model.json'))['settings']
print(s['streamed']['seconds'] if 'streamed' in s else s['timings']['iter_seconds'], $rss)"
}
run 1 >/dev/null  # warm the page cache
for mode in memory streamed streamed-500000; do
  extra=()
  [ "$mode" = streamed ] && extra=(--block-rows auto)
  [ "$mode" = streamed-500000 ] && extra=(--block-rows 500000)
  read -r t2 rss2 < <(run 2 "${extra[@]}")
  read -r t6 rss6 < <(run 6 "${extra[@]}")
  echo "$mode: $(python3 -c "print(f'{($t6 - $t2) / 4:.3f}')") s per iteration, peak RSS $((rss6 / 1024)) MiB"
done
# Mini-batch K-Means (batches of 1024, early stopping off): time per batch as the marginal
# cost (t(max-iter 2) - t(max-iter 1)) / (n / 1024) of the fit's own timer, in memory and
# with each batch's rows read where they lie in the file (one positioned read per row).
mb() {  # $1 = max-iter, rest = extra flags; prints the fit's seconds, batches, peak RSS (KiB)
  local it=$1; shift
  local rss
  rss=$(/usr/bin/time -f "%M" "$bin" --quiet fit --data "$x" --k "$k" --seed 0 --mini-batch 1024 \
    --max-no-improvement 0 --max-iter "$it" --out bench/data/stream_model.json "$@" 2>&1 | tail -1)
  python3 -c "
import json; s = json.load(open('bench/data/stream_model.json'))['settings']['mini_batch']
print(s['seconds'], s['n_steps'], $rss)"
}
for mode in memory streamed; do
  extra=()
  [ "$mode" = streamed ] && extra=(--block-rows auto)
  read -r t1 s1 rss1 < <(mb 1 "${extra[@]}")
  read -r t2 s2 rss2 < <(mb 2 "${extra[@]}")
  echo "mini-batch $mode: $(python3 -c "print(f'{($t2 - $t1) / ($s2 - $s1) * 1e3:.3f}')") ms per batch of 1024, peak RSS $((rss2 / 1024)) MiB"
done
