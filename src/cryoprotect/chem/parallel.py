"""Run a function over batches of inputs on several cores, with an optional progress bar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from joblib import Parallel, delayed
from tqdm.auto import tqdm

T = TypeVar("T")
R = TypeVar("R")


def batches(items: Sequence[T], batch_size: int) -> list[Sequence[T]]:
    """Split ``items`` into consecutive batches of at most ``batch_size``."""
    return [items[i : i + batch_size] for i in range(0, len(items), batch_size)]


def parallelized(
    fn: Callable[[Sequence[T]], list[R]],
    inputs: Sequence[T],
    n_jobs: int = 1,
    batch_size: int = 500,
    progress: bool = False,
) -> list[R]:
    """Apply ``fn`` (which maps a batch to a list of results) to ``inputs`` batch by batch.

    Parameters
    ----------
    fn
        A picklable function taking a batch and returning one result per item.
    inputs
        The items, in order.
    n_jobs
        Worker processes (joblib's loky backend); 1 runs in this process.
    batch_size
        Items per batch; larger batches amortise the cost of sending work to a process.
    progress
        Show a tqdm progress bar over batches.

    Returns
    -------
    list
        The results in the order of ``inputs``.
    """
    chunks = batches(inputs, batch_size)
    bar = tqdm(total=len(chunks), unit="batch", disable=not progress)
    results: list[R] = []
    if n_jobs == 1 or len(chunks) <= 1:
        for chunk in chunks:
            results.extend(fn(chunk))
            bar.update()
    else:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator")
        for part in parallel(delayed(fn)(chunk) for chunk in chunks):
            results.extend(part)
            bar.update()
    bar.close()
    return results
