"""Durable jobs: the outbox for side effects, claimed by workers, retried, dead-lettered, replayable.

How a job is written, claimed, leased, retried and woken is ``service.py``'s docstring; how workers run
handlers, ``worker.py``'s; what each context declares in its ``tasks.py`` (``TASKS``) and how it is found
without importing any context by name, ``registry.py``; what a handler raises to say how a failed job
goes on, ``errors.py``.
"""
