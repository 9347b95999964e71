"""DSA (Zhao & Bilen 2021): differentiable, Siamese, seeded, identity at zero strength."""
import pytest
import torch

from distill_lab import augment as dsa


def _images(n=6, size=16, seed=0):
    return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("op", dsa.OPS)
def test_each_op_keeps_shape_and_passes_gradients(op):
    x = _images().requires_grad_(True)
    out = dsa.dsa(x, torch.Generator().manual_seed(1), strategy=op)
    assert out.shape == x.shape
    out.pow(2).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("op", dsa.OPS)
def test_zero_strength_is_the_identity(op):
    x = _images()
    torch.testing.assert_close(dsa.dsa(x, torch.Generator().manual_seed(2), strategy=op,
                                       strength=0.0), x)


@pytest.mark.parametrize("op", dsa.OPS)
def test_siamese_params_apply_identically_to_real_and_synthetic(op):
    real, syn = _images(8, seed=3), _images(3, seed=4)
    params = dsa.sample_params(real, torch.Generator().manual_seed(5), strategy=op, siamese=True)
    assert all(len(v) == 1 for v in params.values.values())
    both = dsa.apply(torch.cat([real, syn]), params)
    torch.testing.assert_close(dsa.apply(real, params), both[:8])
    torch.testing.assert_close(dsa.apply(syn, params), both[8:])
    # one transform for the whole batch: two equal images stay equal
    twins = dsa.apply(torch.cat([syn[:1], syn[:1]]), params)
    torch.testing.assert_close(twins[0], twins[1])


def test_per_image_params_differ_and_the_generator_alone_decides():
    x = _images(1).expand(16, 1, 16, 16)
    a = dsa.dsa(x, torch.Generator().manual_seed(9), strategy="rotate")
    b = dsa.dsa(x, torch.Generator().manual_seed(9), strategy="rotate")
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a[0], a[1])       # each image its own angle
    state = torch.random.get_rng_state()
    dsa.dsa(x, torch.Generator().manual_seed(9))
    assert torch.equal(state, torch.random.get_rng_state())   # global RNG untouched


def test_hand_checked_values():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    flip = dsa.DSAParams("flip", {"flip": torch.tensor([0.0])})
    torch.testing.assert_close(dsa.apply(x, flip), x.flip(3))
    # crop: shift u=1 -> the largest shift (+pad rows/cols), zero-filled; pad = int(0.125*4+0.5)=1
    crop = dsa.DSAParams("crop", {"shift": torch.tensor([[0.99, 0.5]])})
    out = dsa.apply(x, crop)
    torch.testing.assert_close(out[0, 0, 1:], x[0, 0, :3])
    assert torch.all(out[0, 0, 0] == 0)
    # cutout: a 2x2 square (0.5 of 4) centred at (2, 2) is zeroed, the rest kept
    cut = dsa.apply(x + 1, dsa.DSAParams("cutout", {"centre": torch.tensor([[0.5, 0.5]])}))
    assert int((cut == 0).sum()) == 4 and torch.all(cut[0, 0, 1:3, 1:3] == 0)


def test_bad_strategy_and_strength_are_named():
    with pytest.raises(ValueError, match="strategy='blur'"):
        dsa.dsa(_images(), torch.Generator(), strategy="blur")
    with pytest.raises(ValueError, match="strength=-1"):
        dsa.dsa(_images(), torch.Generator(), strength=-1)
