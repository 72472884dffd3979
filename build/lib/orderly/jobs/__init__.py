"""Durable jobs: the outbox for side effects, claimed by workers, retried, dead-lettered, replayable."""
