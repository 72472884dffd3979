from tests.api.conftest import app, client, token
from tests.channels.test_tasks import platforms, worker

__all__ = ["app", "client", "platforms", "token", "worker"]
