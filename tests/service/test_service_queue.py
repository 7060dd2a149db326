"""The predictor queue: a small request waits for one batch, not for a whole large request."""

from __future__ import annotations

from cryoprotect.service.predictors import Chunk, Ticket, _Queue
from cryoprotect.service.schemas import PredictItem


def _ticket(queue: _Queue, items: int, chunk_items: int = 32) -> Ticket:
    ticket = Ticket()
    item = PredictItem(target="tg", smiles="OCC(O)CO")
    for start in range(0, items, chunk_items):
        count = min(chunk_items, items - start)
        ticket.chunks.append(Chunk(ticket, start, [item] * count, [["OCC(O)CO"]] * count, {}))
    queue.put(ticket.chunks)
    return ticket


def test_a_small_request_goes_before_the_rest_of_a_large_one():
    queue = _Queue()
    large = _ticket(queue, 1000)
    first = queue.take(64)
    assert [c.ticket for c in first] == [large, large]  # one batch of the large request
    small = _ticket(queue, 1)
    later = _ticket(queue, 3)
    second = queue.take(64)
    assert [c.ticket for c in second][:2] == [small, later]
    assert sum(len(c.items) for c in second) <= 64
    rest = []
    while queue.waiting_items():
        rest += queue.take(64)
    assert {c.ticket for c in rest} == {large}
    assert [c.start for c in first + [c for c in second if c.ticket is large] + rest] == list(
        range(0, 1000, 32)
    )


def test_cancelled_chunks_are_dropped_not_taken():
    queue = _Queue()
    gone = _ticket(queue, 64)
    kept = _ticket(queue, 96)
    gone.cancel()
    batch = queue.take(256)
    assert {c.ticket for c in batch} == {kept}
    assert all(c.future.cancelled() for c in gone.chunks)
