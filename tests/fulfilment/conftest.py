from tests.api.conftest import app, client, token

__all__ = ["app", "client", "token"]
