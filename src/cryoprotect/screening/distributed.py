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

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

import pandas as pd

from cryoprotect.screening.chunks import ChunkResult, ChunkScreener
from cryoprotect.screening.run import ChunkRunner, run_here


def _screen_chunk(screener: ChunkScreener, chunk: pd.DataFrame) -> ChunkResult:
    return screener(chunk)


def dask_runner(client, in_flight: int) -> ChunkRunner:
    """Return a runner sending chunks to ``client``'s cluster, at most ``in_flight`` at once."""
    from distributed import as_completed

    def run(screener: ChunkScreener, chunks: Iterable[pd.DataFrame]) -> Iterator[ChunkResult]:
        shared = client.scatter(screener, broadcast=True)
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


@contextmanager
def chunk_runner(scheduler: str, workers: int) -> Iterator[ChunkRunner]:
    """Yield the runner for ``scheduler``.

    ``here`` screens in this process; ``local`` starts a local cluster of ``workers``
    processes (closed afterwards); anything else is a scheduler address.
    """
    if scheduler == "here":
        yield run_here
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
            yield dask_runner(client, in_flight=2 * workers)
        return
    with Client(scheduler) as client:
        total = sum(client.nthreads().values())
        yield dask_runner(client, in_flight=2 * max(total, 1))
