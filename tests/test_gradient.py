"""Gradient criteria against autograd one sample at a time, closed forms and hand-checked values."""
import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import distill_lab.criteria
from distill_lab.criteria.gradient import (craig, el2n, grand, grand_last_layer,
                                           gradient_features, per_sample_grads)


def make_mlp(seed, d=4, hidden=6, n_classes=3, dropout=False):
    """Tiny float64 MLP with weights drawn from a local generator (global RNG left alone)."""
    layers = [nn.Linear(d, hidden), nn.Tanh()] + ([nn.Dropout(0.5)] if dropout else [])
    model = nn.Sequential(*layers, nn.Linear(hidden, n_classes)).double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return model


class ClassifierFirst(nn.Module):
    """Registers `classifier` before the body, so registration order is not forward order."""

    def __init__(self, seed):
        super().__init__()
        self.classifier = nn.Linear(6, 3)
        self.body = nn.Sequential(nn.Linear(4, 6), nn.ReLU())
        self.double()
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))

    def embed(self, x):
        return self.body(x)

    def forward(self, x):
        return self.classifier(self.body(x))


def make_data(n=10, d=4, n_classes=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randint(0, n_classes, (n,), generator=gen)
    return X, y


def autograd_reference(model, X, y, params):
    """Plain autograd, one sample at a time: the oracle for per_sample_grads."""
    rows = []
    for i in range(len(X)):
        loss = F.cross_entropy(model(X[i:i + 1]), y[i:i + 1])
        rows.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)]))
    return torch.stack(rows)


# ---- el2n / grand_last_layer / gradient_features (closed forms) ----

def test_el2n_by_hand():
    probs = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1], [0, 1, 0], [0, 1, 0]], dtype=float)
    y = [0, 2, 1, 0]
    # [-0.3, 0.2, 0.1] -> sqrt(0.14); [0.7, 0.2, -0.9] -> sqrt(1.34); right one-hot 0; wrong sqrt 2
    np.testing.assert_allclose(el2n(probs, y), np.sqrt([0.14, 1.34, 0.0, 2.0]), rtol=1e-12)


def test_grand_last_layer_without_embeddings_is_el2n_and_by_hand():
    probs = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    y = np.array([0, 2])
    np.testing.assert_array_equal(grand_last_layer(probs, y), el2n(probs, y))
    # ||h||^2 + 1 = 6, then 1; row 2 residual [0.25, 0.25, -0.5] has squared norm 0.375
    h = np.array([[1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_allclose(grand_last_layer(probs, y, h),
                               [np.sqrt(0.14) * np.sqrt(6), np.sqrt(0.375)], rtol=1e-12)


@pytest.mark.parametrize("model_fn", [make_mlp, ClassifierFirst])
def test_last_layer_closed_forms_match_exact_gradients(model_fn):
    model = model_fn(1)
    X, y = make_data(n=12)
    with torch.no_grad():
        head = model.classifier if hasattr(model, "classifier") else model[-1]
        h = model.embed(X) if hasattr(model, "embed") else model[:-1](X)  # (n, 6)
        probs = torch.softmax(head(h), dim=1)  # (n, 3)
    exact = per_sample_grads(model, X, y, params="last")  # (n, 3*6 + 3)
    assert exact.shape == (12, 3 * (6 + 1))
    np.testing.assert_allclose(grand_last_layer(probs.numpy(), y.numpy(), h.numpy()),
                               exact.norm(dim=1).numpy(), rtol=1e-10)
    np.testing.assert_allclose(gradient_features(probs.numpy(), y.numpy(), h.numpy()),
                               exact.numpy(), atol=1e-12)
    # Without embeddings: the bias block only, the last C columns, and that norm is EL2N.
    np.testing.assert_allclose(gradient_features(probs.numpy(), y.numpy()), exact[:, -3:].numpy(),
                               atol=1e-12)
    np.testing.assert_allclose(el2n(probs.numpy(), y.numpy()), exact[:, -3:].norm(dim=1).numpy(),
                               rtol=1e-10)


# ---- per_sample_grads / grand against autograd ----

@pytest.mark.parametrize("params", ["all", "last"])
def test_per_sample_grads_matches_autograd(params):
    model = make_mlp(0)
    X, y = make_data(n=9)
    chosen = list(model.parameters()) if params == "all" else list(model[-1].parameters())
    expected = autograd_reference(model, X, y, chosen)
    got = per_sample_grads(model, X, y, params=params, batch_size=4)  # 3 uneven chunks
    assert got.shape == expected.shape and got.dtype == torch.float64
    torch.testing.assert_close(got, expected, atol=1e-10, rtol=0)


def test_last_uses_classifier_attribute_not_registration_order():
    model = ClassifierFirst(2)
    X, y = make_data(n=5)
    expected = autograd_reference(model, X, y, list(model.classifier.parameters()))
    torch.testing.assert_close(per_sample_grads(model, X, y, params="last"), expected,
                               atol=1e-10, rtol=0)


def test_eval_mode_for_gradients_and_training_mode_restored():
    model = make_mlp(3, dropout=True)
    X, y = make_data(n=6)
    model.train()
    got = per_sample_grads(model, X, y)
    assert model.training
    model.eval()
    expected = autograd_reference(model, X, y, list(model.parameters()))
    torch.testing.assert_close(got, expected, atol=1e-10, rtol=0)


def test_numpy_float32_input_is_cast_to_model_dtype():
    model = make_mlp(0)
    X, y = make_data(n=5)
    got = per_sample_grads(model, X.numpy().astype(np.float32), y.numpy())
    expected = per_sample_grads(model, X.float().double(), y)
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)


def test_frozen_parameters_are_left_out_of_all():
    model = make_mlp(0)
    model[0].weight.requires_grad_(False)
    X, y = make_data(n=4)
    expected = autograd_reference(model, X, y, [p for p in model.parameters() if p.requires_grad])
    torch.testing.assert_close(per_sample_grads(model, X, y), expected, atol=1e-10, rtol=0)


def test_grand_is_gradient_norm_and_chunking_does_not_matter():
    model = make_mlp(4)
    X, y = make_data(n=10)
    expected = autograd_reference(model, X, y, list(model.parameters())).norm(dim=1).numpy()
    for batch_size in (1, 3, 256):
        np.testing.assert_allclose(grand(model, X, y, batch_size=batch_size), expected,
                                   rtol=1e-10)


def test_grand_averages_norms_over_a_list_of_models():
    models = [make_mlp(5), make_mlp(6), make_mlp(7)]
    X, y = make_data(n=8)
    each = [autograd_reference(m, X, y, list(m[-1].parameters())).norm(dim=1).numpy()
            for m in models]
    np.testing.assert_allclose(grand(models, X, y, params="last"), np.mean(each, axis=0),
                               rtol=1e-10)


@pytest.mark.parametrize("name", ["logreg", "mlp", "convnet"])
def test_library_models_exact_and_closed_form(name):
    """The project's own models (flat input, `embed`, `classifier`) work end to end."""
    from distill_lab.models import make_model

    model = make_model(name, 64, 10, image_shape=(1, 8, 8), random_state=0).double()
    X = torch.rand(6, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.tensor([0, 3, 9, 9, 1, 5])
    expected = autograd_reference(model, X, y, list(model.parameters()))
    torch.testing.assert_close(per_sample_grads(model, X, y, batch_size=4), expected,
                               atol=1e-10, rtol=0)
    with torch.no_grad():
        h, probs = model.embed(X), torch.softmax(model(X), dim=1)
    np.testing.assert_allclose(grand_last_layer(probs.numpy(), y.numpy(), h.numpy()),
                               grand(model, X, y, params="last"), rtol=1e-10)


# ---- input validation ----

def test_gradient_inputs_are_validated():
    model = make_mlp(0)
    X, y = make_data(n=5)
    with pytest.raises(ValueError, match="label 3 .* only 3 classes.*\\[0, 2\\]"):
        per_sample_grads(model, X, torch.tensor([0, 1, 2, 3, 0]))
    with pytest.raises(ValueError, match="same length.*5 samples in X and 4"):
        grand(model, X, y[:4])
    with pytest.raises(ValueError, match="NaN"):
        per_sample_grads(model, torch.where(X > 1, float("nan"), X), y)
    with pytest.raises(ValueError, match="NaN"):
        grand(model, np.where(X.numpy() > 1, np.nan, X.numpy()), y)
    with pytest.raises(ValueError, match="2-D"):
        per_sample_grads(model, X.reshape(5, 2, 2), y)
    with pytest.raises(ValueError, match="params='bias'.*'all', 'last'"):
        per_sample_grads(model, X, y, params="bias")
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        grand(model, X, y, batch_size=0)
    with pytest.raises(ValueError, match="non-empty list"):
        grand([], X, y)
    with pytest.raises(TypeError, match="torch.nn.Module, got str"):
        per_sample_grads("mlp", X, y)


def test_closed_form_inputs_are_validated():
    probs = np.full((4, 3), 1 / 3)
    with pytest.raises(ValueError, match="label 5 .*only 3 classes"):
        el2n(probs, [0, 1, 2, 5])
    with pytest.raises(ValueError, match="same length"):
        grand_last_layer(probs, [0, 1])
    with pytest.raises(ValueError, match="label"):
        gradient_features(probs, [0, 1, 2, -1])
    with pytest.raises(ValueError, match="sum to 1"):
        el2n(probs * 2, [0, 1, 2, 0])
    with pytest.raises(ValueError, match="NaN"):
        el2n(np.where(probs > 0, np.nan, probs), [0, 1, 2, 0])
    with pytest.raises(ValueError, match="embeddings must have one row per sample, got 3 rows"):
        gradient_features(probs, [0, 1, 2, 0], np.ones((3, 2)))
    with pytest.raises(ValueError, match="embeddings.*NaN"):
        grand_last_layer(probs, [0, 1, 2, 0], np.full((4, 2), np.nan))


# ---- CRAIG ----

def test_craig_delegates_to_facility_location(monkeypatch):
    """craig must call facility_dense.facility_location, not reimplement it (spy, always runs)."""
    calls = []

    def spy(G, budget, *, similarity, gamma, optimizer, epsilon, random_state, return_objective):
        calls.append((G.copy(), budget, similarity, random_state, optimizer, epsilon, gamma))
        assert return_objective
        return np.array([2, 0]), np.array([3.0, 1.0]), 4.0

    fake = types.SimpleNamespace(facility_location=spy)
    monkeypatch.setitem(sys.modules, "distill_lab.criteria.facility_dense", fake)
    monkeypatch.setattr(distill_lab.criteria, "facility_dense", fake, raising=False)
    G = np.arange(8.0).reshape(4, 2)
    indices, weights = craig(G, 0.5, similarity="cosine", random_state=7)
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0][0], G)
    assert calls[0][1:] == (2, "cosine", 7, "lazy", 0.01, None)  # float budget -> count first
    craig(G, 2, gamma=0.25)                                        # gamma is passed on
    assert calls[1][-1] == 0.25
    assert indices.dtype == np.int64 and weights.dtype == np.float64
    np.testing.assert_array_equal(indices, [2, 0])


def test_craig_validates_before_selecting():
    with pytest.raises(ValueError, match="G contains 1 NaN"):
        craig(np.array([[0.0, np.nan], [1.0, 1.0]]), 1)
    with pytest.raises(ValueError, match="budget=5 is out of range"):
        craig(np.ones((3, 2)), 5)


def clustered_gradients(seed=0):
    """Five well-separated gradient clusters of very unequal size: weights must carry the sizes."""
    rng = np.random.default_rng(seed)
    sizes = np.array([120, 40, 20, 12, 8])
    centers = rng.normal(scale=5.0, size=(5, 6))
    labels = np.repeat(np.arange(5), sizes)
    return centers[labels] + rng.normal(scale=0.2, size=(sizes.sum(), 6))


def discrepancy(G, indices, weights):
    """|| mean_i g_i - sum_j (w_j / n) g_j ||: how far the weighted subset is from the mean."""
    return np.linalg.norm(G.mean(axis=0) - (weights[:, None] * G[indices]).sum(axis=0) / len(G))


def test_craig_weights_sum_to_n_and_beat_random_subsets():
    pytest.importorskip("distill_lab.criteria.facility_dense")
    G = clustered_gradients()
    n, k = len(G), 10
    indices, weights = craig(G, k, random_state=0)
    assert len(indices) == k == len(np.unique(indices))
    assert indices.min() >= 0 and indices.max() < n
    np.testing.assert_allclose(weights.sum(), n)
    rng = np.random.default_rng(1)
    random_gaps = [discrepancy(G, idx, np.full(k, n / k))
                   for idx in (rng.choice(n, size=k, replace=False) for _ in range(50))]
    # Weighted picks near every cluster centre beat even the best of 50 random subsets.
    assert discrepancy(G, indices, weights) < min(random_gaps)


def test_craig_on_gradient_features_is_reproducible():
    pytest.importorskip("distill_lab.criteria.facility_dense")
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.ones(4), size=60)
    y = rng.integers(0, 4, size=60)
    G = gradient_features(probs, y)
    first, second = craig(G, 0.1, random_state=3), craig(G, 0.1, random_state=3)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert len(first[0]) == 6
