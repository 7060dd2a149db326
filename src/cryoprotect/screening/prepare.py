"""Standardising library molecules and dropping repeats, chunk by chunk.

A salt or hydrate is screened as its parent compound. A structure RDKit cannot read, or that
standardisation rejects, is set aside with its line and the reason; a molecule whose InChIKey
was seen earlier in the library (in any chunk) is counted and dropped. A line whose text was
seen earlier is dropped before any work (:class:`RepeatFilter`).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cryoprotect.chem.structures import standardize


@dataclass
class PreparedChunk:
    """The usable, first-seen molecules of a chunk and the lines that could not be used."""

    molecules: pd.DataFrame
    """``line``, ``name``, ``input_smiles``, ``smiles`` (standardised), ``inchikey``."""
    invalid: pd.DataFrame
    """``line``, ``input_smiles``, ``reason``."""
    repeats: int


class Deduplicator:
    """Remembers the InChIKeys seen so far (about 100 bytes each: 10 million fit in 1 GB)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def prepare(self, chunk: pd.DataFrame) -> PreparedChunk:
        """Standardise ``chunk`` (from :func:`~cryoprotect.screening.library.read_library`)."""
        kept: list[tuple] = []
        invalid: list[tuple] = []
        repeats = 0
        for line, text, name in chunk[["line", "smiles", "name"]].itertuples(index=False):
            if not text:
                invalid.append((line, text, "empty SMILES"))
                continue
            try:
                structure = standardize(text, strip_counterions=True)
            except ValueError as error:  # InvalidStructureError, or RDKit's sanitize errors
                invalid.append((line, text, str(error)))
                continue
            if structure.inchikey in self.seen:
                repeats += 1
                continue
            self.seen.add(structure.inchikey)
            kept.append((line, name, text, structure.canonical_smiles, structure.inchikey))
        return PreparedChunk(
            pd.DataFrame(kept, columns=["line", "name", "input_smiles", "smiles", "inchikey"]),
            pd.DataFrame(invalid, columns=["line", "input_smiles", "reason"]),
            repeats,
        )


class RepeatFilter:
    """Drops lines whose SMILES text appeared earlier in the library, before any work on them.

    The name on a line does not count: a line with a known SMILES and another name is a repeat
    (as it would be by InChIKey later).

    A library built by enumeration or merged from several sources often holds the same line
    many times; only its first appearance is standardised and predicted. The filter keeps a
    64-bit digest of each distinct text (8 bytes, in a few sorted runs searched by bisection)
    and, per dropped line, its line and digest, so the repeats of an unusable line are listed
    with it. Two distinct texts share a digest with a chance of about ``n**2 / 2**65`` (3 in
    100 million for a million distinct lines); the later one would be dropped as a repeat.
    """

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []
        """Sorted digests of the texts seen; each run at least twice as long as the next."""
        self.repeat_lines = array("q")
        self.repeat_digests = array("Q")

    def seen(self, digests: np.ndarray) -> np.ndarray:
        """Return which of ``digests`` belong to texts seen before."""
        found = np.zeros(len(digests), dtype=bool)
        for run in self.runs:
            at = np.minimum(np.searchsorted(run, digests), len(run) - 1)
            found |= run[at] == digests
        return found

    def remember(self, digests: np.ndarray) -> None:
        """Add new distinct ``digests``, merging runs so that there are about log2(n) of them."""
        run = np.sort(digests)
        while self.runs and len(self.runs[-1]) <= 2 * len(run):
            run = np.sort(np.concatenate([self.runs.pop(), run]), kind="mergesort")
        if len(run):
            self.runs.append(run)

    def new_lines(
        self, chunks: Iterable[pd.DataFrame], dropped: Callable[[int], None] | None = None
    ) -> Iterator[pd.DataFrame]:
        """Yield the lines of ``chunks`` whose SMILES text is new, regrouped to the chunk size.

        ``dropped`` is called with the number of repeats found in each input chunk.
        """
        pending: list[pd.DataFrame] = []
        waiting = size = 0
        for chunk in chunks:
            if chunk.empty:
                continue
            size = max(size, len(chunk))
            digests = digest(chunk["smiles"])
            keep = ~(self.seen(digests) | pd.Series(digests).duplicated().to_numpy())
            self.remember(digests[keep])
            if not keep.all():
                self.repeat_lines.extend(chunk["line"].to_numpy(np.int64)[~keep])
                self.repeat_digests.extend(digests[~keep])
                if dropped is not None:
                    dropped(int((~keep).sum()))
            pending.append(chunk[keep])
            waiting += int(keep.sum())
            while waiting >= size:
                merged = pd.concat(pending, ignore_index=True)
                yield merged.iloc[:size].reset_index(drop=True)
                pending = [merged.iloc[size:]]
                waiting = len(pending[0])
        if waiting:
            yield pd.concat(pending, ignore_index=True)

    def repeats_of(self, unusable: pd.DataFrame) -> pd.DataFrame:
        """Return the dropped repeats of ``unusable`` lines, each with the first one's reason."""
        pairs = pd.DataFrame(
            {
                "line": np.frombuffer(self.repeat_lines, dtype=np.int64),
                "digest": np.frombuffer(self.repeat_digests, dtype=np.uint64),
            }
        )
        first = unusable[["input_smiles", "reason"]].assign(digest=digest(unusable["input_smiles"]))
        found = pairs.merge(first, on="digest", how="inner")
        return found[["line", "input_smiles", "reason"]]


def digest(texts: pd.Series) -> np.ndarray:
    """Return a 64-bit digest (``uint64``) of each text, computed over the whole column at once."""
    return pd.util.hash_array(texts.to_numpy(dtype=object))
