"""Checkpoints: atomic writes, bit-exact resume, interrupted runs, corrupt / mismatched files; and
the get_params / clone round trip that a checkpoint's settings are read from."""
import os
import signal
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

from distill_lab.generative import (CheckpointError, ConditionalDDPM, ConditionalGAN,
                                    DistributionMatching)
from distill_lab.generative.checkpoint import load_checkpoint, save_checkpoint


def _digits_subset():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    keep = np.concatenate([np.flatnonzero(y == c)[:12] for c in range(10)])
    return (X[keep] / 16).astype(np.float32), y[keep]


MAKERS = {
    "gan": lambda **kw: ConditionalGAN((1, 8, 8), 10, z_dim=8, width=8, batch_size=16,
                                       device="cpu", verbose=False, **kw),
    "ddpm": lambda **kw: ConditionalDDPM((1, 8, 8), 10, timesteps=30, width=8, batch_size=16,
                                         device="cpu", verbose=False, **kw),
}


def _params(model):
    return {f"{k}.{n}": t.detach().clone() for k, m in model.modules_.items()
            for n, t in m.state_dict().items()}


def _assert_same_run(a, b):
    pa, pb = _params(a), _params(b)
    assert pa.keys() == pb.keys()
    for k in pa:
        assert torch.equal(pa[k], pb[k]), k
    assert a.history_ == b.history_ and a.step_ == b.step_


@pytest.mark.parametrize("kind", ["gan", "ddpm"])
def test_resume_equals_uninterrupted_training(tmp_path, kind):
    X, y = _digits_subset()
    path = tmp_path / "run.pt"
    full = MAKERS[kind](random_state=0).fit(X, y, steps=6)
    MAKERS[kind](random_state=0).fit(X, y, steps=3, checkpoint_path=path, checkpoint_every=3)
    assert load_checkpoint(path, _meta_of(path))["step"] == 3
    resumed = MAKERS[kind](random_state=0).fit(X, y, steps=6, checkpoint_path=path)
    _assert_same_run(full, resumed)
    np.testing.assert_array_equal(full.distill(2, random_state=5)[0],
                                  resumed.distill(2, random_state=5)[0])
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]  # no temporary files left


def _meta_of(path):
    return torch.load(path, weights_only=True)["meta"]


def test_ctrl_c_finishes_the_step_saves_and_resumes(tmp_path, monkeypatch):
    X, y = _digits_subset()
    path = tmp_path / "gan.pt"
    full = MAKERS["gan"](random_state=0).fit(X, y, steps=6)
    original = ConditionalGAN._train_step
    calls = {"n": 0}

    def interrupted(self, *args):
        calls["n"] += 1
        if calls["n"] == 4:  # Ctrl-C in the middle of step 4
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, *args)

    monkeypatch.setattr(ConditionalGAN, "_train_step", interrupted)
    with pytest.raises(KeyboardInterrupt, match="stopped after step 4"):
        MAKERS["gan"](random_state=0).fit(X, y, steps=6, checkpoint_path=path,
                                          checkpoint_every=100)
    monkeypatch.setattr(ConditionalGAN, "_train_step", original)
    assert load_checkpoint(path, _meta_of(path))["step"] == 4  # steps 1-4 were kept
    resumed = MAKERS["gan"](random_state=0).fit(X, y, steps=6, checkpoint_path=path)
    _assert_same_run(full, resumed)


def test_corrupt_checkpoint_is_a_clear_error_and_left_intact(tmp_path):
    X, y = _digits_subset()
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt or unreadable"):
        MAKERS["gan"](random_state=0).fit(X, y, steps=2, checkpoint_path=path)
    assert path.read_bytes() == b"not a checkpoint at all"
    # resume=False starts over and overwrites it; then truncate that real checkpoint
    MAKERS["gan"](random_state=0).fit(X, y, steps=1, checkpoint_path=path, resume=False)
    assert load_checkpoint(path, _meta_of(path))["step"] == 1
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="left untouched"):
        MAKERS["gan"](random_state=0).fit(X, y, steps=2, checkpoint_path=path)
    assert path.read_bytes() == data[: len(data) // 2]


def test_mismatched_checkpoint_names_what_differs(tmp_path):
    X, y = _digits_subset()
    path = tmp_path / "run.pt"
    MAKERS["ddpm"](random_state=0).fit(X, y, steps=1, checkpoint_path=path)
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match="settings"):
        MAKERS["ddpm"](random_state=1).fit(X, y, steps=2, checkpoint_path=path)
    with pytest.raises(CheckpointError, match="data"):
        MAKERS["ddpm"](random_state=0).fit(X[::-1].copy(), y[::-1].copy(), steps=2,
                                           checkpoint_path=path)
    with pytest.raises(CheckpointError, match="class"):
        MAKERS["gan"](random_state=0).fit(X, y, steps=2, checkpoint_path=path)
    assert path.read_bytes() == before


def test_failed_write_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"a": 1}, {"step": 1})
    with pytest.raises(Exception):
        save_checkpoint(path, {"a": 1}, {"step": lambda: 0})  # not picklable
    assert load_checkpoint(path, {"a": 1}) == {"step": 1}
    assert os.listdir(tmp_path) == ["c.pt"]
    with pytest.raises(CheckpointError, match="a: checkpoint has 1, this run has 2"):
        load_checkpoint(path, {"a": 2})
    torch.save({"something": "else"}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a distill_lab"):
        load_checkpoint(tmp_path / "other.pt", {"a": 1})


def test_save_removes_temp_files_an_interrupted_save_left_behind(tmp_path):
    path = tmp_path / "run.pt"
    save_checkpoint(path, {"a": 1}, {"step": 1})
    stale = [tmp_path / ".run.pt.k3x9_q2a.tmp", tmp_path / ".run.pt.w8z1m4p0.tmp"]  # killed saves
    others = [tmp_path / ".run.pt.bak.k3x9_q2a.tmp",  # another checkpoint's: not ours to delete
              tmp_path / "run.pt.tmp", tmp_path / ".run.pt.notes"]
    for p in stale + others:
        p.write_bytes(b"partial")
    save_checkpoint(path, {"a": 1}, {"step": 2})
    assert sorted(os.listdir(tmp_path)) == sorted([p.name for p in others] + ["run.pt"])
    assert load_checkpoint(path, {"a": 1}) == {"step": 2}


def test_training_cleans_a_stale_temp_file_on_its_next_save(tmp_path):
    X, y = _digits_subset()
    path = tmp_path / "gan.pt"
    stale = tmp_path / ".gan.pt.abcd1234.tmp"
    stale.write_bytes(b"half a checkpoint")
    MAKERS["gan"](random_state=0).fit(X, y, steps=1, checkpoint_path=path)
    assert os.listdir(tmp_path) == ["gan.pt"]


@pytest.mark.parametrize("kind", ["gan", "ddpm"])
def test_resuming_a_longer_checkpoint_warns_with_both_step_counts(tmp_path, kind):
    X, y = _digits_subset()
    path = tmp_path / "run.pt"
    MAKERS[kind](random_state=0).fit(X, y, steps=4, checkpoint_path=path)
    with pytest.warns(UserWarning, match=r"already holds 4 steps, more than steps=2.*resume=False"):
        model = MAKERS[kind](random_state=0).fit(X, y, steps=2, checkpoint_path=path)
    assert model.step_ == 4 and len(model.history_) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as many steps as asked: nothing to warn about
        MAKERS[kind](random_state=0).fit(X, y, steps=4, checkpoint_path=path)


ESTIMATORS = {
    "gan": (lambda: MAKERS["gan"](random_state=3, lr=1e-3, loss="bce"),
            lambda est, X, y: est.fit(X, y, steps=2), "modules_"),
    "ddpm": (lambda: MAKERS["ddpm"](random_state=3, schedule="linear", p_uncond=0.2),
             lambda est, X, y: est.fit(X, y, steps=2), "modules_"),
    "dm": (lambda: DistributionMatching(1, (1, 8, 8), 10, iterations=2, width=8, batch_real=4,
                                        variant="mmd", device="cpu", random_state=3,
                                        verbose=False),
           lambda est, X, y: est.fit(X, y), "X_syn_"),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_get_params_and_clone_round_trip(name):
    """clone gives an unfitted estimator with equal parameters that fits to the same result."""
    make, fit, fitted_attr = ESTIMATORS[name]
    est = make()
    params = est.get_params()
    assert est.set_params(**params) is est and est.get_params() == params
    X, y = _digits_subset()
    fit(est, X, y)
    twin = clone(est)
    assert type(twin) is type(est) and twin.get_params() == params
    assert not hasattr(twin, fitted_attr)                 # nothing fitted is copied
    fit(twin, X, y)
    if fitted_attr == "modules_":
        _assert_same_run(est, twin)
    else:
        np.testing.assert_array_equal(est.X_syn_, twin.X_syn_)

