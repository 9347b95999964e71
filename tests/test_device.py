"""The device is resolved once and means what it says (issue 19, item 2): one helper
(`_validation.resolve_device`), every phase of an experiment row receives the protocol's device,
a GPU this machine lacks fails before any work, and each row records where its phases ran."""
import dataclasses
import inspect

import pytest
import torch

from distill_lab import active, data, proxy
from distill_lab._validation import available_devices, resolve_device
from distill_lab.evaluation import (default_protocol, evaluate, evaluate_selector, run_full,
                                    validate_rows)
from distill_lab.evaluation import protocol as protocol_module
from distill_lab.experiments import bench, generative, headline, paper
from distill_lab.generative import ConditionalGAN, DistributionMatching
from distill_lab.generative.base import BaseGenerator
from distill_lab.selectors import make_selector, make_selector_on
from distill_lab.selectors.base import BaseSelector


@pytest.fixture
def digits():
    return data.subsample(data.load("digits"), 200, random_state=0)


@pytest.fixture
def no_gpu(monkeypatch):
    """A machine without a GPU, whatever this one has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.fixture
def spy(monkeypatch):
    """(phase, device argument as received) for every phase that trains or selects: `train` where
    the evaluation, the proxies and active learning call it, `fit_proxy`, `active_learning`, each
    selector's and generator's fit. The raw argument is recorded, so a phase left on its default
    shows up as 'auto' even on a machine where 'auto' means the CPU."""
    calls = []

    def record(phase, fn):
        signature = inspect.signature(fn)

        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            calls.append((phase, bound.arguments["device"]))
            return fn(*args, **kwargs)
        return wrapper

    for module, phase in ((protocol_module, "train: evaluation"), (proxy, "train: proxy"),
                          (active, "train: active learning")):
        monkeypatch.setattr(module, "train", record(phase, module.train))
    monkeypatch.setattr(proxy, "fit_proxy", record("fit_proxy", proxy.fit_proxy))
    monkeypatch.setattr(generative, "fit_proxy", record("fit_proxy", generative.fit_proxy))
    monkeypatch.setattr(headline, "active_learning",
                        record("active_learning", headline.active_learning))

    def fit_of(cls, label):
        original = cls.fit

        def fit(self, *args, **kwargs):
            if "device" in self.get_params():
                calls.append((f"{label}: {type(self).__name__}", self.device))
            return original(self, *args, **kwargs)
        monkeypatch.setattr(cls, "fit", fit)

    fit_of(BaseSelector, "select")
    fit_of(BaseGenerator, "generator")
    fit_of(DistributionMatching, "generator")
    return calls


# ----------------------------------------------------------------------------- the helper
def test_the_one_helper_resolves_auto_and_accepts_explicit_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    auto = resolve_device("auto").type
    assert auto == "cuda" if torch.cuda.is_available() else auto in ("cpu", "mps")
    assert available_devices()[0] == "cpu"
    with pytest.raises(ValueError, match=r"device='gpu' is not supported; use 'auto', 'cpu', "
                                         r"'cuda', 'cuda:N' or 'mps'"):
        resolve_device("gpu")
    with pytest.raises(TypeError, match="device must be a string .* got None"):
        resolve_device(None)


def test_cuda_without_a_gpu_names_the_value_and_the_devices_found(no_gpu):
    assert resolve_device("auto") == torch.device("cpu")
    for value in ("cuda", "cuda:1", "mps"):
        with pytest.raises(ValueError, match=rf"device='{value}' asks for a device this machine "
                                             r"does not have \(devices found: cpu\)"):
            resolve_device(value)


def test_cuda_n_beyond_the_gpus_found_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda") == torch.device("cuda")
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ValueError, match=r"device='cuda:1' .*devices found: cpu, cuda:0"):
        resolve_device("cuda:1")


# ----------------------------------------------------------------------------- (b) before any work
def test_a_cuda_request_without_a_gpu_fails_before_any_work(no_gpu, spy, digits, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("work started before the device was checked")

    message = r"device='cuda' asks for a device this machine does not have \(devices found: cpu\)"
    with pytest.raises(ValueError, match=message):
        default_protocol(digits, device="cuda")
    with pytest.raises(ValueError, match=message):
        active.active_learning(digits.X_train, digits.y_train, digits.X_test, digits.y_test,
                               budget=30, device="cuda", verbose=False)
    with pytest.raises(ValueError, match=message):
        make_selector("el2n", budget=10, device="cuda").fit(digits.X_train, digits.y_train)
    with pytest.raises(ValueError, match=message):
        ConditionalGAN((1, 8, 8), 10, width=8, device="cuda", verbose=False).fit(
            digits.X_train, digits.y_train, steps=1)
    monkeypatch.setattr(data, "load", no_work)   # the experiments check it before loading data
    with pytest.raises(ValueError, match=message):
        headline.run_benchmark("digits", device="cuda", verbose=False)
    with pytest.raises(ValueError, match=message):
        generative.run_generative("digits", size="smoke", device="cuda")
    assert not [call for call in spy if not call[0].startswith(("select", "generator"))]


def test_the_bench_cli_refuses_a_missing_gpu_as_it_parses(no_gpu, capsys, monkeypatch):
    monkeypatch.setattr(data, "load", lambda *a, **k: pytest.fail("data loaded"))
    with pytest.raises(SystemExit) as exit_:
        bench.main(["paper", "--smoke", "--device", "cuda"])
    assert exit_.value.code == 2
    assert "device='cuda' asks for a device this machine does not have (devices found: cpu)" \
        in capsys.readouterr().err


# ----------------------------------------------------------------------------- (a) and (c)
def test_every_phase_of_a_row_receives_the_protocols_device(spy, digits):
    protocol = default_protocol(digits, seeds=(0,), device="cpu")
    full = run_full(digits, protocol)
    rows = [evaluate_selector(digits, "el2n", 0.1, protocol, full, class_balanced=True),
            evaluate_selector(digits, "kcenter", 0.1, protocol, full, class_balanced=True,
                              features="embedding"),
            headline.extra_row("active_entropy", digits, 0.1, protocol, full)]
    gen_rows, _ = generative.run_generative("digits", size="smoke", device="cpu", seeds=(0,),
                                            ipcs=(1,), methods=("random", "gan", "dm"),
                                            n_train=200)
    config = dataclasses.replace(paper.SMOKE_CONFIG, device="cpu", methods=("kcenter", "dm"),
                                 ipcs=(1,))
    paper_rows = paper.paper_rows(digits, config, verbose=False)
    phases = {phase for phase, _ in spy}
    assert {"train: evaluation", "train: proxy", "train: active learning", "fit_proxy",
            "active_learning", "select: EL2NSelector", "select: KCenterSelector",
            "generator: ConditionalGAN", "generator: DistributionMatching"} <= phases, phases
    assert {str(device) for _, device in spy} == {"cpu"}, [c for c in spy if str(c[1]) != "cpu"]

    # (c) each row records where its phases ran, and the rows pass the schema
    validate_rows(rows + gen_rows + paper_rows)
    assert {(r["device"], r["device_select"]) for r in rows + gen_rows + paper_rows} \
        == {("cpu", "cpu")}


def test_rows_record_the_device_of_each_phase(digits, monkeypatch):
    protocol = default_protocol(digits, seeds=(0,), device="cpu")
    assert protocol.device == "cpu"   # resolved, held by the protocol
    assert default_protocol(digits, seeds=(0,)).device in ("cpu", "cuda", "mps")  # never 'auto'
    rows = evaluate(digits, {"kcenter": {"name": "kcenter", "features": "raw"}}, [0.1], protocol,
                    verbose=False)
    by_method = {r["method"]: r for r in rows}
    assert by_method["full"]["device_select"] is None       # no set made
    assert by_method["random"]["device_select"] == "cpu"    # numpy
    assert by_method["kcenter"]["device_select"] == "cpu"
    assert all(r["device"] == "cpu" for r in rows)
    # a GPU protocol: a raw-pixel k-center still runs on numpy, and its row says so
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    sel = make_selector_on("kcenter", "cuda", budget=10, features="raw").fit(digits.X_train)
    assert (sel.device, sel.device_) == ("cuda", "cpu")
    assert make_selector_on("el2n", "cuda", budget=10).device == "cuda"


def test_a_selector_device_other_than_the_runs_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(ValueError, match=r"device='cuda' of selector 'el2n' differs from the "
                                         r"run's device 'cpu'"):
        make_selector_on("el2n", "cpu", budget=10, device="cuda")
    # the notebooks pass device=device by hand: the same device is fine
    assert make_selector_on("el2n", "cpu", budget=10, device="cpu").device == "cpu"
    assert "device" not in make_selector_on("random", "cpu", budget=10).get_params()


def test_old_rows_without_device_select_still_validate():
    from result_rows import make_rows

    rows = make_rows()
    for r in rows:
        del r["device_select"]
    validate_rows(rows)
    rows[0]["device_select"] = 0
    with pytest.raises(ValueError, match=r"device_select=0: the name of a torch device"):
        validate_rows(rows)
