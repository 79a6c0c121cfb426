"""The GIL is released while kmrbf computes, Ctrl-C stops a long fit, and KMRBF_ISA picks the
kernels' instruction-set tier."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np

import kmrbf


def test_other_python_threads_run_during_a_fit():
    X = np.random.RandomState(0).standard_normal((200_000, 32)).astype(np.float32)
    state = {"inside": False, "done": False}

    def fit():
        state["inside"] = True
        kmrbf.KMeans(64, init="random", n_init=3, max_iter=20, tol=0.0, random_state=0,
                     n_threads=1).fit(X)
        state["done"] = True

    t = threading.Thread(target=fit)
    t.start()
    ticks = 0
    while not state["done"]:
        if state["inside"]:
            ticks += 1
        time.sleep(0.0005)
    t.join()
    # Holding the GIL through the fit would leave this thread one or two ticks; released,
    # it ticks every half millisecond of a fit that takes a good part of a second.
    assert ticks > 50, ticks


def test_two_fits_in_threads_give_the_serial_results():
    X = np.random.RandomState(1).standard_normal((20_000, 8))
    serial = [kmrbf.KMeans(8, random_state=s, n_threads=1).fit(X).cluster_centers_ for s in (0, 1)]
    out = [None, None]

    def run(i):
        out[i] = kmrbf.KMeans(8, random_state=i, n_threads=1).fit(X).cluster_centers_

    ts = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    for a, b in zip(out, serial):
        np.testing.assert_array_equal(a, b)


def test_ctrl_c_interrupts_a_long_fit():
    script = textwrap.dedent(
        """
        import numpy as np, sys, kmrbf
        X = np.random.RandomState(0).standard_normal((400_000, 32)).astype(np.float32)
        print("fitting", flush=True)
        kmrbf.KMeans(256, init="random", max_iter=100_000, tol=0.0, random_state=0).fit(X)
        print("finished", flush=True)
        """
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "fitting"
    time.sleep(1.5)
    t0 = time.monotonic()
    os.kill(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=60)
    waited = time.monotonic() - t0
    assert "finished" not in out
    assert "KeyboardInterrupt" in err, err
    assert p.returncode != 0
    assert waited < 30, waited


def test_kmrbf_isa_picks_the_tier(monkeypatch):
    from sklearn.datasets import make_blobs
    X, _ = make_blobs(5000, 16, centers=12, random_state=3)
    X = X.astype(np.float32)
    monkeypatch.delenv("KMRBF_ISA", raising=False)
    widest = kmrbf.KMeans(12, random_state=0).fit(X)
    monkeypatch.setenv("KMRBF_ISA", "portable")
    portable = kmrbf.KMeans(12, random_state=0).fit(X)
    # The portable tier computes distances by a blocked GEMM: the same labels, centers to
    # rounding.
    np.testing.assert_array_equal(portable.labels_, widest.labels_)
    np.testing.assert_allclose(portable.cluster_centers_, widest.cluster_centers_, atol=1e-4)
    monkeypatch.setenv("KMRBF_ISA", "avx1024")
    try:
        kmrbf.KMeans(12, random_state=0).fit(X)
    except ValueError as e:
        assert "KMRBF_ISA" in str(e) and "avx1024" in str(e)
    else:
        raise AssertionError("an unknown tier was accepted")
