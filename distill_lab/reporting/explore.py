"""The explorer (notebook 10) as a live web app: a copy of the notebook with the given parameters
written the way papermill injects them, served by Voilà (code hidden, widgets live) on a local
port. `distill-lab explore` runs it; tests drive it in headless Chromium."""
from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat

__all__ = ["free_port", "parameterized_copy", "voila_command", "serve", "wait_until_up"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parameterized_copy(notebook, parameters: dict, folder) -> Path:
    """Write `notebook` into `folder` with `parameters` injected after its `parameters` cell, as
    papermill does (no execution): Voilà then runs it with those values."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(notebook))  # papermill's reader: every cell gets its tags list
    nb = parameterize_notebook(nb, parameters) if parameters else nb
    path = Path(folder) / Path(notebook).name
    nbformat.write(nb, path)
    return path


def voila_command(notebook, port: int) -> list:
    """The Voilà server for one notebook on 127.0.0.1:port, without opening a browser."""
    if importlib.util.find_spec("voila") is None:
        raise RuntimeError("Voilà is not installed: pip install voila (it is a dependency of "
                           "distill-lab; reinstall with `pip install -e .`)")
    return [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
            "--Voila.ip=127.0.0.1", "--strip_sources=True", "--show_tracebacks=True"]


def wait_until_up(url: str, process=None, timeout: float = 120.0) -> None:
    """Poll `url` until it answers (or the server process exits, or `timeout` passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the Voilà server exited with status {process.returncode} before "
                               f"{url} answered")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=5):
                return
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:g} s")


@contextlib.contextmanager
def serve(notebook, parameters=None, port=None, *, quiet=True, timeout: float = 120.0):
    """Serve `notebook` with Voilà on 127.0.0.1; yields the app's URL; stops the server on exit."""
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="dl-explore-") as folder:
        copy = parameterized_copy(notebook, parameters or {}, folder)
        out = subprocess.DEVNULL if quiet else None
        process = subprocess.Popen(voila_command(copy, port), cwd=folder, stdout=out, stderr=out)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_until_up(url, process, timeout)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
