"""Notebook 07's library additions: the GAN losses as functions (hand-checked values, the same
numbers the training loop uses) and within-class diversity (hand-checked distances, subsampling,
bad input)."""
import math

import numpy as np
import pytest
import torch

from distill_lab.generative.gan import (ConditionalGAN, Discriminator, Generator,
                                        discriminator_loss, generator_loss)
from distill_lab.generative.quality import within_class_diversity


def test_losses_at_hand_checked_logits():
    zero = torch.zeros(4)
    # D(x) = 1/2 everywhere: each BCE term is log 2; hinge gives 1 + 1 and G's hinge 0
    assert discriminator_loss(zero, zero, "bce").item() == pytest.approx(2 * math.log(2))
    assert discriminator_loss(zero, zero, "hinge").item() == pytest.approx(2.0)
    assert generator_loss(zero, "bce").item() == pytest.approx(math.log(2))
    assert generator_loss(zero, "hinge").item() == pytest.approx(0.0)
    d_real, d_fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-3.0, 0.0, 1.5])
    sig = torch.sigmoid
    expected = (-torch.log(sig(d_real))).mean() + (-torch.log(1 - sig(d_fake))).mean()
    assert discriminator_loss(d_real, d_fake, "bce").item() == pytest.approx(expected.item(), rel=1e-6)
    # hinge: relu(1 - [2, .5, -1]) = [0, .5, 2]; relu(1 + [-3, 0, 1.5]) = [0, 1, 2.5]
    assert discriminator_loss(d_real, d_fake, "hinge").item() == pytest.approx(2.5 / 3 + 3.5 / 3)
    assert generator_loss(d_fake, "hinge").item() == pytest.approx(0.5)
    assert generator_loss(d_fake, "bce").item() == pytest.approx(
        (-torch.log(sig(d_fake))).mean().item(), rel=1e-6)


def test_bce_losses_are_finite_at_large_logits():
    big = torch.tensor([-200.0, 200.0])
    assert torch.isfinite(discriminator_loss(big, big, "bce"))
    assert generator_loss(big, "bce").item() == pytest.approx(100.0)


def test_the_non_saturating_loss_keeps_its_gradient_where_d_rejects_the_samples():
    d_gen = torch.tensor([-6.0], requires_grad=True)   # D is sure the sample is fake
    generator_loss(d_gen, "bce").backward()
    saturating = torch.tensor([-6.0], requires_grad=True)
    torch.log(1 - torch.sigmoid(saturating)).sum().backward()  # minimax G loss
    assert abs(d_gen.grad.item()) > 0.99 and abs(saturating.grad.item()) < 0.003


@pytest.mark.parametrize("loss", ["hinge", "bce"])
def test_the_training_loop_computes_these_losses(loss):
    gen = torch.Generator().manual_seed(0)
    G, D = Generator((1, 8, 8), 10, z_dim=8, width=8, generator=gen), Discriminator((1, 8, 8), 10, 8, gen)
    gan = ConditionalGAN((1, 8, 8), 10, z_dim=8, width=8, loss=loss)
    x = torch.rand(6, 1, 8, 8, generator=gen) * 2 - 1
    y, z = torch.arange(6), torch.randn(6, 8, generator=gen)
    with torch.no_grad():
        d_real, d_fake = D(x, y), D(G(z, y), y)
    assert torch.equal(gan._d_loss(d_real, d_fake), discriminator_loss(d_real, d_fake, loss))
    assert torch.equal(gan._g_loss(d_fake), generator_loss(d_fake, loss))


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="loss='wgan'"):
        discriminator_loss(torch.zeros(2), torch.zeros(2), "wgan")
    with pytest.raises(ValueError, match="loss='wgan'"):
        generator_loss(torch.zeros(2), "wgan")


def test_within_class_diversity_hand_checked():
    X = np.array([[0, 0], [3, 4], [1, 1], [1, 1], [2, 2]], dtype=float)
    y = np.array([0, 0, 1, 1, 1])
    # class 0: one pair at distance 5; class 1: distances 0, sqrt 2, sqrt 2
    np.testing.assert_allclose(within_class_diversity(X, y), [5.0, 2 * math.sqrt(2) / 3])
    # a collapsed class (all rows equal) has diversity 0
    assert within_class_diversity(np.ones((4, 3)), np.zeros(4, int))[0] == 0


def test_within_class_diversity_does_not_depend_on_the_class_size_on_average():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(2000, 5)), np.repeat([0, 1], 1000)
    full = within_class_diversity(X, y)
    sub = np.r_[rng.choice(1000, 300, replace=False), 1000 + rng.choice(1000, 300, replace=False)]
    np.testing.assert_allclose(within_class_diversity(X[sub], y[sub]), full, rtol=0.03)
    # a - b ~ N(0, 2 I) in 5-d: E|a - b| = sqrt(2) * E chi_5 = 2 Gamma(3) / Gamma(5 / 2)
    np.testing.assert_allclose(full, 2 * math.gamma(3) / math.gamma(2.5), rtol=0.03)


def test_within_class_diversity_bad_input():
    with pytest.raises(ValueError, match="class 1 has 1 row"):
        within_class_diversity(np.zeros((3, 2)), np.array([0, 0, 1]))
    with pytest.raises(ValueError, match="one label per row"):
        within_class_diversity(np.zeros((4, 2)), np.zeros(3, int))
    with pytest.raises(ValueError, match="one label per row"):
        within_class_diversity(np.zeros((4, 2)), None)
