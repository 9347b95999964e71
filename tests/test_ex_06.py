"""mc_dropout_probs and bald_from_probs (behind notebook 06's BALD exercise): bald is exactly the
mutual information of those passes; the closed form on hand-made passes."""
import numpy as np
import pytest

from distill_lab.active import bald, bald_from_probs, mc_dropout_probs
from distill_lab.data import load
from distill_lab.models import make_model


def test_bald_is_bald_from_probs_of_mc_dropout_probs():
    ds = load("digits")
    net = make_model("logreg", 64, 10, random_state=0)
    probs = mc_dropout_probs(net, ds.X_train[:30], n_samples=7, random_state=3)
    assert probs.shape == (7, 30, 10)
    np.testing.assert_allclose(probs.sum(axis=2), 1.0, atol=1e-5)
    np.testing.assert_array_equal(bald(net, ds.X_train[:30], n_samples=7, random_state=3),
                                  bald_from_probs(probs))


def test_bald_from_probs_hand_checked():
    # two passes that disagree completely: H(mean) = log 2, each pass certain -> MI = log 2
    probs = np.array([[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]]])   # (T=2, n=2, C=2)
    np.testing.assert_allclose(bald_from_probs(probs), [np.log(2), 0.0], atol=1e-12)
    with pytest.raises(ValueError, match=r"\(T, n, C\)"):
        bald_from_probs(probs[0])
    with pytest.raises(ValueError, match="dropout p"):
        mc_dropout_probs(make_model("logreg", 64, 10, random_state=0), np.zeros((2, 64)), p=1.0)


def test_mc_dropout_probs_embeds_once_and_matches_per_pass_embedding():
    """The embedding carries no dropout, so computing it once and thinning it T times gives what T
    full forward passes give (the masks drawn in the same order from the same generator)."""
    import torch

    ds = load("digits")
    net = make_model("convnet3", 64, 10, image_shape=(1, 8, 8), random_state=0).eval()
    X = ds.X_train[:25]
    calls = []
    hook = net.features.register_forward_hook(lambda *_: calls.append(1))
    probs = mc_dropout_probs(net, X, n_samples=6, p=0.3, random_state=5)
    hook.remove()
    assert len(calls) == 1                                   # one embedding pass for 6 MC passes
    gen = torch.Generator().manual_seed(int(np.random.RandomState(5).randint(2**31 - 1)))
    with torch.no_grad():
        by_pass = []
        for _ in range(6):
            z = net.embed(torch.as_tensor(X))                # recomputed every pass
            keep = (torch.rand(z.shape, generator=gen) >= 0.3).to(z)
            by_pass.append(torch.softmax(net.classifier(z * keep / 0.7), 1).numpy())
    np.testing.assert_allclose(probs, np.stack(by_pass), rtol=1e-6, atol=1e-7)
