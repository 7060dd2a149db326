"""Predictor processes: the models run outside the web process, where their work can be stopped.

Each of ``size`` processes loads the models once and predicts the batches it is given. The web
process queues a request's items in chunks (a large request is split, so several processes
share it and a small request is not held behind it); an idle process takes every chunk
waiting, up to ``max_items`` items, as one batch, so one model call serves several requests.

A chunk whose request ran out of time or whose client went away is dropped while it waits; if
it is being predicted, its process is ended (the work really stops, even inside RDKit) and a
new one is started, and the other chunks of that batch are queued again at the front.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, InvalidStateError
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from cryoprotect.service.schemas import PredictItem

log = structlog.get_logger("cryoprotect.service")
POLL_SECONDS = 0.02
"""How often a busy process's keeper looks for a cancelled request."""


class PredictorCrashedError(RuntimeError):
    """A predictor process ended while predicting (it is replaced)."""


class OverloadedError(RuntimeError):
    """More items wait for a predictor than the queue may hold."""


@dataclass(eq=False)
class Ticket:
    """The chunks of one request's items; :meth:`cancel` stops whatever is left of them."""

    chunks: list[Chunk] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        """Drop the waiting chunks and stop the running ones."""
        self.cancelled.set()
        for chunk in self.chunks:
            chunk.future.cancel()

    async def results(self) -> list[dict]:
        """Wait for every chunk; return the results with item numbers of the whole request."""
        parts = await asyncio.gather(*(asyncio.wrap_future(c.future) for c in self.chunks))
        return [
            {**r, "item": r["item"] + chunk.start}
            for chunk, part in zip(self.chunks, parts, strict=True)
            for r in part
        ]


@dataclass(eq=False)
class Chunk:
    """Consecutive items of one request, predicted together."""

    ticket: Ticket
    start: int
    items: Sequence[PredictItem]
    structures: list[list[str]]
    names: dict[str, str]
    future: Future = field(default_factory=Future)


def _settle(future: Future, result: object = None, error: BaseException | None = None) -> None:
    """Set ``future``'s outcome unless it is already settled (cancelled, say)."""
    if future.done():
        return
    with contextlib.suppress(InvalidStateError):  # settled by another thread in between
        future.set_exception(error) if error is not None else future.set_result(result)


class _Queue:
    """Chunks waiting for a predictor; chunks put back go to the front.

    The request with the fewest items waiting goes first (oldest first among equals), so a
    single molecule asked for while a large batch is being predicted waits for one batch of
    at most ``max_items`` items, not for the whole of the large request.
    """

    def __init__(self) -> None:
        self._chunks: deque[Chunk] = deque()
        self._ready = threading.Condition()
        self._idle = 0
        self.closed = False

    def put(self, chunks: list[Chunk], front: bool = False) -> None:
        with self._ready:
            if front:
                self._chunks.extendleft(reversed(chunks))
            else:
                self._chunks.extend(chunks)
            self._ready.notify_all()

    def waiting_items(self) -> int:
        with self._ready:
            return sum(len(c.items) for c in self._chunks)

    def close(self) -> None:
        with self._ready:
            self.closed = True
            self._ready.notify_all()

    def take(self, max_items: int) -> list[Chunk] | None:
        """Return the next batch (waiting for one), or ``None`` once closed.

        A batch holds at most ``max_items`` items and at most its share of what waits (the
        items waiting divided among the workers waiting here), so idle workers get the rest
        while a busy worker's share goes to the batch of the one taking.
        """
        with self._ready:
            self._idle += 1
            try:
                return self._next(max_items)
            finally:
                self._idle -= 1

    def _next(self, max_items: int) -> list[Chunk] | None:
        """:meth:`take` with the lock held."""
        while True:
            while self._chunks and self._chunks[0].ticket.cancelled.is_set():
                _settle(self._chunks.popleft().future, error=CancelledError())
            if self._chunks:
                break
            if self.closed:
                return None
            self._ready.wait()
        share = -(-sum(len(c.items) for c in self._chunks) // self._idle)
        limit = min(max_items, share)
        backlog: dict[int, int] = {}
        for chunk in self._chunks:
            backlog[id(chunk.ticket)] = backlog.get(id(chunk.ticket), 0) + len(chunk.items)
        order = sorted(
            range(len(self._chunks)), key=lambda i: (backlog[id(self._chunks[i].ticket)], i)
        )
        batch: list[Chunk] = []
        size, taken = 0, set()
        for index in order:
            chunk = self._chunks[index]
            if batch and size + len(chunk.items) > limit:
                break
            taken.add(index)
            if chunk.ticket.cancelled.is_set():
                _settle(chunk.future, error=CancelledError())
                continue
            batch.append(chunk)
            size += len(chunk.items)
        self._chunks = deque(c for i, c in enumerate(self._chunks) if i not in taken)
        if not batch:
            return self._next(max_items)
        return batch


def serve_predictions(
    connection, models_dir: Path, versions: dict | None, confidence: float, log_format: str
) -> None:
    """Run in a predictor process: load the models, then predict each batch received."""
    from cryoprotect.logs import configure_logging
    from cryoprotect.service.predictions import LoadedModels, predict_isolated

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the web process decides when this ends
    configure_logging("WARNING", log_format, stream="stdout", everything=True)
    try:
        loaded = LoadedModels.load(models_dir, versions=versions)
        connection.send(loaded.report())
        while True:
            try:
                items, structures, names = connection.recv()
            except EOFError:
                return
            resolve = _resolver(names)
            connection.send(predict_isolated(loaded, items, structures, resolve, confidence))
    except Exception:  # logged as one line; the web process sees the process end
        log.exception("predictor failed")
        raise SystemExit(1) from None


def _resolver(names: dict[str, str]) -> Callable[[str], str | None]:
    return lambda text: names.get(text) or names.get(text.casefold())


class _Worker(threading.Thread):
    """Keeps one predictor process: starts it, feeds it batches, replaces it when stopped."""

    def __init__(self, pool: PredictorPool, index: int) -> None:
        super().__init__(name=f"predictor-{index}", daemon=True)
        self.pool, self.index = pool, index
        self.process = None
        self.connection = None
        self.ready = False
        self.started_event = threading.Event()

    def run(self) -> None:
        self._start_process()
        self.started_event.set()
        pool = self.pool
        while (batch := pool.queue.take(pool.max_items)) is not None:
            self._predict(batch)
        self._end_process(graceful=True)

    def _start_process(self) -> bool:
        parent, child = self.pool.context.Pipe()
        pool = self.pool
        self.process = pool.context.Process(
            target=serve_predictions,
            args=(child, pool.models_dir, pool.versions, pool.confidence, pool.log_format),
            name=f"cryoprotect-predictor-{self.index}",
            daemon=True,
        )
        started = time.perf_counter()
        self.process.start()
        child.close()
        self.connection = parent
        if parent.poll(pool.start_timeout):
            try:
                report = parent.recv()
            except EOFError:
                report = None
            if report is not None:
                pool.loaded(report)
                self.ready = True
                log.info(
                    "predictor started",
                    worker=self.index,
                    pid=self.process.pid,
                    seconds=round(time.perf_counter() - started, 2),
                )
                return True
        log.error("predictor did not start", worker=self.index, exitcode=self.process.exitcode)
        self._end_process()
        return False

    def _end_process(self, graceful: bool = False) -> None:
        self.ready = False
        if self.process is None:
            return
        if graceful and self.process.is_alive():
            self.connection.close()  # the process sees the end of its input and returns
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.connection.close()
        self.process = self.connection = None

    def _predict(self, batch: list[Chunk]) -> None:
        if self.process is None and not self._start_process():
            for chunk in batch:
                _settle(chunk.future, error=PredictorCrashedError("a predictor cannot start"))
            return
        items = [item for chunk in batch for item in chunk.items]
        structures = [found for chunk in batch for found in chunk.structures]
        names = {k: v for chunk in batch for k, v in chunk.names.items()}
        started = time.perf_counter()
        try:
            self.connection.send((items, structures, names))
            while not self.connection.poll(POLL_SECONDS):
                if any(chunk.ticket.cancelled.is_set() for chunk in batch):
                    self._cancel(batch)
                    return
                if not self.process.is_alive():
                    raise EOFError
            results = self.connection.recv()
        except (EOFError, OSError):
            self._crashed(batch)
            return
        self.pool.done(self.index, len(items), time.perf_counter() - started)
        _deliver(batch, results)

    def _cancel(self, batch: list[Chunk]) -> None:
        """End the process predicting a cancelled chunk; queue the others again."""
        self._end_process()
        self.pool.restarted("cancelled")
        keep = [c for c in batch if not c.ticket.cancelled.is_set()]
        for chunk in batch:
            if chunk not in keep:
                _settle(chunk.future, error=CancelledError())
        if keep:
            self.pool.queue.put(keep, front=True)
        log.warning("predictor stopped for a cancelled request", worker=self.index)
        self._start_process()

    def _crashed(self, batch: list[Chunk]) -> None:
        exitcode = self.process.exitcode if self.process else None
        self._end_process()
        self.pool.restarted("crashed")
        log.error("predictor ended while predicting", worker=self.index, exitcode=exitcode)
        error = PredictorCrashedError(
            f"the predictor process ended while predicting (exit code {exitcode}); retry"
        )
        for chunk in batch:
            _settle(chunk.future, error=error)
        self._start_process()


def _deliver(batch: list[Chunk], results: list[dict]) -> None:
    """Give each chunk its own results, with item numbers counted from its first item."""
    position, offset = 0, 0
    for chunk in batch:
        count = sum(len(item.wanted()) for item in chunk.items)
        own = results[position : position + count]
        _settle(chunk.future, [{**r, "item": r["item"] - offset} for r in own])
        position += count
        offset += len(chunk.items)


class PredictorPool:
    """``size`` predictor processes fed from one queue of chunks.

    Parameters
    ----------
    models_dir
        The model registry the processes load from.
    confidence
        Coverage of the intervals.
    size
        Number of processes.
    chunk_items, max_items
        Items per chunk of a request, and per batch given to a process.
    max_waiting
        Items that may wait; :meth:`submit` refuses more (:class:`OverloadedError`).
    """

    def __init__(
        self,
        models_dir: Path,
        confidence: float,
        size: int = 1,
        *,
        chunk_items: int = 32,
        max_items: int = 64,
        max_waiting: int = 10_000,
        log_format: str = "json",
        start_timeout: float = 300.0,
        on_batch: Callable[[int, int, float], None] = lambda worker, items, seconds: None,
        on_restart: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.models_dir, self.confidence = models_dir, confidence
        self.chunk_items, self.max_items, self.max_waiting = chunk_items, max_items, max_waiting
        self.log_format, self.start_timeout = log_format, start_timeout
        self.done, self.restarted = on_batch, on_restart
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(
            ["cryoprotect.service.predictors", "cryoprotect.service.predictions"]
        )
        self.queue = _Queue()
        self.versions: dict[str, str] | None = None
        self.report: dict[str, dict] = {}
        self.workers = [_Worker(self, index) for index in range(size)]

    def loaded(self, report: dict[str, dict]) -> None:
        """Record what a process loaded; later processes load the same versions."""
        if self.versions is None:
            self.report = report
            self.versions = {t: r["version"] for t, r in report.items() if "version" in r}

    def start(self) -> dict[str, dict]:
        """Start the processes, wait until each has loaded the models; return what loaded."""
        for worker in self.workers:
            worker.start()
        for worker in self.workers:
            worker.started_event.wait(self.start_timeout + 10)
        return self.report

    def alive(self) -> int:
        """Return how many processes have loaded the models and are running."""
        return sum(
            1 for w in self.workers if (p := w.process) is not None and w.ready and p.is_alive()
        )

    def submit(
        self, items: Sequence[PredictItem], structures: list[list[str]], names: dict[str, str]
    ) -> Ticket:
        """Queue ``items`` in chunks and return their ticket.

        Raises
        ------
        OverloadedError
            If the queue holds ``max_waiting`` items or more.
        """
        waiting = self.queue.waiting_items()
        if waiting + len(items) > self.max_waiting:
            raise OverloadedError(
                f"{waiting} items are waiting for a predictor (at most {self.max_waiting}); "
                "retry later"
            )
        ticket = Ticket()
        for start in range(0, len(items), self.chunk_items):
            end = start + self.chunk_items
            ticket.chunks.append(
                Chunk(ticket, start, items[start:end], structures[start:end], names)
            )
        self.queue.put(ticket.chunks)
        return ticket

    def close(self) -> None:
        """Answer what is queued, then end every process."""
        self.queue.close()
        for worker in self.workers:
            worker.join(timeout=30)
