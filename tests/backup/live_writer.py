"""A made-up writer for the restore tests, run as its own process.

    python live_writer.py URL LOG STOP

Inserts users named ``made-up writer N`` (N = 1, 2, ...), one transaction each, and logs
every attempt: ``ack N START END`` once the commit returned, ``refused N START END ERROR``
when it failed. Stops when the file STOP exists.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text


def main(url: str, log: Path, stop: Path) -> None:
    """Write until ``stop`` exists, logging each attempt to ``log``."""
    options = {"connect_args": {"timeout": 0.5}} if url.startswith("sqlite") else {}
    engine = create_engine(url, **options)
    number = 0
    with log.open("a", buffering=1) as out:
        while not stop.exists():
            number += 1
            started = time.time()
            try:
                with engine.begin() as connection:
                    connection.execute(
                        text("INSERT INTO users (username) VALUES (:name)"),
                        {"name": f"made-up writer {number}"},
                    )
            except Exception as error:  # noqa: BLE001 (a refused write is logged, not fatal)
                reason = str(error).splitlines()[0][:80]
                out.write(f"refused {number} {started} {time.time()} {reason}\n")
            else:
                out.write(f"ack {number} {started} {time.time()}\n")
            time.sleep(0.005)
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
