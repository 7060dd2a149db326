"""Writing files so that a reader never sees half of one: a temporary file, then a rename."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (creating its folder) through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def write_json(path: Path, data, *, sort_keys: bool = False) -> None:
    """Write ``data`` as indented JSON (values JSON lacks written as text), atomically."""
    text = json.dumps(data, indent=2, sort_keys=sort_keys, default=str) + "\n"
    write_text_atomically(path, text)
