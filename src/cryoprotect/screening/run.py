"""A whole screen: chunks through :class:`ChunkScreener`, repeats dropped, candidates ranked.

Memory stays bounded by the chunk size for the work itself; what grows with the library is the
table of candidates (about 200 bytes per molecule) that the ranking needs at the end, and a
digest of each distinct SMILES text to drop repeated lines (8 bytes each, plus 16 bytes per
repeated line).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cryoprotect.screening.chunks import ChunkResult, ChunkScreener
from cryoprotect.screening.prepare import RepeatFilter
from cryoprotect.screening.ranking import Scale, oriented, pareto_front, weighted_score

ChunkRunner = Callable[[ChunkScreener, Iterable[pd.DataFrame]], Iterator[ChunkResult]]


def run_here(screener: ChunkScreener, chunks: Iterable[pd.DataFrame]) -> Iterator[ChunkResult]:
    """Screen ``chunks`` one after another in this process."""
    for chunk in chunks:
        yield screener(chunk)


@dataclass
class ScreenResult:
    """Ranked candidates, unusable lines, and counts of what was read."""

    candidates: pd.DataFrame
    invalid: pd.DataFrame
    read: int
    repeats: int
    seconds: float
    model_versions: dict[str, str] = field(default_factory=dict)
    stages: dict = field(default_factory=dict)
    """For a two-stage screen (:mod:`cryoprotect.screening.staged`): molecules per stage."""

    def summary(self) -> dict:
        """Return the counts and timing as a JSON-ready dict."""
        stages = {"stages": self.stages} if self.stages else {}
        return stages | {
            "molecules_read": self.read,
            "candidates": len(self.candidates),
            "invalid": len(self.invalid),
            "repeats": self.repeats,
            "pareto_front": int(self.candidates["pareto"].sum()) if len(self.candidates) else 0,
            "seconds": round(self.seconds, 2),
            "molecules_per_second": round(self.read / self.seconds, 1) if self.seconds else None,
            "model_versions": self.model_versions,
        }


def promise_order(
    frame: pd.DataFrame, goals: dict[str, str], score: np.ndarray, domain_first: bool
) -> np.ndarray:
    """Return the row order of the ranking: in every domain first, then score, then line."""
    inside = (
        frame[[f"{t}_in_domain" for t in goals]].all(axis=1).to_numpy()
        if domain_first
        else np.ones(len(frame), dtype=bool)
    )
    score = np.nan_to_num(np.asarray(score, dtype=float), nan=-np.inf)
    return np.lexsort((frame["line"].to_numpy(), -score, ~inside))


def rank(
    candidates: pd.DataFrame,
    goals: dict[str, str],
    weights: dict[str, float],
    domain_first: bool,
    scale: Scale | None = None,
) -> pd.DataFrame:
    """Add ``score``, ``pareto`` and ``rank`` (1 = best) and sort by rank.

    With ``domain_first``, candidates inside every model's applicability domain come before
    the others; within each group the higher score ranks first, ties by input line. The
    score's z-scores are over ``candidates``, or with ``scale`` (see :func:`weighted_score`).
    """
    ranked = candidates.copy()
    ranked["score"] = weighted_score(ranked, goals, weights, scale)
    ranked["pareto"] = pareto_front(oriented(ranked, goals))
    order = promise_order(ranked, goals, ranked["score"].to_numpy(), domain_first)
    ranked = ranked.iloc[order].reset_index(drop=True)
    ranked["rank"] = np.arange(1, len(ranked) + 1)
    return ranked


def screen(
    chunks: Iterable[pd.DataFrame],
    screener: ChunkScreener,
    goals: dict[str, str],
    weights: dict[str, float],
    domain_first: bool = True,
    runner: ChunkRunner = run_here,
    progress: Callable[[int], None] | None = None,
    finished: Callable[[], None] | None = None,
) -> ScreenResult:
    """Screen every chunk with ``runner`` and rank the candidates.

    Lines repeating an earlier line's SMILES text are dropped before they reach ``runner``; a
    molecule written differently but with the same InChIKey is dropped after prediction.

    ``progress`` is called with the number of lines of each finished chunk, and with the
    number of repeated lines dropped from each chunk read (they need no work). ``finished`` is
    called once ``runner`` has screened the last chunk, before the ranking.
    """
    started = time.perf_counter()
    found: list[pd.DataFrame] = []
    invalid: list[pd.DataFrame] = []
    repeated = RepeatFilter()
    read = 0

    def dropped(count: int) -> None:
        nonlocal read
        read += count
        if progress is not None:
            progress(count)

    for result in runner(screener, repeated.new_lines(chunks, dropped)):
        found.append(result.candidates)
        invalid.append(result.invalid)
        read += result.read
        if progress is not None:
            progress(result.read)
    if finished is not None:
        finished()
    everything = pd.concat(found, ignore_index=True) if found else pd.DataFrame()
    first = (
        everything.sort_values("line").drop_duplicates("inchikey")
        if len(everything)
        else everything
    )
    unusable = pd.concat(invalid, ignore_index=True) if invalid else pd.DataFrame()
    if len(unusable):
        unusable = pd.concat([unusable, repeated.repeats_of(unusable)]).sort_values("line")
    ranked = rank(first, goals, weights, domain_first) if len(first) else first
    return ScreenResult(
        candidates=ranked,
        invalid=unusable.reset_index(drop=True),
        read=read,
        repeats=read - len(first) - len(unusable),
        seconds=time.perf_counter() - started,
        model_versions={name: model.version for name, model in screener.models.items()},
    )
