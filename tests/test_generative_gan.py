"""Conditional GAN: network shapes, seeded init, spectral norm, fit/distill, bad input, devices."""
import numpy as np
import pytest
import torch

from distill_lab.generative.gan import (ConcatDiscriminator, ConditionalGAN, Discriminator,
                                        Generator)
from distill_lab.generative.layers import spectral_norm
from distill_lab.models import init_parameters_


def _digits_subset(per_class=15):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    keep = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)])
    return (X[keep] / 16).astype(np.float32), y[keep]


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 16, 16)])
def test_generator_and_discriminator_shapes(shape):
    g = torch.Generator().manual_seed(0)
    G, D = Generator(shape, 10, z_dim=8, width=8, generator=g), Discriminator(shape, 10, 8, g)
    x = G(torch.randn(5, 8), torch.arange(5))
    assert x.shape == (5, *shape) and x.abs().max() <= 1
    assert D(x, torch.arange(5)).shape == (5,)
    assert ConcatDiscriminator(shape, 10, 8, g)(x, torch.arange(5)).shape == (5,)


def test_concat_discriminator_reads_the_label():
    g = torch.Generator().manual_seed(0)
    D = ConcatDiscriminator((1, 8, 8), 10, 8, g).eval()
    x = torch.rand(4, 1, 8, 8)
    zeros, ones = torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=torch.long)
    assert not torch.allclose(D(x, zeros), D(x, ones))


def test_seeded_init_is_reproducible_and_leaves_global_rng_alone():
    a = Generator((1, 8, 8), 10, width=8, generator=torch.Generator().manual_seed(3))
    b = Generator((1, 8, 8), 10, width=8, generator=torch.Generator().manual_seed(3))
    c = Generator((1, 8, 8), 10, width=8, generator=torch.Generator().manual_seed(4))
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.fc.weight, c.fc.weight)
    before = torch.get_rng_state()
    init_parameters_(a, torch.Generator().manual_seed(0))  # draws only from its own generator
    assert torch.equal(torch.get_rng_state(), before)


def test_spectral_norm_scales_weight_to_unit_top_singular_value():
    layer = torch.nn.Linear(20, 30)
    g = torch.Generator().manual_seed(0)
    init_parameters_(layer, g)
    raw = layer.weight.detach().clone()
    spectral_norm(layer, g)
    for _ in range(30):  # power iteration converges over training forwards
        layer(torch.zeros(1, 20))
    sigma_raw = torch.linalg.matrix_norm(raw, ord=2)
    assert torch.linalg.matrix_norm(layer.weight, ord=2).item() == pytest.approx(1.0, abs=1e-3)
    torch.testing.assert_close(layer.weight * sigma_raw, raw, atol=1e-4, rtol=1e-3)


def test_fit_distill_shapes_losses_and_determinism():
    X, y = _digits_subset()
    kw = dict(image_shape=(1, 8, 8), n_classes=10, z_dim=8, width=8, batch_size=16,
              device="cpu", verbose=False)
    a = ConditionalGAN(random_state=0, **kw).fit(X, y, steps=5)
    b = ConditionalGAN(random_state=0, **kw).fit(X, y, steps=5)
    c = ConditionalGAN(random_state=1, **kw).fit(X, y, steps=5)
    Xa, ya = a.distill(4, random_state=0)
    Xb, _ = b.distill(4, random_state=0)
    Xc, _ = c.distill(4, random_state=0)
    assert Xa.shape == (40, 64) and Xa.min() >= 0 and Xa.max() <= 1
    assert np.array_equal(ya, np.repeat(np.arange(10), 4))
    np.testing.assert_array_equal(Xa, Xb)
    assert not np.array_equal(Xa, Xc)
    hist = a.loss_history()
    assert set(hist) == {"loss_d", "loss_g"} and len(hist["loss_d"]) == 5
    assert ConditionalGAN(loss="bce", random_state=0, **kw).fit(X, y, steps=2).step_ == 2
    d = ConditionalGAN(loss="bce", discriminator="concat", random_state=0, **kw).fit(X, y, steps=3)
    assert isinstance(d.modules_["D"], ConcatDiscriminator) and d.step_ == 3
    np.testing.assert_array_equal(
        d.distill(2, random_state=0)[0],
        ConditionalGAN(loss="bce", discriminator="concat", random_state=0, **kw)
        .fit(X, y, steps=3).distill(2, random_state=0)[0])


def test_bad_input_errors():
    X, y = _digits_subset()
    gan = ConditionalGAN((1, 8, 8), 10, width=8, device="cpu", verbose=False)
    with pytest.raises(ValueError, match=r"image_shape=\(1, 7, 7\)"):
        ConditionalGAN((1, 7, 7), 10, device="cpu").fit(np.zeros((4, 49)), np.arange(4), 1)
    with pytest.raises(ValueError, match="features"):
        gan.fit(X[:, :32], y, 1)
    with pytest.raises(ValueError, match=r"discriminator='patch'.*'projection', 'concat'"):
        ConditionalGAN((1, 8, 8), 10, width=8, discriminator="patch", device="cpu").fit(X, y, 1)
    with pytest.raises(ValueError, match=r"mode_seeking=-1.0 must be a number >= 0"):
        ConditionalGAN((1, 8, 8), 10, width=8, mode_seeking=-1.0, device="cpu").fit(X, y, 1)
    with pytest.raises(ValueError, match=r"class\(es\) \[3\]"):
        gan.fit(X[y != 3], y[y != 3], 1)
    with pytest.raises(ValueError, match="n_classes=10"):
        gan.fit(X, np.where(y == 9, 12, y), 1)
    with pytest.raises(ValueError, match="loss="):
        ConditionalGAN((1, 8, 8), 10, loss="wgan", device="cpu").fit(X, y, 1)
    with pytest.raises(ValueError, match="steps"):
        gan.fit(X, y, -1)
    gan.fit(X, y, 1)
    with pytest.raises(ValueError, match="n_per_class"):
        gan.distill(0)
    with pytest.raises(ValueError, match="labels"):
        gan.sample([0, 10])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu_is_a_clear_error():
    X, y = _digits_subset()
    with pytest.raises(ValueError, match=r"device='cuda' asks for a device this machine does "
                                         r"not have \(devices found: cpu"):
        ConditionalGAN((1, 8, 8), 10, device="cuda").fit(X, y, 1)


def test_mode_seeking_term_is_logged_and_changes_the_generator_step():
    X, y = _digits_subset()
    kw = dict(image_shape=(1, 8, 8), n_classes=10, z_dim=8, width=8, batch_size=16,
              loss="bce", discriminator="concat", device="cpu", verbose=False, random_state=0)
    plain = ConditionalGAN(**kw).fit(X, y, steps=3)
    zero = ConditionalGAN(mode_seeking=0.0, **kw).fit(X, y, steps=3)
    ms = ConditionalGAN(mode_seeking=1.0, **kw).fit(X, y, steps=3)
    assert set(plain.loss_history()) == {"loss_d", "loss_g"}
    np.testing.assert_array_equal(plain.distill(2, random_state=0)[0],
                                  zero.distill(2, random_state=0)[0])   # 0 is the plain game
    hist = ms.loss_history()
    assert set(hist) == {"loss_d", "loss_g", "loss_ms"} and np.all(hist["loss_ms"] > 0)
    # the first D step sees the same batch and fakes: only G's step differs
    assert hist["loss_d"][0] == pytest.approx(plain.loss_history()["loss_d"][0])
    assert not np.array_equal(ms.distill(2, random_state=0)[0], plain.distill(2, random_state=0)[0])


def test_mode_seeking_gradient_pushes_two_codes_apart():
    # The term alone, on a fresh generator: one step of its gradient widens |G(z1) - G(z2)|.
    g = torch.Generator().manual_seed(0)
    G = Generator((1, 8, 8), 10, z_dim=8, width=8, generator=g).eval()   # fixed BN statistics
    z1, z2 = torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g)
    y = torch.arange(16) % 10

    def spread():
        return ((G(z1, y) - G(z2, y)).abs().mean(dim=(1, 2, 3)) / (z1 - z2).abs().mean(1)).mean()

    before = spread()
    opt = torch.optim.SGD(G.parameters(), lr=1e-3)
    (1.0 / (before + 1e-5)).backward()
    opt.step()
    assert spread().item() > before.item()


def test_auto_device_falls_back_to_cpu_with_a_notice(caplog):
    X, y = _digits_subset()
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with caplog.at_level("INFO", logger="distill_lab.generative.base"):
        gan = ConditionalGAN((1, 8, 8), 10, width=8, device="auto", verbose=False).fit(X, y, 1)
    if gan.device_.type == "cpu":
        assert "running on the CPU" in caplog.text


def test_every_method_runs_on_28x28_images():
    from distill_lab.generative import ConditionalDDPM, DistributionMatching

    rng = np.random.default_rng(0)
    X, y = rng.uniform(0, 1, (12, 784)).astype(np.float32), np.tile(np.arange(3), 4)
    kw = dict(device="cpu", verbose=False, random_state=0)
    gan = ConditionalGAN((1, 28, 28), 3, z_dim=4, width=4, batch_size=4, **kw).fit(X, y, 1)
    ddpm = ConditionalDDPM((1, 28, 28), 3, timesteps=10, width=8, batch_size=4, **kw).fit(X, y, 1)
    dm = DistributionMatching(2, (1, 28, 28), 3, iterations=1, width=8, batch_real=4, **kw)
    dm.fit(X, y)
    assert dm.X_syn_.shape == (6, 784) and dm._use_augment()  # DSA-style warps on 28x28
    assert gan.distill(2)[0].shape == (6, 784)
    assert ddpm.distill(2, n_steps=2)[0].shape == (6, 784)
