"""The FastAPI service: HTTP only, on top of `ingest` and `core`."""
