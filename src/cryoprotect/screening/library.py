"""Reading candidate libraries in chunks, whatever their size.

Formats, by suffix (``.gz`` on top of any of them for gzip): ``.smi``/``.smiles`` (a SMILES,
then optionally whitespace and a name, per line; ``#`` lines are comments), ``.csv`` (a
``smiles`` column, optionally ``name`` or ``id``) and ``.parquet`` (the same columns). Every
chunk is a frame with ``line`` (the 1-based line or row of the input), ``smiles`` and ``name``.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

FORMATS = (".smi", ".smiles", ".csv", ".parquet")


class LibraryFormatError(ValueError):
    """The library's format is unknown, or it lacks a SMILES column."""


def library_format(path: Path) -> tuple[str, bool]:
    """Return the format suffix of ``path`` and whether it is gzip-compressed."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes = suffixes[:-1]
    kind = suffixes[-1] if suffixes else ""
    if kind not in FORMATS or (compressed and kind == ".parquet"):
        raise LibraryFormatError(
            f"{path}: unknown library format; use one of {', '.join(FORMATS)} (.gz allowed "
            "for text formats)"
        )
    return kind, compressed


def _chunk(lines: list[int], smiles: list[str], names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"line": lines, "smiles": smiles, "name": names})


def _smiles_lines(path: Path, compressed: bool, size: int) -> Iterator[pd.DataFrame]:
    opener = gzip.open if compressed else open
    lines: list[int] = []
    smiles: list[str] = []
    names: list[str] = []
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            stripped = text.strip()
            if not stripped or stripped.startswith("#"):
                continue
            parts = stripped.split(maxsplit=1)
            lines.append(number)
            smiles.append(parts[0])
            names.append(parts[1] if len(parts) > 1 else "")
            if len(lines) == size:
                yield _chunk(lines, smiles, names)
                lines, smiles, names = [], [], []
    if lines:
        yield _chunk(lines, smiles, names)


def _columns(frame: pd.DataFrame, path: Path) -> tuple[str, str | None]:
    lower = {str(c).lower(): c for c in frame.columns}
    if "smiles" not in lower:
        raise LibraryFormatError(f"{path}: no 'smiles' column (columns: {list(frame.columns)})")
    name = lower.get("name", lower.get("id"))
    return lower["smiles"], name


def _table(frame: pd.DataFrame, path: Path, first_line: int) -> pd.DataFrame:
    smiles, name = _columns(frame, path)
    return _chunk(
        list(range(first_line, first_line + len(frame))),
        frame[smiles].fillna("").astype(str).str.strip().tolist(),
        (frame[name].fillna("").astype(str) if name else pd.Series([""] * len(frame))).tolist(),
    )


def read_library(path: Path, chunk_size: int = 10_000) -> Iterator[pd.DataFrame]:
    """Yield the molecules of the library at ``path`` in chunks of at most ``chunk_size``.

    Raises
    ------
    LibraryFormatError
        If the format is unknown or a table has no ``smiles`` column.
    """
    path = Path(path)
    kind, compressed = library_format(path)
    if kind in (".smi", ".smiles"):
        yield from _smiles_lines(path, compressed, chunk_size)
    elif kind == ".csv":
        reader = pd.read_csv(
            path, dtype=str, keep_default_na=False, chunksize=chunk_size,
            compression="gzip" if compressed else None,
        )  # fmt: skip
        first = 2  # line 1 is the header
        for frame in reader:
            yield _table(frame, path, first)
            first += len(frame)
    else:
        parquet = pq.ParquetFile(path)
        first = 1
        for batch in parquet.iter_batches(batch_size=chunk_size):
            frame = batch.to_pandas()
            yield _table(frame, path, first)
            first += len(frame)


def count_molecules(path: Path) -> int:
    """Return how many molecules the library holds (for progress and ETA); reads it once."""
    kind, compressed = library_format(Path(path))
    if kind == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    opener = gzip.open if compressed else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        lines = sum(1 for text in handle if text.strip() and not text.lstrip().startswith("#"))
    return lines - 1 if kind == ".csv" else lines
