"""Orders: one model for every platform, idempotent ingest, the status state machine, history."""
