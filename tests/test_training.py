import numpy as np
import pytest
import torch

from distill_lab import data
from distill_lab.models import make_model
from distill_lab.training import TrainConfig, accuracy, embed, predict_proba, train


@pytest.fixture(scope="module")
def digits():
    return data.load("digits")


@pytest.mark.parametrize("name", ["logreg", "mlp", "convnet"])
def test_models_shapes_and_seeded_init(name, digits):
    m1 = make_model(name, 64, 10, image_shape=(1, 8, 8), random_state=0)
    m2 = make_model(name, 64, 10, image_shape=(1, 8, 8), random_state=0)
    x = torch.as_tensor(digits.X_train[:5])
    assert m1(x).shape == (5, 10)
    assert m1.embed(x).shape == (5, 64 if name == "logreg" else 128)
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)


def test_model_init_does_not_touch_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make_model("mlp", 64, 10, random_state=5)
    assert torch.equal(torch.rand(3), expected)


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="model='resnet'"):
        make_model("resnet", 64, 10)
    with pytest.raises(ValueError, match="image_shape"):
        make_model("convnet", 64, 10)
    with pytest.raises(ValueError, match=r"image_shape=\(1, 6, 6\)"):
        make_model("convnet", 36, 10, image_shape=(1, 6, 6))


def test_train_is_deterministic_and_counts_steps(digits):
    cfg = TrainConfig(epochs=2, batch_size=64, lr=1e-2)
    runs = []
    for _ in range(2):
        m = make_model("mlp", 64, 10, random_state=1)
        r = train(m, digits.X_train, digits.y_train, config=cfg, random_state=7, device="cpu")
        runs.append((r, predict_proba(m, digits.X_test)))
    assert runs[0][0].steps == 2 * 22          # ceil(1347 / 64) = 22 steps per epoch
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    m = make_model("mlp", 64, 10, random_state=1)
    assert train(m, digits.X_train[:10], digits.y_train[:10], config=cfg, steps=13).steps == 13


def test_training_learns_digits(digits):
    m = make_model("logreg", 64, 10, random_state=0)
    train(m, digits.X_train, digits.y_train, config=TrainConfig(epochs=10, lr=5e-2),
          random_state=0, device="cpu")
    assert accuracy(m, digits.X_test, digits.y_test) > 0.93
    probs = predict_proba(m, digits.X_test)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert embed(m, digits.X_test[:3]).shape == (3, 64)


def test_sample_weight_zero_ignores_samples(digits):
    """A sample with weight 0 contributes nothing: training equals training without it."""
    X, y = digits.X_train[:64], digits.y_train[:64]
    w = np.ones(64)
    w[32:] = 0.0
    cfg = TrainConfig(epochs=1, batch_size=64, lr=1e-2, schedule="constant")
    a = make_model("logreg", 64, 10, random_state=0)
    b = make_model("logreg", 64, 10, random_state=0)
    train(a, X, y, config=cfg, sample_weight=w, steps=1)
    # weights are normalized to mean 1, so the zero half doubles the other half's weight
    train(b, X[:32], y[:32], config=cfg, steps=1)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": 0}, "steps=0"),
    ({"sample_weight": np.ones(3)}, "sample_weight"),
    ({"sample_weight": -np.ones(1347)}, "sample_weight"),
    ({"device": "tpu"}, "device='tpu'"),
])
def test_train_bad_input(digits, kwargs, match):
    m = make_model("logreg", 64, 10, random_state=0)
    with pytest.raises(ValueError, match=match):
        train(m, digits.X_train, digits.y_train, **kwargs)


def test_cuda_without_gpu_is_a_clear_error(digits):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    m = make_model("logreg", 64, 10, random_state=0)
    with pytest.raises(ValueError, match=r"device='cuda' asks for a device this machine does not "
                                         r"have \(devices found: cpu"):
        train(m, digits.X_train, digits.y_train, device="cuda")


def test_train_config_validation():
    with pytest.raises(ValueError, match="schedule='cosine'"):
        TrainConfig(schedule="cosine")
    with pytest.raises(ValueError, match="batch_size=0"):
        TrainConfig(batch_size=0)


def test_convnet3_is_the_papers_network():
    net = make_model("convnet3", 784, 10, image_shape=(1, 28, 28), random_state=0, width=8,
                     mean=0.1307, std=0.3081)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    norms = [m for m in net.modules() if isinstance(m, torch.nn.GroupNorm)]
    assert len(convs) == 3 and convs[0].padding == (3, 3)        # 28 -> 32 -> 16 -> 8 -> 4
    assert all(n.num_groups == n.num_channels == 8 and n.affine for n in norms)   # instance norm
    x = torch.rand(5, 784)
    assert net(x).shape == (5, 10) and net.embed(x).shape == (5, 8 * 4 * 4)
    # the input is standardized inside: (x - mean) / std, checked against a manual pass
    manual = net.features((x.view(-1, 1, 28, 28) - 0.1307) / 0.3081)
    torch.testing.assert_close(net.embed(x), manual)
    # 8x8 digits: depth 2 (a third block would normalize 2x2 maps); width sets the embedding
    small = make_model("convnet3", 64, 10, image_shape=(1, 8, 8), random_state=0, width=4)
    assert small.embed(torch.rand(2, 64)).shape == (2, 4 * 2 * 2)
    with pytest.raises(ValueError, match=r"image_shape=\(1, 10, 10\)"):
        make_model("convnet3", 100, 10, image_shape=(1, 10, 10))
    with pytest.raises(ValueError, match="std="):
        make_model("convnet3", 784, 10, image_shape=(1, 28, 28), std=0.0)


def test_paper_optimizer_step_schedule_and_dsa(digits):
    cfg = TrainConfig(epochs=4, batch_size=256, lr=0.01, schedule="step", optimizer="sgd",
                      momentum=0.9, augment="crop_scale_rotate")
    models = [make_model("convnet3", 64, 10, image_shape=(1, 8, 8), random_state=0, width=4)
              for _ in range(2)]
    results = [train(m, digits.X_train, digits.y_train, config=cfg, random_state=3, device="cpu")
               for m in models]
    assert results[0].steps == 4 * 6                           # ceil(1347 / 256) = 6 per epoch
    np.testing.assert_array_equal(predict_proba(models[0], digits.X_test),
                                  predict_proba(models[1], digits.X_test))   # DSA is seeded too
    plain = make_model("convnet3", 64, 10, image_shape=(1, 8, 8), random_state=0, width=4)
    train(plain, digits.X_train, digits.y_train, random_state=3, device="cpu",
          config=TrainConfig(epochs=4, batch_size=256, lr=0.01, schedule="step", optimizer="sgd"))
    assert not np.allclose(predict_proba(plain, digits.X_test),
                           predict_proba(models[0], digits.X_test))


def test_step_schedule_divides_the_lr_by_ten_at_half():
    from distill_lab.training import _optimizer  # noqa: private on purpose: the schedule itself

    net = make_model("logreg", 4, 2, random_state=0)
    opt, sched = _optimizer(net, TrainConfig(lr=0.5, schedule="step", optimizer="sgd"), 10)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:5] == [0.5] * 5 and lrs[5:] == pytest.approx([0.05] * 5)
    assert isinstance(opt, torch.optim.SGD) and opt.param_groups[0]["momentum"] == 0.9


@pytest.mark.parametrize("kwargs, match", [
    ({"optimizer": "adam"}, "optimizer='adam'"), ({"schedule": "cosine"}, "schedule='cosine'"),
    ({"momentum": 1.0}, "momentum=1.0"), ({"augment": "blur"}, "strategy='blur'")])
def test_bad_train_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_augment_needs_an_image_model(digits):
    with pytest.raises(ValueError, match="augment='crop'.*image model"):
        train(make_model("mlp", 64, 10, random_state=0), digits.X_train[:20], digits.y_train[:20],
              config=TrainConfig(augment="crop"), steps=1, device="cpu")


def test_inference_batch_default_and_validation(digits):
    """Predictions do not depend on the inference batch (the CPU default is small, 128, for cache);
    a bad batch size names the argument."""
    from distill_lab.training import CPU_INFERENCE_BATCH

    model = make_model("convnet3", 64, 10, image_shape=(1, 8, 8), random_state=0)
    X = digits.X_test[:300]
    default = predict_proba(model, X)
    for bs in (1, CPU_INFERENCE_BATCH, 1024):
        np.testing.assert_allclose(predict_proba(model, X, batch_size=bs), default,
                                   rtol=1e-5, atol=1e-6)
    y = digits.y_test[:300]
    assert accuracy(model, X, y) == accuracy(model, X, y, batch_size=1000)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match=f"batch_size={bad!r}"):
            embed(model, X, batch_size=bad)


def test_quick_threads_one_thread_only_for_small_samples_in_quick_mode(digits):
    from types import SimpleNamespace

    from distill_lab.training import quick_threads

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        def data(shape, n_features):
            return SimpleNamespace(X_train=np.zeros((4, n_features), np.float32), image_shape=shape)

        assert quick_threads(data((1, 28, 28), 784), quick=True) == 2     # MNIST: left alone
        assert quick_threads(data((1, 16, 16), 256), quick=True) == 2     # quick's 16x16: a ConvNet's
        assert quick_threads(digits, quick=False) == 2                    # full study: left alone
        assert quick_threads(digits, quick=True) == 1                     # 8x8 digits, quick: one
        assert quick_threads(data(None, 256), quick=True) == 1            # a small table: one
        torch.set_num_threads(2)
        assert quick_threads(data(None, 300), quick=True) == 2            # a wide table: left alone
    finally:
        torch.set_num_threads(before)
