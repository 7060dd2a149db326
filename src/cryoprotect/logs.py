"""Structured logging with structlog: readable lines on a terminal, JSON lines for services.

Output goes to standard error (or another stream) and, when asked, to a file rotated by
size with a fixed number of old files kept (``log_file``, ``log_max_bytes``,
``log_backups`` in the settings). With ``everything``, the lines of other libraries
(uvicorn's, Python warnings, RDKit's messages) go through the same renderer, so in JSON
mode every line is one JSON object, an exception's traceback included as a field.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from typing import TextIO

import structlog

LOGGER_NAME = "cryoprotect"
_OURS = "_cryoprotect_handler"


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


def _drop_own_handlers(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        if getattr(handler, _OURS, False):
            logger.removeHandler(handler)
            handler.close()


def _one_line_message(_, __, event_dict: dict) -> dict:
    """Keep a foreign record's message on one line (a traceback belongs in ``exception``)."""
    event = event_dict.get("event")
    if isinstance(event, str) and "\n" in event:
        event_dict["event"] = event.replace("\n", " | ")
    return event_dict


def configure_logging(
    level: str = "INFO",
    fmt: str = "console",
    *,
    stream: str = "stderr",
    file: Path | None = None,
    max_bytes: int = 10_000_000,
    backups: int = 7,
    everything: bool = False,
) -> None:
    """Send structlog output at ``level`` in ``fmt`` (console or json) to ``stream`` and ``file``.

    ``stream`` is ``"stderr"`` or ``"stdout"``. With ``file``, lines also go to that file,
    which is rotated when it would exceed ``max_bytes``; ``backups`` old files are kept.
    With ``everything``, records of every other logger (at WARNING and above, or at the
    level their library sets, as uvicorn does), Python warnings and RDKit's messages are
    written the same way.
    """
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, _one_line_message],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handlers: list[logging.Handler] = [_CurrentStream(stream)]
    if file is not None:
        Path(file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.setFormatter(formatter)
        setattr(handler, _OURS, True)
    ours = logging.getLogger(LOGGER_NAME)
    root = logging.getLogger()
    _drop_own_handlers(ours)
    _drop_own_handlers(root)
    ours.setLevel(logging.DEBUG)  # structlog filters by level before this logger
    logging.captureWarnings(everything)
    if everything:
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(logging.WARNING)
        ours.propagate = True
        from rdkit import rdBase

        rdBase.LogToPythonLogger()
    else:
        for handler in handlers:
            ours.addHandler(handler)
        ours.propagate = False
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=lambda *args: ours,
        cache_logger_on_first_use=False,
    )
