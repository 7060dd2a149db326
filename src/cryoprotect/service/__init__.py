"""The HTTP prediction service: FastAPI app, health checks, metrics and request logs."""
