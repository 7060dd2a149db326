"""``cryoprotect serve``: run the HTTP prediction service with uvicorn."""

from __future__ import annotations

import errno
import socket

import typer

from cryoprotect.cli.common import fail, settings
from cryoprotect.logs import configure_logging


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    log_format: str = typer.Option(
        "json", help="json (one JSON object per line, for log shippers) or console."
    ),
    workers: int = typer.Option(
        None,
        min=1,
        max=64,
        help="Predictor processes (default CRYOPROTECT_SERVICE_WORKERS, 2); each loads the "
        "models and predicts in parallel.",
    ),
    time_limit: float = typer.Option(
        None, min=0.1, help="Seconds a prediction may take (CRYOPROTECT_PREDICTION_TIME_LIMIT)."
    ),
) -> None:
    """Serve predictions, model information, health checks and metrics over HTTP.

    One web process answers requests; the models run in --workers predictor processes, so
    cold predictions use several cores and a prediction past its time limit (or whose client
    went away) is stopped. Metrics are the web process's, so they count every worker. Logs go
    to standard output (every line JSON with --log-format json), and to CRYOPROTECT_LOG_FILE
    when set (rotated by size). The API is documented at /docs, /redoc and /openapi.json.
    """
    import uvicorn

    from cryoprotect.service.app import create_app

    config = settings(ctx)
    overrides = {"log_format": log_format, "service_workers": workers}
    overrides["prediction_time_limit"] = time_limit
    config = config.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    if config.refusals():
        fail("; ".join(config.refusals()))
    if log_format not in ("json", "console"):
        fail(f"--log-format must be json or console, not {log_format!r}")
    if not _port_free(host, port):
        fail(f"port {port} on {host} is in use")
    configure_logging(
        config.log_level,
        log_format,
        stream="stdout",
        file=config.log_file,
        max_bytes=config.log_max_bytes,
        backups=config.log_backups,
        everything=True,  # uvicorn's lines, warnings and tracebacks too
    )
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_config=None,  # uvicorn's loggers write through the handlers set above
        access_log=False,  # the service logs every request itself, with its request id
        log_level=config.log_level.lower(),
        loop="auto",  # uvloop and httptools where installed
        http="auto",
        timeout_graceful_shutdown=10,
    )
