"""The Dask cluster that sweeps and distributed benchmarks run on (dask.distributed): an embedded
`LocalCluster` of one single-threaded process per core, or an existing scheduler by address.
Work is always scheduled by Dask; the package keeps no process pool or job queue of its own."""
from __future__ import annotations

import contextlib
import os
import sys

from distributed import Client, LocalCluster, WorkerPlugin

__all__ = ["SCHEDULER_ENV", "ONE_THREAD_ENV", "KERNEL_ENV_DROP", "OneThreadPerWorker", "connect",
           "default_n_workers"]

SCHEDULER_ENV = "DISTILL_LAB_SCHEDULER"  # the scheduler `distill-lab sweep` attaches to by default
# Each worker runs one task at a time on one core: a second BLAS/torch thread per worker would
# oversubscribe the machine (N workers x N threads). Kernels started by a worker inherit these.
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
# Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536 (glibc hands freed memory back to the OS
# at once); a Jupyter kernel started by a worker inherited it, and torch's training loops, which
# free and reallocate their activations every step, then ran 1.3-1.7x slower (benchmarks below).
# The worker keeps its own setting; the kernels it starts get glibc's default.
KERNEL_ENV_DROP = ("MALLOC_TRIM_THRESHOLD_",)


class OneThreadPerWorker(WorkerPlugin):
    """Pin every worker (and the Jupyter kernels it starts) to one BLAS/torch thread, on embedded
    and external clusters alike (a `dask worker` started by hand may have other defaults)."""

    name = "distill-lab-one-thread"

    def setup(self, worker):
        os.environ.update(ONE_THREAD_ENV)
        for name in KERNEL_ENV_DROP:   # read by glibc at process start: children only
            os.environ.pop(name, None)
        torch = sys.modules.get("torch")  # already imported: its thread pool exists, set it too
        if torch is not None:
            torch.set_num_threads(1)


def default_n_workers() -> int:
    """The cores this process may use (its CPU affinity where the OS reports one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextlib.contextmanager
def connect(scheduler: str | None = None, n_workers: int | None = None, *, verbose: bool = True):
    """Yield a `distributed.Client`: attached to `scheduler` (an address such as
    tcp://10.0.0.5:8786) when given, else to an embedded LocalCluster of `n_workers` processes
    (default: one per core) with one thread each, on loopback only. Closed on exit.

    With `verbose`, the dashboard's address is printed to stderr when the scheduler serves one.
    """
    if scheduler is not None and n_workers is not None:
        raise ValueError(f"n_workers={n_workers!r} sizes the embedded cluster; with "
                         f"scheduler={scheduler!r} the cluster's own workers run the tasks")
    if n_workers is not None and (not isinstance(n_workers, int) or n_workers < 1):
        raise ValueError(f"n_workers={n_workers!r} must be an int >= 1")
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(LocalCluster(
                n_workers=n_workers or default_n_workers(), threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=":0", env=dict(ONE_THREAD_ENV)))
            client = stack.enter_context(Client(cluster))
        else:
            client = stack.enter_context(Client(scheduler))
        client.register_plugin(OneThreadPerWorker())
        if verbose and "dashboard" in client.scheduler_info().get("services", {}):
            print(f"Dask dashboard: {client.dashboard_link}", file=sys.stderr)
        yield client
