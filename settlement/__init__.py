"""Business processes (use cases), the audit digest, the CLI and the wiring."""
