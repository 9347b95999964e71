"""The paper table's generative and embedding rows (experiments.paper_routes) on a toy image set:
their wiring, cost and gain fields, seeds that vary the set, and generators reused from their
checkpoints."""
import dataclasses

import numpy as np
import pytest

from distill_lab import data, proxy
from distill_lab.evaluation import validate_rows
from distill_lab.evaluation.protocol import default_protocol
from distill_lab.experiments import paper, paper_routes
from distill_lab.experiments.paper import SMOKE_CONFIG, PaperConfig, paper_rows
from distill_lab.experiments.paper_routes import (GENERATIVE_METHODS, ROUTE_METHODS, Generators,
                                                  _set_maker, format_cost_table, route_summary)


def _toy_mnist():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = np.clip(rng.normal(0.2 + 0.2 * y[:, None], 0.1, (60, 784)), 0, 1).astype(np.float32)
    return data.Dataset(X, y, X[:30], y[:30], 3, (1, 28, 28), "mnist")


@pytest.fixture(autouse=True)
def _short_proxies(monkeypatch):
    # The embedding ConvNet-3 trains for at least proxy.MIN_STEPS (200) steps: minutes on a
    # busy 2-core machine; 3 steps check the wiring.
    monkeypatch.setattr(proxy, "MIN_STEPS", 3)


def _config(tmp_path, **kw):
    return dataclasses.replace(SMOKE_CONFIG, checkpoint_dir=str(tmp_path), **{"ipcs": (1,), **kw})


def test_route_rows_on_a_toy_image_set(tmp_path):
    methods = ("random",) + ROUTE_METHODS
    rows = paper_rows(_toy_mnist(), _config(tmp_path, methods=methods), verbose=False)
    assert [r["method"] for r in rows] == list(methods)
    validate_rows(rows)
    by = {r["method"]: r for r in rows}
    assert by["random"]["gain_over_random"] == 0.0
    for m in ROUTE_METHODS:
        r = by[m]
        assert r["n_selected"] == 3 and r["seed_varies"]
        assert r["gain_over_random"] == pytest.approx(r["accuracy_mean"]
                                                      - by["random"]["accuracy_mean"])
        assert r["cost_seconds"] == pytest.approx(r["generator_seconds"] + r["synthesis_seconds"])
        assert r["selection_seconds"] == pytest.approx(r["cost_seconds"])
    for m in ("gan", "gan_latent_dm"):
        assert by[m]["generator_seconds"] == by[m]["gan_seconds"] > 0
        assert (by[m]["gan_discriminator"], by[m]["gan_loss"], by[m]["gan_mode_seeking"]) == (
            "concat", "bce", 1.0)
    assert by["diffusion_prototypes"]["t_star"] == 100
    assert by["dm_from_generated"]["dm_init"] == "diffusion_prototypes"
    assert by["dm_from_generated"]["generator_seconds"] == by["diffusion"]["ddpm_seconds"]
    assert by["herding_embed"]["generator_seconds"] == 0.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddpm_mnist_n60_w8.pt",
                                                         "gan_mnist_n60_w8_concat.pt"]
    table = format_cost_table(rows)
    assert table.count("\n") == len(rows) + 1 and "| gan_latent_dm | 1 |" in table


def test_generators_are_loaded_from_their_checkpoints(tmp_path):
    ds, config = _toy_mnist(), _config(tmp_path)
    first = Generators(ds, config, "cpu").get("gan")
    path = tmp_path / "gan_mnist_n60_w8_concat.pt"
    written = path.stat().st_mtime_ns
    again = Generators(ds, config, "cpu").get("gan")
    assert path.stat().st_mtime_ns == written        # loaded, not trained (nor saved) again
    assert again.step_ == config.gan_steps and 0 < again.train_seconds_ <= first.train_seconds_
    for a, b in zip(first.modules_["G"].parameters(), again.modules_["G"].parameters()):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("method", GENERATIVE_METHODS)
def test_each_seed_makes_another_set(tmp_path, method):
    ds, config = _toy_mnist(), _config(tmp_path)
    protocol = default_protocol(ds, "paper", seeds=(0, 1), device="cpu", width=8)
    make = _set_maker(method, ds, 1, protocol, config, Generators(ds, config, "cpu"))
    (a, ya, _), (b, yb, _) = make(0), make(1)
    assert np.array_equal(ya, yb) and a.shape == b.shape == (3, 784)
    assert not np.array_equal(a, b)
    # the same seed in another run (generators loaded from their checkpoints): the same set
    again = _set_maker(method, ds, 1, protocol, config, Generators(ds, config, "cpu"))
    np.testing.assert_array_equal(a, again(0)[0])


def test_one_embedder_per_seed_and_one_start_set_per_seed(tmp_path, monkeypatch):
    """herding_embed, kcenter_embed and diffusion_prototypes share one embedding ConvNet-3 per
    seed across images per class; dm_from_generated starts from the very set diffusion_prototypes
    was scored on; each reuse is billed, so a row costs at least what its own set took."""
    fitted, made = [], []
    fit_proxy, prototypes = proxy.fit_proxy, paper_routes.diffusion_prototypes

    def counting_fit(*args, **kw):
        fitted.append((kw["model"], kw["random_state"]))
        return fit_proxy(*args, **kw)

    def counting_prototypes(*args, **kw):
        made.append((args[3], kw["random_state"]))
        return prototypes(*args, **kw)

    monkeypatch.setattr(proxy, "fit_proxy", counting_fit)
    monkeypatch.setattr(paper_routes, "diffusion_prototypes", counting_prototypes)
    methods = ("random", "diffusion_prototypes", "dm_from_generated", "herding_embed",
               "kcenter_embed")
    rows = paper_rows(_toy_mnist(), _config(tmp_path, methods=methods, ipcs=(1, 2),
                                            seeds=(0, 1)), verbose=False)
    embedders = [f for f in fitted if f[0] == "convnet3"]
    assert len(embedders) == 2 and len(set(embedders)) == 2          # one per seed
    assert sorted(made) == [(1, 0), (1, 1), (2, 0), (2, 1)]          # one per ipc and seed
    by = {(r["method"], r["ipc"]): r for r in rows}
    for k in (1, 2):
        # dm_from_generated pays for its start set (reused, billed) and for DM on top of it
        assert (by[("dm_from_generated", k)]["synthesis_seconds"]
                > by[("diffusion_prototypes", k)]["synthesis_seconds"] * 0.5)
        # the reused embedder is billed to the rows that did not train it
        assert by[("kcenter_embed", k)]["synthesis_seconds"] > 0


def test_dm_rows_learn_one_set_per_seed(monkeypatch):
    seen = {}

    def fake_evaluate(dataset, method, make_set, protocol, full, budget=None, **kw):
        seen["sets"] = [make_set(s)[0] for s in (0, 1)]
        return {"selection_seconds": 1.0}

    monkeypatch.setattr(paper, "evaluate_synthetic", fake_evaluate)
    ds = _toy_mnist()
    protocol = default_protocol(ds, "paper", seeds=(0, 1), device="cpu", width=8)
    paper._dm_row(ds, "dm", 1, protocol, None, SMOKE_CONFIG)
    assert not np.array_equal(*seen["sets"])


def test_config_checks_the_routes():
    with pytest.raises(ValueError, match="dm_init='dm_from_generated' must be one of"):
        PaperConfig(dm_init="dm_from_generated")
    with pytest.raises(ValueError, match=r"methods \['gan2'\] are not paper-table methods"):
        PaperConfig(methods=("gan2",))


def _summary_row(method, ipc, acc, std=0.3, gen=0.0, syn=60.0):
    return {"method": method, "ipc": ipc, "accuracy_mean": acc, "accuracy_std": std,
            "generator_seconds": gen, "synthesis_seconds": syn}


def test_route_summary_names_the_best_route_against_random_and_dm():
    rows = [_summary_row("random", 10, 93.0), _summary_row("dm", 10, 95.5),
            _summary_row("gan", 10, 40.0, gen=600), _summary_row("diffusion", 10, 78.0, gen=1500),
            _summary_row("diffusion_prototypes", 10, 95.0, gen=1500, syn=90),
            _summary_row("dm_from_generated", 10, 96.0, gen=1500, syn=270),
            _summary_row("random", 1, 60.0, std=4.0), _summary_row("gan_latent_dm", 1, 62.0),
            _summary_row("random", 50, 97.0)]          # no route at 50: left out
    one, ten = route_summary(rows)
    assert one.startswith("**1 per class**: the best route, gan_latent_dm, scores 62.0 ± 0.3%, "
                          "level with random (+2.0 points);")   # within sqrt(4^2 + 0.3^2)
    assert ten == ("**10 per class**: the best route, dm_from_generated, scores 96.0 ± 0.3%, "
                   "above random (+3.0 points) and above dm (+0.5 points); it costs 25 min of "
                   "generator training and 4.5 min of synthesis. Plain samples: gan 40.0% (-53.0 "
                   "points against random), diffusion 78.0% (-15.0 points against random).")
    assert route_summary([_summary_row("random", 10, 93.0)]) == []
