"""distill_lab/models.py: the networks' seeded initialization (`make_model`, `init_parameters_`)."""
import numpy as np
import pytest
import torch

from distill_lab.models import (ConvNet, ConvNet3, LogReg, MLP, init_parameters_, make_model,
                                torch_generator)

CASES = [("logreg", 64, None, lambda: LogReg(64, 10)),
         ("mlp", 64, None, lambda: MLP(64, 10)),
         ("convnet", 64, (1, 8, 8), lambda: ConvNet((1, 8, 8), 10)),
         ("convnet3", 784, (1, 28, 28), lambda: ConvNet3((1, 28, 28), 10))]


def _same(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("name, n_features, shape, build", CASES)
def test_same_seed_same_weights_and_global_rng_untouched(name, n_features, shape, build):
    before = torch.get_rng_state()
    a = make_model(name, n_features, 10, shape, random_state=3)
    assert torch.equal(torch.get_rng_state(), before)
    assert _same(a, make_model(name, n_features, 10, shape, random_state=3))
    assert not _same(a, make_model(name, n_features, 10, shape, random_state=4))
    assert _same(a, make_model(name, n_features, 10, shape,
                               random_state=np.random.RandomState(3)))


@pytest.mark.parametrize("name, n_features, shape, build", CASES)
def test_weights_equal_torch_default_init_under_the_drawn_seed(name, n_features, shape, build):
    # The mechanism make_model used before init_parameters_ (manual_seed, then construction):
    # the published numbers were trained from these weights, so they must not change.
    seed = int(np.random.RandomState(7).randint(0, 2**31 - 1))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        reference = build()
    assert _same(make_model(name, n_features, 10, shape, random_state=7), reference)


def test_init_parameters_draws_from_its_generator_only():
    layer = torch.nn.Conv2d(2, 3, 3)
    before = torch.get_rng_state()
    init_parameters_(layer, torch.Generator().manual_seed(0))
    w = layer.weight.clone()
    init_parameters_(layer, torch.Generator().manual_seed(0))
    assert torch.equal(layer.weight, w) and torch.equal(torch.get_rng_state(), before)
    bound = 1 / np.sqrt(2 * 9)                                     # uniform(+-1/sqrt(fan_in))
    assert layer.bias.abs().max() <= bound


def test_torch_generator_passes_a_generator_through():
    g = torch.Generator().manual_seed(1)
    assert torch_generator(g) is g
    a, b = torch_generator(5), torch_generator(5)
    assert torch.equal(torch.rand(3, generator=a), torch.rand(3, generator=b))
