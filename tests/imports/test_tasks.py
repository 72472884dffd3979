"""An uploaded file is kept in the data folder, imported by a worker's job, and removed once done."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from orderly.core.config import Settings
from orderly.core.db import transaction
from orderly.imports import repository, tasks
from orderly.imports.domain import Kind
from orderly.imports.service import ImportOptions
from orderly.jobs.worker import Worker
from tests.factories import setup_catalog, stored_order

SAMPLES = Path(__file__).parent / "samples"


def test_an_upload_is_imported_by_a_worker_and_its_file_removed(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10, "SKU-3": 10})
    settings = Settings(data_dir=tmp_path, database_url="sqlite://")
    with transaction(factory) as s, (SAMPLES / "amazon_order_report.txt").open("rb") as upload:
        run_id = tasks.queue_upload(
            s, settings, upload, "report.txt", Kind.ORDERS, ImportOptions(shop="shop-a", actor="api:ada")
        )
    [kept] = (tmp_path / tasks.UPLOADS).iterdir()
    assert kept.stat().st_mode & 0o077 == 0
    with transaction(factory) as s:
        run = repository.run(s, run_id)
        assert run is not None and (run.status, run.stored_path) == ("queued", str(kept))

    worker = Worker(factory, name="test", settings=settings, batch=10)
    while worker.run_once():  # the stock received above has jobs of its own
        pass
    with transaction(factory) as s:
        run = repository.run(s, run_id)
        assert run is not None
        assert (run.status, run.imported, run.actor, run.stored_path) == ("done", 2, "api:ada", None)
    assert not kept.exists()
    assert stored_order(factory, "114-3941689-8772232").shop_id


def test_an_upload_whose_file_is_gone_fails_its_run(factory: sessionmaker[Session], tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="sqlite://")
    with transaction(factory) as s, (SAMPLES / "amazon_order_report.txt").open("rb") as upload:
        run_id = tasks.queue_upload(s, settings, upload, "r.txt", Kind.ORDERS, ImportOptions(shop="shop-a"))
    for path in (tmp_path / tasks.UPLOADS).iterdir():
        path.unlink()
    Worker(factory, name="test", settings=settings).run_once()
    with transaction(factory) as s:
        run = repository.run(s, run_id)
        assert run is not None and (run.status, run.message) == ("failed", "the uploaded file is gone")
