"""Commands that only look neither wait for the hub's writers nor hold them up."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.engine import make_url

from tests.cli.conftest import Cli

READS = [
    ("orders", "list"),
    ("stock", "list"),
    ("stock", "verify"),
    ("shop", "list"),
    ("product", "list"),
    ("warehouse", "list"),
    ("mapping", "list"),
    ("rejections", "list"),
    ("review", "rules"),
    ("review", "export"),
    ("token", "list"),
    ("jobs", "list"),
    ("inbox", "list"),
    ("alerts",),
]


def test_reading_commands_answer_while_a_writer_holds_the_sqlite_write_lock(cli: Cli, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the write lock is SQLite's; PostgreSQL reads never waited for writers")
    writer = sqlite3.connect(make_url(db_url).database or "", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # as a busy hub's ingest holds it
    try:
        for command in READS:
            cli(*command)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
