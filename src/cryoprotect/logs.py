"""Structured logging with structlog: readable lines on a terminal, JSON lines for services.

Output goes to standard error (or another stream) and, when asked, to a file rotated by
size with a fixed number of old files kept (``log_file``, ``log_max_bytes``,
``log_backups`` in the settings).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from typing import TextIO

import structlog

LOGGER_NAME = "cryoprotect"


class _CurrentStream(logging.StreamHandler):
    """A handler writing to whatever ``sys.stderr``/``sys.stdout`` is at the time of writing."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name_of_stream = name

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return getattr(sys, self.name_of_stream)

    @stream.setter
    def stream(self, value) -> None:  # set by StreamHandler.__init__; the property decides
        pass


def configure_logging(
    level: str = "INFO",
    fmt: str = "console",
    *,
    stream: str = "stderr",
    file: Path | None = None,
    max_bytes: int = 10_000_000,
    backups: int = 7,
) -> None:
    """Send structlog output at ``level`` in ``fmt`` (console or json) to ``stream`` and ``file``.

    ``stream`` is ``"stderr"`` or ``"stdout"``. With ``file``, lines also go to that file,
    which is rotated when it would exceed ``max_bytes``; ``backups`` old files are kept.
    """
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = [_CurrentStream(stream)]
    if file is not None:
        Path(file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)  # structlog filters by level before this logger
    logger.propagate = False
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=lambda *args: logger,
        cache_logger_on_first_use=False,
    )
