"""Predicting concurrent requests together: one model call for all requests waiting.

Each model call has a fixed cost (building frames, scaling every feature column, walking
hundreds of trees) that a single molecule does not amortise. One worker thread takes every
request queued while it was busy and predicts them as one batch, so under load the fixed
cost is shared; an idle service answers a lone request at once (nothing waits for company).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from cryoprotect.service.schemas import PredictItem

Work = tuple[Sequence[PredictItem], list[list[str]], Future]


class MicroBatcher:
    """Run ``predict(items, structures)`` in one thread for the requests queued together.

    ``max_items`` bounds how many items one call takes (a single larger request still runs,
    alone).
    """

    def __init__(
        self,
        predict: Callable[[Sequence[PredictItem], list[list[str]]], list[dict]],
        max_items: int = 256,
    ) -> None:
        self.predict, self.max_items = predict, max_items
        self._queue: queue.SimpleQueue[Work | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="predict-batches", daemon=True)
        self._thread.start()

    def submit(self, items: Sequence[PredictItem], structures: list[list[str]]) -> list[dict]:
        """Predict ``items`` (checked ``structures``) with whatever else is waiting; block."""
        future: Future = Future()
        self._queue.put((items, structures, future))
        return future.result()

    def close(self) -> None:
        """Stop the worker thread once the requests already queued are answered."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _take(self) -> list[Work] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch, size = [first], len(first[0])
        while size < self.max_items:
            try:
                waiting = self._queue.get_nowait()
            except queue.Empty:
                break
            if waiting is None:
                self._queue.put(None)  # stop after this batch
                break
            batch.append(waiting)
            size += len(waiting[0])
        return batch

    def _loop(self) -> None:
        while (batch := self._take()) is not None:
            items = [item for work in batch for item in work[0]]
            structures = [found for work in batch for found in work[1]]
            try:
                results = self.predict(items, structures)
            except Exception as error:  # each waiting request gets the error  # noqa: BLE001
                for *_, future in batch:
                    future.set_exception(error)
                continue
            _deliver(batch, results)


def _deliver(batch: list[Work], results: list[dict]) -> None:
    """Give each request its own results, with item numbers counted from its first item."""
    position, offset = 0, 0
    for items, _, future in batch:
        count = sum(len(item.wanted()) for item in items)
        own = results[position : position + count]
        future.set_result([{**r, "item": r["item"] - offset} for r in own])
        position += count
        offset += len(items)
