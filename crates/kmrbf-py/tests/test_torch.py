"""kmrbf.torch: exact gradients, the kernel path against plain torch and the entmax package."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from entmax import entmax15 as entmax15_package

import kmrbf
import kmrbf.torch as kt

MAPS = [("softmax", None), ("entmax15", None), ("sparsemax", None), ("entmax", 1.3)]


def rows(n=60, d=3, k=5, dtype=torch.float64, seed=0, offset=0.0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=g, dtype=dtype) + offset
    c = torch.randn(k, d, generator=g, dtype=dtype) + offset
    return z.requires_grad_(), c.requires_grad_()


@pytest.mark.parametrize("map, alpha", MAPS)
@pytest.mark.parametrize("kernel", ["temperature", "bandwidth"])
@pytest.mark.parametrize("path", [kt.responsibilities, kt.plain_responsibilities])
def test_gradcheck_float64(map, alpha, kernel, path):
    z, c = rows()
    assert torch.autograd.gradcheck(lambda z, c: path(z, c, 0.7, map, alpha=alpha, kernel=kernel), (z, c))


def test_double_backward_is_refused_clearly():
    z, c = rows()
    r = kt.responsibilities(z, c, 0.7, "entmax15")
    (gz,) = torch.autograd.grad((r * r).sum(), z, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|double backward|differentiable"):
        gz.sum().backward()


@pytest.mark.parametrize("map, alpha", MAPS)
def test_kernel_path_equals_plain_path_float32(map, alpha):
    z, c = rows(n=4000, d=16, k=32, dtype=torch.float32, seed=1, offset=3.0)
    g = torch.randn(4000, 32, generator=torch.Generator().manual_seed(2))
    outs = []
    for path in (kt.responsibilities, kt.plain_responsibilities):
        z.grad = c.grad = None
        r = path(z, c, 2.0, map, alpha=alpha)
        (r * g).sum().backward()
        outs.append((r.detach().clone(), z.grad.clone(), c.grad.clone()))
    (r1, gz1, gc1), (r2, gz2, gc2) = outs
    # Relative to each output's scale (responsibilities are <= 1; a few are exact zeros in
    # one path and ~1e-8 in the other, so entrywise relative error is not the measure).
    for a, b in ((r1, r2), (gz1, gz2), (gc1, gc2)):
        assert (a - b).abs().max() <= 1e-5 * b.abs().max(), (a - b).abs().max() / b.abs().max()


def test_entmax15_equals_the_entmax_package():
    z, c = rows(n=3000, d=8, k=20, seed=3)
    d = kt.squared_distances(z, c).detach()
    for t in (0.05, 1.0, 30.0):
        ours = kt.responsibilities(z.detach(), c.detach(), t, "entmax15")
        theirs = entmax15_package(-d / t, dim=1)
        assert (ours - theirs).abs().max() <= 1e-6


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("path", [kt.responsibilities, kt.plain_responsibilities])
@pytest.mark.parametrize("map, alpha", MAPS)
def test_no_nan_at_extreme_temperatures_and_distances(dtype, path, map, alpha):
    for t, scale in ((1e-30, 1.0), (1e30, 1.0), (1.0, 1e15)):
        z, c = rows(n=200, d=2, k=6, dtype=dtype, seed=4)
        with torch.no_grad():
            z.mul_(scale)
            c.mul_(scale)
        r = path(z, c, t, map, alpha=alpha)
        assert torch.isfinite(r).all(), (t, scale)
        assert torch.allclose(r.sum(1), torch.ones(200, dtype=dtype), atol=1e-5)
        r.pow(2).sum().backward()
        assert torch.isfinite(z.grad).all() and torch.isfinite(c.grad).all(), (t, scale)


def test_losses_and_their_gradients_match_the_library():
    z, c = rows(n=500, d=4, k=6, seed=5, offset=10.0)
    layer = kt.RBFLayer(6, 4, map="sparsemax", temperature=0.8, centers=c.detach(), dtype=torch.float64)
    out = layer(z, return_distances=True, return_losses=True, reduction="sum")
    X, C = z.detach().numpy(), c.detach().numpy()
    for gradient, value in (("full", out.loss), ("stopgrad", out.free_energy)):
        ref = kmrbf.objectives(X, C, 0.8, "sparsemax", gradient=gradient)
        key = "L" if gradient == "full" else "F"
        assert value.item() == pytest.approx(ref[key], rel=1e-10)
        layer.zero_grad()
        z.grad = None
        value.backward(retain_graph=True)
        np.testing.assert_allclose(layer.centers.grad.numpy(), ref["grad_centers"], rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(z.grad.numpy(), ref["grad_X"], rtol=1e-7, atol=1e-8)
    assert out.distances.shape == (500, 6)


def test_soft_lloyd_reaches_the_fixed_temperature_model():
    X = np.random.RandomState(0).standard_normal((400, 3)) + 50.0
    c0 = X[:4].copy()
    ref = kmrbf.RBFKMeans(4, map="softmax", temperature=0.5, init=c0, reference=False).fit(X)
    layer = kt.RBFLayer(4, 3, map="softmax", temperature=0.5, centers=torch.from_numpy(c0), dtype=torch.float64)
    z = torch.from_numpy(X)
    for _ in range(2000):
        if layer.soft_lloyd_(z) < 1e-26:
            break
    np.testing.assert_allclose(layer.centers.detach().numpy(), ref.cluster_centers_, atol=1e-9)


def test_layer_conventions():
    km = kmrbf.KMeans(3, random_state=0).fit(np.random.RandomState(0).standard_normal((100, 2)))
    layer = kt.RBFLayer.from_kmeans(km, map="entmax15", temperature=0.3)
    assert layer.centers.dtype == torch.float64 and layer.centers.requires_grad
    state = layer.state_dict()
    assert set(state) == {"centers", "temperature"}
    other = kt.RBFLayer(3, 2, map="entmax15", dtype=torch.float64)
    other.load_state_dict(state)
    assert other.temperature.item() == 0.3
    layer.set_temperature(0.1)
    r = layer(torch.zeros(4, 2, dtype=torch.float64))
    assert r.shape == (4, 3)
    s = kt.geometric_schedule(1.0, 0.01, 0.5)
    assert s[0] == 1.0 and s[-1] >= 0.01 and len(s) == 7
    d = kt.dkm_schedule(10.0, 5)
    assert d[0] == 10.0 and all(a > b for a, b in zip(d, d[1:]))


def test_bad_input_names_the_argument():
    z, c = rows()
    with pytest.raises(ValueError, match="centers must have shape"):
        kt.responsibilities(z, c[:, :2], 1.0)
    with pytest.raises(ValueError, match="z must be 2-D"):
        kt.responsibilities(z[0], c, 1.0)
    with pytest.raises(TypeError, match="same dtype"):
        kt.responsibilities(z, c.float(), 1.0)
    with pytest.raises(ValueError, match="same device"):
        kt.responsibilities(z, torch.empty(5, 3, dtype=torch.float64, device="meta"), 1.0)
    for t in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="temperature must be finite and > 0"):
            kt.responsibilities(z, c, t)
    with pytest.raises(ValueError, match="map must be one of"):
        kt.responsibilities(z, c, 1.0, "gumbel")
    with pytest.raises(ValueError, match="kernel must be one of"):
        kt.responsibilities(z, c, 1.0, kernel="gauss")
    with pytest.raises(TypeError, match="z must be a torch.Tensor"):
        kt.responsibilities(z.detach().numpy(), c, 1.0)


def test_import_kmrbf_does_not_import_torch():
    code = "import sys, kmrbf; kmrbf.KMeans(2).fit([[0.0], [1.0], [2.0]]); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
