"""DDPM pieces against closed forms: schedules, q_sample, DDIM with an oracle noise predictor."""
import math

import numpy as np
import pytest
import torch

from distill_lab.generative.diffusion import (ConditionalDDPM, alphas_cumprod, beta_schedule,
                                              ddim_sample, ddim_timesteps, p_losses, q_sample)
from distill_lab.generative.unet import UNet


def test_linear_schedule_endpoints_and_cosine_closed_form():
    b = beta_schedule("linear", 1000)
    assert b[0] == pytest.approx(1e-4) and b[-1] == pytest.approx(0.02)
    T, s = 50, 0.008
    abar = alphas_cumprod(beta_schedule("cosine", T))
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    expected = [f(t) / f(0) for t in range(1, T + 1)]
    # the last beta is clipped at 0.999, so compare all but the last step exactly
    np.testing.assert_allclose(abar[:-1], expected[:-1], rtol=1e-12)
    assert np.all(np.diff(abar) < 0) and abar[-1] < 1e-3
    with pytest.raises(ValueError, match="schedule="):
        beta_schedule("quadratic", 10)


def test_q_sample_moments_match_iterating_the_one_step_process():
    betas = beta_schedule("linear", 100)
    abar = torch.tensor(alphas_cumprod(betas))
    # exact moment recursion of x_t = sqrt(1 - b) x_{t-1} + sqrt(b) eps
    x0, mean, var = 0.7, 0.7, 0.0
    for t, b in enumerate(betas):
        mean, var = math.sqrt(1 - b) * mean, (1 - b) * var + b
        assert mean == pytest.approx(math.sqrt(abar[t]) * x0, rel=1e-10)
        assert var == pytest.approx(1 - abar[t].item(), rel=1e-10)
    # Monte Carlo: iterate the one-step process for 40 steps vs one closed-form draw
    g = torch.Generator().manual_seed(0)
    n, t = 200_000, 39
    x = torch.full((n,), x0, dtype=torch.float64)
    for b in betas[:t + 1]:
        x = math.sqrt(1 - b) * x + math.sqrt(b) * torch.randn(n, generator=g, dtype=torch.float64)
    xq = q_sample(torch.full((n, 1, 1, 1), x0, dtype=torch.float64), torch.full((n,), t),
                  torch.randn(n, 1, 1, 1, generator=g, dtype=torch.float64), abar).flatten()
    m, v = math.sqrt(abar[t]) * x0, 1 - abar[t].item()
    se_mean, se_var = math.sqrt(v / n), v * math.sqrt(2 / n)
    for sample in (x, xq):
        assert abs(sample.mean().item() - m) < 5 * se_mean
        assert abs(sample.var().item() - v) < 5 * se_var


# T below 20 once pushed the linear betas to >= 1: abar_t <= 0, NaN under sqrt, DDIM divided by 0.
ANY_T = [1, 2, 5, 10, 19, 1000]


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("T", ANY_T)
def test_schedules_keep_abar_strictly_positive_for_any_T(schedule, T):
    betas = beta_schedule(schedule, T)
    assert betas.shape == (T,) and np.all(betas > 0) and np.all(betas <= 0.999)
    abar64 = alphas_cumprod(betas)
    abar32 = torch.tensor(abar64, dtype=torch.float32).numpy()  # what the model stores
    for abar in (abar64, abar32):
        assert np.all(np.isfinite(abar)) and np.all(abar > 0) and np.all(abar < 1)
        assert np.all(np.diff(abar) < 0)


def test_timesteps_below_one_is_a_clear_error():
    for bad in (0, -3, 2.0, True):
        with pytest.raises(ValueError, match=rf"timesteps must be an int >= 1, got {bad!r}"):
            beta_schedule("linear", bad)


def test_ddim_timesteps():
    taus = ddim_timesteps(1000, 10)
    assert len(taus) == 10 and taus[0] == 999 and taus[-1] == 0 and np.all(np.diff(taus) < 0)
    with pytest.raises(ValueError, match="n_steps"):
        ddim_timesteps(1000, 0)


class Oracle(torch.nn.Module):
    """The exact noise predictor when the data is one point per label: target[y]."""

    def __init__(self, targets, abar):
        super().__init__()
        self.targets, self.abar, self.calls = targets, abar, 0

    def forward(self, x, t, y):
        self.calls += 1
        a = self.abar[t].view(-1, 1, 1, 1)
        return (x - a.sqrt() * self.targets[y]) / (1 - a).sqrt()


@pytest.mark.parametrize("n_steps", [1, 7, 25])
def test_ddim_with_oracle_recovers_the_point_in_n_steps_calls(n_steps):
    abar = torch.tensor(alphas_cumprod(beta_schedule("cosine", 200)), dtype=torch.float32)
    targets = torch.stack([torch.full((1, 4, 4), 0.5), torch.full((1, 4, 4), -0.25)])
    model = Oracle(targets, abar)
    y = torch.tensor([0, 1, 1])
    x = ddim_sample(model, y, (1, 4, 4), abar, n_steps=n_steps,
                    generator=torch.Generator().manual_seed(0))
    assert model.calls == n_steps
    torch.testing.assert_close(x, targets[y], atol=1e-4, rtol=0)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("T", ANY_T)
def test_ddim_steps_are_finite_for_any_T(schedule, T):
    abar = torch.tensor(alphas_cumprod(beta_schedule(schedule, T)), dtype=torch.float32)
    targets = torch.stack([torch.full((1, 4, 4), 0.5), torch.full((1, 4, 4), -0.25)])
    y = torch.tensor([0, 1, 1])
    for eta in (0.0, 1.0):
        model = Oracle(targets, abar)  # its output depends on x_t, so a NaN cannot hide
        x = ddim_sample(model, y, (1, 4, 4), abar, n_steps=min(T, 10), eta=eta,
                        generator=torch.Generator().manual_seed(0))
        assert torch.isfinite(x).all()
        torch.testing.assert_close(x, targets[y], atol=1e-3, rtol=0)


def test_guidance_combines_conditional_and_unconditional_linearly():
    abar = torch.tensor(alphas_cumprod(beta_schedule("linear", 100)), dtype=torch.float32)
    # label 0 -> 0.4, null label (1) -> 0.1: guided eps is the oracle of 0.1 + s (0.4 - 0.1)
    model = Oracle(torch.stack([torch.full((1, 2, 2), 0.4), torch.full((1, 2, 2), 0.1)]), abar)
    x = ddim_sample(model, torch.tensor([0, 0]), (1, 2, 2), abar, n_steps=5, guidance_scale=2.0,
                    null_class=1, generator=torch.Generator().manual_seed(0))
    assert model.calls == 5  # conditional and unconditional in one batched call per step
    torch.testing.assert_close(x, torch.full_like(x, 0.7), atol=1e-4, rtol=0)


def test_p_losses_drops_labels_to_null_class():
    seen = []
    abar = torch.tensor(alphas_cumprod(beta_schedule("linear", 10)), dtype=torch.float32)

    def model(x, t, y):
        seen.append(y.clone())
        return 0 * x  # the zero predictor, but a NaN in x_t (abar_t <= 0) still reaches the loss

    x0 = torch.zeros(64, 1, 8, 8)
    y = torch.zeros(64, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    loss = p_losses(model, x0, y, abar, g, p_uncond=1.0, null_class=10)
    assert torch.all(seen[0] == 10)
    assert loss.item() == pytest.approx(1.0, abs=0.1)  # E|eps|^2 = 1 for the zero predictor
    assert torch.isfinite(loss)
    p_losses(model, x0, y, abar, g, p_uncond=0.0, null_class=10)
    assert torch.all(seen[1] == 0)


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_unet_shapes(shape):
    net = UNet(shape, 10, width=8, generator=torch.Generator().manual_seed(0))
    x = torch.randn(2, *shape)
    assert net(x, torch.tensor([0, 999]), torch.tensor([3, 10])).shape == (2, *shape)


def _digits_subset():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    keep = np.concatenate([np.flatnonzero(y == c)[:20] for c in range(10)])
    return (X[keep] / 16).astype(np.float32), y[keep]


def test_ddpm_fit_distill_shapes_and_determinism():
    X, y = _digits_subset()
    kw = dict(image_shape=(1, 8, 8), n_classes=10, timesteps=50, width=8, batch_size=16,
              device="cpu", verbose=False)
    a = ConditionalDDPM(random_state=0, **kw).fit(X, y, steps=4)
    b = ConditionalDDPM(random_state=0, **kw).fit(X, y, steps=4)
    Xa, ya = a.distill(3, random_state=1, n_steps=4, guidance_scale=2.0)
    Xb, _ = b.distill(3, random_state=1, n_steps=4, guidance_scale=2.0)
    assert Xa.shape == (30, 64) and Xa.dtype == np.float32
    assert np.array_equal(ya, np.repeat(np.arange(10), 3))
    assert Xa.min() >= 0 and Xa.max() <= 1
    np.testing.assert_array_equal(Xa, Xb)
    assert len(a.loss_history()["loss"]) == 4 and a.train_seconds_ > 0


@pytest.mark.parametrize("T", ANY_T)
def test_ddpm_trains_and_samples_finite_images_for_any_T(T):
    X, y = _digits_subset()
    model = ConditionalDDPM((1, 8, 8), 10, timesteps=T, schedule="linear", width=8,
                            batch_size=16, device="cpu", verbose=False, random_state=0)
    model.fit(X, y, steps=2)
    assert np.all(np.isfinite(model.loss_history()["loss"]))
    X_syn, _ = model.distill(1, random_state=0, n_steps=min(T, 5))
    assert np.all(np.isfinite(X_syn))  # the U-Net depends on its input: NaN would propagate


def test_ddpm_bad_input():
    X, y = _digits_subset()
    with pytest.raises(ValueError, match="image_shape"):
        ConditionalDDPM((1, 10, 10), 10, device="cpu", verbose=False).fit(
            np.zeros((5, 100), np.float32), np.arange(5), steps=1)
    with pytest.raises(ValueError, match=r"class\(es\) \[9\]"):
        ConditionalDDPM((1, 8, 8), 10, device="cpu", verbose=False).fit(X[y < 9], y[y < 9], 1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ConditionalDDPM((1, 8, 8), 10, device="cpu", verbose=False).fit(X * 16, y, 1)
    with pytest.raises(ValueError, match="schedule"):
        ConditionalDDPM((1, 8, 8), 10, schedule="sqrt", device="cpu", verbose=False).fit(X, y, 1)
    model = ConditionalDDPM((1, 8, 8), 10, timesteps=20, width=8, device="cpu",
                            verbose=False).fit(X, y, 1)
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="n_per_class"):
            model.distill(bad)
    with pytest.raises(RuntimeError, match="not fitted"):
        ConditionalDDPM((1, 8, 8), 10).distill(1)
