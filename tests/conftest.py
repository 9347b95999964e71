"""Shared pytest configuration: the notebook-execution environment."""
import json
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# tests/fixtures/ holds notebooks for the report tests, one of them failing on purpose: never let
# `pytest --nbval-lax` collect them as notebooks to validate.
collect_ignore_glob = ["fixtures/*"]


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """The test models are tiny: a second intra-op thread only adds hand-off cost, which grows to
    10x the work on a busy 2-core machine. Restored after the session."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def kernel_env():
    """Let Jupyter kernels started by papermill import this checkout's distill_lab (kernels inherit
    the environment), whether or not the package is pip-installed."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                              os.environ.get("PYTHONPATH")])))
        yield REPO_ROOT


@pytest.fixture(scope="session")
def quick_report(kernel_env, tmp_path_factory):
    """The README's main job, `distill-lab run`, executed once over the real notebooks (papermill
    in quick mode): tests/test_notebooks.py checks every notebook in the report it produced, and
    tests/test_assignments.py grades the executed instructor notebooks."""
    from distill_lab.cli import main

    out = tmp_path_factory.mktemp("report") / "quick"
    status = main(["run", "--out", str(out)])
    manifest = json.loads((out / "manifest.json").read_text())
    return status, out, manifest
