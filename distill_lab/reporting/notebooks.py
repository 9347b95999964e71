"""The numbered notebooks as the runner and the refresher see them: finding `NN_name.ipynb` files,
the parameters a notebook declares, the hash its outputs depend on, and one papermill execution."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from distill_lab.reporting.figures import json_safe

__all__ = ["QUICK_PARAMETERS", "find_notebooks", "declared_parameters", "injected_parameters",
           "source_hash", "execute_notebook", "ipc_kernel_config", "describe_error"]

# The embedded defaults of `distill-lab run`: small data, quick mode, CPU only.
QUICK_PARAMETERS = {"dataset": "digits", "quick": True, "device": "cpu"}
_NOTEBOOK_NAME = re.compile(r"^(\d\d)_\w+\.ipynb$")


def find_notebooks(notebooks_dir, only=None) -> list[Path]:
    """The `NN_name.ipynb` files of a folder in order, optionally only the ids in `only` ("02")."""
    notebooks_dir = Path(notebooks_dir)
    if not notebooks_dir.is_dir():
        raise FileNotFoundError(f"notebooks_dir={str(notebooks_dir)!r} is not a folder; pass the "
                                "folder that holds the NN_name.ipynb notebooks")
    found = {_NOTEBOOK_NAME.match(p.name).group(1): p for p in sorted(notebooks_dir.iterdir())
             if _NOTEBOOK_NAME.match(p.name)}
    if not found:
        raise FileNotFoundError(f"notebooks_dir={str(notebooks_dir)!r} holds no NN_name.ipynb files")
    if only is None:
        return list(found.values())
    ids = [str(i).strip() for i in ([only] if isinstance(only, (str, int)) else only)]
    if not ids or not all(ids):  # "" would run nothing, or (zero-filled) notebook 00
        raise ValueError(f"only={only!r} names no notebook, or an empty id; pass ids such as "
                         f"['02', '04'] (available: {sorted(found)}), or None for all")
    wanted = [i.zfill(2) for i in ids]
    unknown = [i for i in wanted if i not in found]
    if unknown:
        raise ValueError(f"only={list(only) if not isinstance(only, (str, int)) else only!r} names "
                         f"unknown notebook id(s) {unknown}; available: {sorted(found)}")
    return [found[i] for i in sorted(set(wanted))]


def declared_parameters(path) -> dict:
    """Name -> default of the variables a notebook's `parameters`-tagged cell declares."""
    import papermill  # heavy import, only when notebooks actually run

    return {name: p["default"] for name, p in papermill.inspect_notebook(str(path)).items()}


def injected_parameters(path, parameters: dict, declared: dict) -> dict:
    """The `parameters` that the notebook at `path` declares, plus its own results file under
    results/ when it declares `results_path`."""
    injected = {k: v for k, v in parameters.items() if k in declared}
    if "results_path" in declared:
        injected["results_path"] = f"results/{Path(path).stem}.json"
    return injected


def source_hash(nb, parameters=None) -> str:
    """sha256 over the code cells' sources and the parameters: what the outputs depend on."""
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"
            and "injected-parameters" not in cell.metadata.get("tags", [])]
    payload = json.dumps({"code": code, "parameters": json_safe(parameters or {})}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def execute_notebook(source, output, parameters, cwd, kernel_name, env=None) -> None:
    """Run `source` with papermill into `output`, injecting `parameters`, in the folder `cwd`,
    its kernel over IPC (`ipc_kernel_config`) with `env` (a mapping) added to its environment."""
    import papermill

    with ipc_kernel_config() as options, kernel_environment(env or {}):
        papermill.execute_notebook(str(source), str(output), parameters=parameters, cwd=str(cwd),
                                   kernel_name=kernel_name, progress_bar=False, log_output=False,
                                   **options)


@contextlib.contextmanager
def kernel_environment(env: dict):
    """`env` in os.environ while a kernel starts (it inherits this process's environment), the
    previous values restored after. A runner starts one kernel at a time per process."""
    before = {name: os.environ.get(name) for name in env}
    os.environ.update({name: str(value) for name, value in env.items()})
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def ipc_kernel_config():
    """Keyword options ({"config": ...} or {}) that make a Jupyter kernel talk to us over IPC (Unix
    sockets in a private temporary folder), not TCP on localhost: nothing listens on a port, and
    ipykernel has no reason to warn that the traffic is unencrypted (once per notebook). Windows
    has no IPC transport and keeps TCP."""
    with contextlib.ExitStack() as stack:
        options = {}
        if os.name == "posix":
            from traitlets.config import Config

            # a short path: a Unix socket's path is limited to about 100 characters
            sockets = stack.enter_context(tempfile.TemporaryDirectory(prefix="dl-kernel-"))
            options["config"] = Config({"KernelManager": {
                "transport": "ipc", "ip": os.path.join(sockets, "kernel")}})
        yield options


def describe_error(exc) -> str:
    """'cell N: ValueError: message' for a failing cell, else the exception's type and text."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        first_line = (exc.source or "").strip().splitlines()[:1]
        where = f"cell [{exc.exec_count}]" + (f" `{first_line[0][:80]}`" if first_line else "")
        return f"{where}: {exc.ename}: {exc.evalue}"
    return f"{type(exc).__name__}: {exc}"
