"""The package's type stubs: correct use type-checks, misuse is caught (mypy)."""

import subprocess
import sys
import textwrap


def mypy(tmp_path, code):
    f = tmp_path / "use.py"
    f.write_text(textwrap.dedent(code))
    return subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", str(f)],
                          capture_output=True, text=True)


def test_correct_use_type_checks(tmp_path):
    r = mypy(tmp_path, """
        import numpy as np
        import kmrbf
        X = np.zeros((10, 2))
        km = kmrbf.KMeans(3, random_state=0, n_threads=2).fit(X)
        labels: np.ndarray = km.predict(X)
        score: float = km.score(X)
        m = kmrbf.RBFKMeans(3, map="entmax15", sigma0="auto").fit(X)
        t: float = m.temperature_
        mb = kmrbf.MiniBatchRBFKMeans(3, map="softmax", stage_batches=5).partial_fit(X)
        loss: float = mb.batch_loss_
        p = kmrbf.entmax15(np.zeros((2, 3)), axis=1)
        o = kmrbf.objectives(X, km.cluster_centers_, 0.5, "softmax", gradient="full")
    """)
    assert r.returncode == 0, r.stdout + r.stderr


def test_misuse_is_caught(tmp_path):
    r = mypy(tmp_path, """
        import kmrbf
        kmrbf.KMeans(n_clusters="3")
        kmrbf.RBFKMeans(3, map="gumbel")
        kmrbf.softmax([[1.0]], axis="last")
    """)
    assert r.returncode == 1
    assert r.stdout.count("error:") == 3, r.stdout
