"""The in-memory platform's fixtures (defined beside the engine tests) for every engine test file."""

from tests.channels.test_tasks import platforms, worker  # noqa: F401 - fixtures, found by name
