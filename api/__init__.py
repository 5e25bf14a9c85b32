"""HTTP entrypoint (FastAPI)."""
