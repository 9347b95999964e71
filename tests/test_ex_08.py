"""Notebook 08's library additions: `ddim_step` (one DDIM update) and `guided_eps` (classifier-free
guidance) as functions, checked against closed forms, against a reference written from the
formulas, and against `ddim_sample`, which is built from them; `matching_loss` (the DM loss) against
its formula with one Siamese DSA draw per class."""
import math

import numpy as np
import pytest
import torch

from distill_lab import augment
from distill_lab.generative.diffusion import (alphas_cumprod, beta_schedule, ddim_sample, ddim_step,
                                              ddim_timesteps, guided_eps)
from distill_lab.generative.matching import matching_loss, random_embedder
from distill_lab.generative.unet import UNet


def _reference_step(x, eps, a_t, a_prev, eta=0.0, noise=None):
    # the DDIM update of Song et al. (eq. 12) with x0 clipped to [-1, 1], written in float64
    x0 = np.clip((x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t), -1, 1)
    eps = (x - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)
    sigma = eta * math.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
    out = math.sqrt(a_prev) * x0 + math.sqrt(max(1 - a_prev - sigma ** 2, 0)) * eps
    return out if noise is None else out + sigma * noise


def test_ddim_step_hand_checked_values():
    # a_t = 0.36, a_prev = 0.64: x0 = (x - 0.8 eps) / 0.6, then 0.8 x0 + 0.6 eps
    x, eps = torch.tensor([0.2, 1.4]), torch.tensor([0.25, 1.0])
    # x0 = [0, 1]; no clipping, so eps stays; x_prev = [0.15, 1.4]
    torch.testing.assert_close(ddim_step(x, eps, 0.36, 0.64), torch.tensor([0.15, 1.4]))
    # x = 2.0, eps = 0: x0 = 3.33 is clipped to 1, eps becomes (2 - 0.6) / 0.8 = 1.75
    torch.testing.assert_close(ddim_step(torch.tensor([2.0]), torch.tensor([0.0]), 0.36, 0.64),
                               torch.tensor([0.8 + 0.6 * 1.75]))
    # the last step (abar_prev = 1) returns the clipped x0
    torch.testing.assert_close(ddim_step(x, eps, 0.36, 1.0), torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_ddim_step_matches_the_formula_on_random_inputs(eta):
    rng = np.random.default_rng(0)
    abar = alphas_cumprod(beta_schedule("cosine", 1000))
    for t, t_prev in [(999, 900), (500, 400), (60, 0)]:
        x, eps, noise = (rng.normal(size=(4, 1, 5, 5)) for _ in range(3))
        got = ddim_step(torch.tensor(x), torch.tensor(eps), torch.tensor(abar[t]),
                        torch.tensor(abar[t_prev]), eta, torch.tensor(noise))
        want = _reference_step(x, eps, abar[t], abar[t_prev], eta, noise)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
        # noise=None is the deterministic step, whatever eta is
        det = ddim_step(torch.tensor(x), torch.tensor(eps), abar[t], abar[t_prev], eta)
        np.testing.assert_allclose(det.numpy(), _reference_step(x, eps, abar[t], abar[t_prev], eta),
                                   rtol=1e-10)


def test_guided_eps_is_the_two_call_formula():
    net = UNet((1, 8, 8), 3, 8, torch.Generator().manual_seed(0)).eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 1, 8, 8, generator=g)
    t, y = torch.tensor([5, 50, 90, 10]), torch.tensor([0, 1, 2, 1])
    with torch.no_grad():
        eps_c, eps_u = net(x, t, y), net(x, t, torch.full_like(y, 3))
        for s in (0.0, 2.0, 3.5):
            torch.testing.assert_close(guided_eps(net, x, t, y, s, 3), eps_u + s * (eps_c - eps_u),
                                       rtol=1e-4, atol=1e-5)
        # s = 1 is the conditional model alone, one call, no null label needed
        torch.testing.assert_close(guided_eps(net, x, t, y, 1.0, None), eps_c)


@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_ddim_sample_is_the_loop_of_guided_eps_and_ddim_step(eta, scale):
    abar = torch.tensor(alphas_cumprod(beta_schedule("cosine", 100)), dtype=torch.float32)
    net = UNet((1, 8, 8), 3, 8, torch.Generator().manual_seed(0)).eval()
    y = torch.tensor([0, 1, 2, 2])
    with torch.no_grad():
        lib = ddim_sample(net, y, (1, 8, 8), abar, 6, scale, eta, null_class=3,
                          generator=torch.Generator().manual_seed(7))
        g = torch.Generator().manual_seed(7)
        x = torch.randn((4, 1, 8, 8), generator=g)
        taus = ddim_timesteps(100, 6)
        for i, t in enumerate(taus):
            eps = guided_eps(net, x, torch.full((4,), int(t)), y, scale, 3)
            last = i + 1 == len(taus)
            noise = torch.randn(x.shape, generator=g) if eta > 0 and not last else None
            x = ddim_step(x, eps, abar[t], 1.0 if last else abar[taus[i + 1]], eta, noise)
    torch.testing.assert_close(x, lib, rtol=0, atol=0)


def test_matching_loss_is_the_mean_embedding_gap_with_one_siamese_draw_per_class():
    net = random_embedder((1, 16, 16), 16, random_state=0)
    rng = np.random.default_rng(0)
    real = [torch.tensor(rng.random((10, 1, 16, 16)), dtype=torch.float32) for _ in range(3)]
    syn = [torch.tensor(rng.random((3, 1, 16, 16)), dtype=torch.float32) for _ in range(3)]
    g = torch.Generator().manual_seed(4)
    want = 0.0
    for r, s in zip(real, syn):
        params = augment.sample_params(r, g, siamese=True)
        emb_r, emb_s = net.embed(augment.apply(r, params)), net.embed(augment.apply(s, params))
        gap = emb_r.mean(0) - emb_s.mean(0)
        want += float((gap ** 2).sum())
    got = float(matching_loss(net, real, syn, torch.Generator().manual_seed(4)))
    assert got == pytest.approx(want, rel=1e-5)
    # a synthetic set equal to the real one: zero with the shared draw
    assert float(matching_loss(net, real, real, torch.Generator().manual_seed(4))) == 0.0
