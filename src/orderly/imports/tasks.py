"""The imports' job: an uploaded file is kept in the data folder and imported by a worker, so a large
file never holds a request open; the page (or ``orderly import report``) follows its run."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from orderly.core.config import Settings
from orderly.core.db import transaction
from orderly.imports import repository, service
from orderly.imports.domain import Kind, RunStatus
from orderly.imports.service import ImportOptions
from orderly.jobs.registry import JobContext, Tasks
from orderly.jobs.service import Claimed, NewJob, enqueue

RUN = "imports.run"
UPLOADS = "imports"  # the folder under the data folder where uploads wait for their job


def queue_upload(
    session: Session,
    settings: Settings,
    source: BinaryIO,
    filename: str,
    kind: Kind,
    options: ImportOptions,
    *,
    profile: str | None = None,
    dry_run: bool = False,
) -> int:
    """Keep the upload and queue its import in the caller's transaction; the run's id to follow."""
    folder = settings.private_data_dir() / UPLOADS
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{Path(filename).suffix[:10]}"
    with path.open("xb") as target:
        shutil.copyfileobj(source, target)
    path.chmod(0o600)
    run_id = service.add_run(
        session,
        filename,
        kind,
        options,
        profile=profile,
        dry_run=dry_run,
        status=RunStatus.QUEUED,
        stored_path=str(path),
    )
    enqueue(session, [NewJob(RUN, {"run_id": run_id}, max_attempts=3)])
    return run_id


def run_upload(ctx: JobContext, job: Claimed) -> None:
    """Import a queued upload; run again after a worker stopped mid-way, it starts over (importing a
    file twice changes nothing). The file is removed once its run has ended. An orders file is imported
    by several processes at once on PostgreSQL (``shards.py``), as ``orderly import orders`` does."""
    run_id = int(job.payload["run_id"])
    with transaction(ctx.factory) as session:
        run = repository.run(session, run_id)
        if run is None or run.stored_path is None:
            return  # ended already
        path, filename, kind, dry_run = Path(run.stored_path), run.filename, Kind(run.kind), run.dry_run
        options, profile = service.options_from(run.options)
        if not path.exists():
            repository.change_run(
                session,
                run_id,
                status=str(RunStatus.FAILED),
                message="the uploaded file is gone",
                stored_path=None,
            )
            return
    try:
        with path.open("rb") as source:
            service.run_import(
                ctx.factory,
                source,
                filename,
                kind,
                options,
                profile=profile,
                dry_run=dry_run,
                run_id=run_id,
                workers=service.default_workers(ctx.factory),
            )
    finally:
        path.unlink(missing_ok=True)


TASKS = Tasks(handlers={RUN: run_upload})
