"""Screening on a Dask cluster: each chunk is a task, the models travel to each worker once.

``cryoprotect screen --scheduler local`` (the default) starts a local cluster of worker
processes; ``--scheduler tcp://HOST:8786`` uses a running cluster (``dask scheduler`` on one
machine, ``dask worker tcp://HOST:8786`` on each of the others, all with this package
installed); ``--scheduler here`` screens in the command's own process. Only a bounded number of
chunks is in flight at a time, so memory stays bounded whatever the library's size. Results
arrive in any order; :func:`cryoprotect.screening.run.screen` orders them by input line, so
the ranking is the same on every path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by the work itself: a cluster starts before RDKit and pandas load
    import pandas as pd

    from cryoprotect.screening.chunks import ChunkResult, ChunkScreener
    from cryoprotect.screening.run import ChunkRunner


def _screen_chunk(screener: ChunkScreener, chunk: pd.DataFrame) -> ChunkResult:
    """Screen ``chunk``, then give the memory its work freed back (a worker stays its size)."""
    from cryoprotect.memory import trim_memory

    result = screener(chunk)
    trim_memory()
    return result


def _warm_up() -> None:
    """Import what screening runs on (RDKit, scikit-learn, pandas: seconds per process)."""
    import cryoprotect.screening.chunks
    import cryoprotect.screening.firstpass  # noqa: F401


def dask_runner(client, in_flight: int) -> ChunkRunner:
    """Return a runner sending chunks to ``client``'s cluster, at most ``in_flight`` at once."""
    from distributed import as_completed

    scattered: dict[int, tuple] = {}

    def run(screener: ChunkScreener, chunks: Iterable[pd.DataFrame]) -> Iterator[ChunkResult]:
        if id(screener) not in scattered:  # a staged screen runs the same screener twice
            scattered[id(screener)] = (screener, client.scatter(screener, broadcast=True))
        shared = scattered[id(screener)][1]
        pending = iter(chunks)
        tasks = as_completed(
            client.submit(_screen_chunk, shared, chunk, pure=False)
            for chunk in islice(pending, in_flight)
        )
        for task in tasks:
            result = task.result()
            task.release()
            following = next(pending, None)
            if following is not None:
                tasks.add(client.submit(_screen_chunk, shared, following, pure=False))
            yield result

    return run


@dataclass
class Workers:
    """Where chunks are screened: ``run`` sends them, ``release`` lets the workers go."""

    run: ChunkRunner
    release: Callable[[], None] = lambda: None
    """Called when no more chunks will come: a local cluster's processes stop, so the
    ranking of a large library does not share the memory with them."""


@contextmanager
def chunk_runner(scheduler: str, workers: int) -> Iterator[Workers]:
    """Yield the workers for ``scheduler``.

    ``here`` screens in this process; ``local`` starts a local cluster of ``workers``
    processes (closed afterwards, or when released); anything else is a scheduler address
    (a cluster this command does not own: releasing it does nothing).
    """
    if scheduler == "here":
        from cryoprotect.screening.run import run_here

        yield Workers(run_here)
        return
    from distributed import Client, LocalCluster

    if scheduler == "local":
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=40,
            ) as cluster,
            Client(cluster) as client,
        ):
            warming = [  # each worker imports while this process goes on (loading models)
                client.submit(_warm_up, pure=False, workers=[address])
                for address in client.scheduler_info()["workers"]
            ]
            yield Workers(dask_runner(client, in_flight=2 * workers), cluster.close)
            del warming
        return
    with Client(scheduler) as client:
        total = sum(client.nthreads().values())
        yield Workers(dask_runner(client, in_flight=2 * max(total, 1)))
