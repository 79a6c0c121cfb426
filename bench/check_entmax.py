"""kmrbf's entmax15 (via `kmrbf transform`, f64) against the `entmax` package on 2000 rows of
32-D blobs with 64 centers, at three temperatures (sparse to dense). Needs torch and entmax:
run with the venv of bench/run_soft.sh, e.g. `bench/.venv-torch/bin/python bench/check_entmax.py`."""
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch
from entmax import entmax15

BIN = str(Path(__file__).resolve().parents[1] / "target" / "release" / "kmrbf")
rng = np.random.default_rng(0)
k, d = 64, 32
centers = rng.uniform(-1, 1, size=(k, d))
x = centers[rng.integers(0, k, size=2000)] + rng.normal(0, 0.6, size=(2000, d))
c0 = x[rng.choice(2000, k, replace=False)]
for temp in (0.2, 2.0, 20.0):
    with tempfile.TemporaryDirectory() as t:
        t = Path(t)
        np.save(t / "xs.npy", x)
        model = {"format": "kmrbf-model", "version": "", "k": k, "d": d, "dtype": "f64", "centers": c0.tolist(),
                 "inertia": 0, "n_iter": 0, "settings": {}}
        (t / "m.json").write_text(json.dumps(model))
        subprocess.run([BIN, "transform", "--model", str(t / "m.json"), "--data", str(t / "xs.npy"), "--map", "entmax15",
                        "--sigma", str(temp), "--out", str(t / "r.npy")], check=True)
        ours = np.load(t / "r.npy")
        xd, cd = torch.from_numpy(x), torch.from_numpy(c0)
        dist = (xd * xd).sum(1, keepdim=True) - 2 * xd @ cd.T + (cd * cd).sum(1)
        theirs = entmax15(-dist.clamp_min(0) / temp, dim=1).numpy()
        print(f"sigma {temp}: max abs diff {np.abs(ours - theirs).max():.2e}, mean support {(ours > 0).sum(1).mean():.2f}")
