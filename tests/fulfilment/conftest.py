from tests.api.conftest import app, client, token
from tests.cli.conftest import cli

__all__ = ["app", "cli", "client", "token"]
