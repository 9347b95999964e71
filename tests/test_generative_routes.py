"""The routes that optimize a generator's output for the task: latent codes learned by DM
(`generative.latent`) and K-means prototypes denoised by the DDPM (`generative.prototypes`), on
tiny 8x8 data with generators trained for a few steps."""
import numpy as np
import pytest
import torch

from distill_lab.generative import (ConditionalDDPM, ConditionalGAN, DiffusionPrototypes,
                                    LatentDistributionMatching, denoise_from,
                                    diffusion_prototypes, gan_latent_dm)
from distill_lab.generative.matching import matching_loss, random_embedder

SHAPE, C = (1, 8, 8), 3


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % C
    centres = rng.uniform(0.2, 0.8, (C, 64))
    X = np.clip(centres[y] + rng.normal(0, 0.1, (n, 64)), 0, 1).astype(np.float32)
    return X, y.astype(np.int64)


@pytest.fixture(scope="module")
def gan():
    X, y = _data()
    return ConditionalGAN(SHAPE, C, width=8, z_dim=16, batch_size=16, device="cpu",
                          random_state=0, verbose=False).fit(X, y, steps=5)


@pytest.fixture(scope="module")
def ddpm():
    X, y = _data()
    return ConditionalDDPM(SHAPE, C, timesteps=50, width=8, batch_size=16, device="cpu",
                           random_state=0, verbose=False).fit(X, y, steps=5)


def _latent(gan, **kw):
    params = dict(iterations=3, batch_real=8, width=8, device="cpu", random_state=0,
                  verbose=False)
    return LatentDistributionMatching(gan, 2, **{**params, **kw})


def test_latent_dm_shapes_labels_and_range(gan):
    X, y = _data()
    est = _latent(gan).fit(X, y)
    assert est.z_.shape == est.z_init_.shape == (C * 2, 16)
    np.testing.assert_array_equal(est.y_syn_, [0, 0, 1, 1, 2, 2])
    assert est.X_syn_.shape == (6, 64) and est.X_syn_.dtype == np.float32
    assert est.X_syn_.min() >= 0 and est.X_syn_.max() <= 1
    assert len(est.loss_history_) == 3 and est.seconds_ > 0
    np.testing.assert_array_equal(est.X_syn_, est.decode(est.z_, est.y_syn_))


def test_latent_dm_is_seeded_and_leaves_the_gan_alone(gan):
    X, y = _data()
    before = {k: v.clone() for k, v in gan.modules_["G"].state_dict().items()}
    a, b = (gan_latent_dm(gan, X, y, 2, iterations=3, batch_real=8, width=8, device="cpu",
                          random_state=7) for _ in range(2))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    c = gan_latent_dm(gan, X, y, 2, iterations=3, batch_real=8, width=8, device="cpu",
                      random_state=8)
    assert not np.array_equal(a[0], c[0])
    for k, v in gan.modules_["G"].state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.requires_grad for p in gan.modules_["G"].parameters())


def _dm_objective(X_syn, y_syn, X, y, n_nets=8):
    """DM's loss, no augmentation, averaged over fixed random ConvNets: the quantity learned."""
    mean, std = X.mean(), X.std()
    real = [(torch.as_tensor(X[y == c]).view(-1, *SHAPE) - mean) / std for c in range(C)]
    syn = [(torch.as_tensor(X_syn[y_syn == c]).view(-1, *SHAPE) - mean) / std for c in range(C)]
    return np.mean([float(matching_loss(random_embedder(SHAPE, 8, seed, C), real, syn))
                    for seed in range(100, 100 + n_nets)])


def test_latent_dm_lowers_the_dm_loss_of_its_codes(gan):
    # A no-op (codes left at their initial draw) would fail: the gradient reaches z through G.
    X, y = _data()
    est = _latent(gan, iterations=40, batch_real=20, augment=False, lr=0.1).fit(X, y)
    assert not np.allclose(est.z_, est.z_init_)
    start = _dm_objective(est.decode(est.z_init_, est.y_syn_), est.y_syn_, X, y)
    end = _dm_objective(est.X_syn_, est.y_syn_, X, y)
    assert end < 0.8 * start, (start, end)


@pytest.mark.parametrize("kw, match", [
    ({"iterations": -1}, "iterations=-1"), ({"lr": 0}, "lr=0"), ({"variant": "x"}, "variant='x'"),
    ({"batch_real": 0}, "batch_real=0"), ({"augment": "yes"}, "augment='yes'"),
    ({"strategy": "blur"}, "blur")])
def test_latent_dm_bad_arguments(gan, kw, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        _latent(gan, **kw).fit(X, y)


def test_latent_dm_needs_a_fitted_gan_and_matching_data(gan):
    X, y = _data()
    with pytest.raises(ValueError, match="fitted ConditionalGAN"):
        _latent(ConditionalGAN(SHAPE, C)).fit(X, y)
    with pytest.raises(ValueError, match="n_per_class"):
        LatentDistributionMatching(gan, 0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        _latent(gan).fit(X[:, :32], y)


def test_denoise_from_t_zero_is_the_input_and_t_star_changes_it(ddpm):
    X, y = _data()
    out = denoise_from(ddpm, X[:6], y[:6], 0, device="cpu")
    np.testing.assert_array_equal(out, X[:6])
    assert out is not X
    moved = denoise_from(ddpm, X[:6], y[:6], 30, n_steps=5, device="cpu", random_state=0)
    assert moved.shape == (6, 64) and moved.min() >= 0 and moved.max() <= 1
    assert np.abs(moved - X[:6]).mean() > 1e-3
    again = denoise_from(ddpm, X[:6], y[:6], 30, n_steps=5, device="cpu", random_state=0)
    np.testing.assert_array_equal(moved, again)


def test_denoise_from_bad_arguments(ddpm):
    X, y = _data()
    with pytest.raises(ValueError, match=r"t_star=51 must be an int in \[0, timesteps=50\]"):
        denoise_from(ddpm, X, y, 51)
    with pytest.raises(ValueError, match="t_star=-1"):
        denoise_from(ddpm, X, y, -1)
    with pytest.raises(ValueError, match="n_steps=0"):
        denoise_from(ddpm, X, y, 10, n_steps=0)
    with pytest.raises(ValueError, match="fitted ConditionalDDPM"):
        denoise_from(ConditionalDDPM(SHAPE, C), X, y, 10)


def test_prototypes_are_per_class_medoids_denoised(ddpm):
    X, y = _data()
    est = DiffusionPrototypes(ddpm, 3, t_star=30, n_steps=5, device="cpu",
                              random_state=0).fit(X, y)
    assert est.X_syn_.shape == (9, 64) and est.X_syn_.dtype == np.float32
    np.testing.assert_array_equal(est.y_syn_, np.repeat(np.arange(C), 3))
    np.testing.assert_array_equal(y[est.indices_], est.y_syn_)   # each prototype in its class
    assert len(np.unique(est.indices_)) == 9
    np.testing.assert_array_equal(est.X_start_, X[est.indices_])
    assert est.X_syn_.min() >= 0 and est.X_syn_.max() <= 1
    assert np.abs(est.X_syn_ - est.X_start_).mean() > 1e-3     # a no-op would return X_start_
    same = DiffusionPrototypes(ddpm, 3, t_star=0, device="cpu", random_state=0).fit(X, y)
    np.testing.assert_array_equal(same.X_syn_, est.X_start_)   # t* = 0: the medoids themselves


def test_prototypes_follow_the_features_and_the_seed(ddpm):
    X, y = _data()
    a = diffusion_prototypes(ddpm, X, y, 2, t_star=20, n_steps=4, device="cpu", random_state=3)
    b = diffusion_prototypes(ddpm, X, y, 2, t_star=20, n_steps=4, device="cpu", random_state=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    # Features decide the clusters: a feature that splits each class in two halves by index
    # makes one medoid come from each half.
    feats = (np.arange(len(X)) >= len(X) // 2).astype(np.float32)[:, None] * 10
    est = DiffusionPrototypes(ddpm, 2, t_star=0, random_state=0).fit(X, y, features=feats)
    for c in range(C):
        picks = est.indices_[est.y_syn_ == c]
        assert sorted(picks >= len(X) // 2) == [False, True]


def test_prototypes_bad_arguments(ddpm):
    X, y = _data()
    with pytest.raises(ValueError, match="features has 5 rows but X has 60"):
        DiffusionPrototypes(ddpm, 2, t_star=10).fit(X, y, features=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="n_per_class=21 exceeds the 20 samples of class 0"):
        DiffusionPrototypes(ddpm, 21, t_star=10).fit(X, y)
    with pytest.raises(ValueError, match="guidance_scale=-1"):
        DiffusionPrototypes(ddpm, 2, t_star=10, guidance_scale=-1).fit(X, y)
    with pytest.raises(ValueError, match=r"t_star=400 must be an int in \[0, timesteps=50\]"):
        DiffusionPrototypes(ddpm, 2).fit(X, y)   # the default t* is for a 1000-step DDPM
