"""Jobs over HTTP: what failed, why, and a way to run it again."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict

from orderly.core.pagination import MAX_ID
from orderly.core.web import DbSession, ReadSession, StatusOut, api_router, id_path
from orderly.jobs import service

router = api_router("jobs")

JobId = Annotated[int, id_path("job")]


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    key: str | None
    shop_id: int | None
    payload: dict[str, Any]
    status: str
    attempts: int
    max_attempts: int
    run_after: datetime
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


@router.get("/jobs", response_model=list[JobOut])
def list_jobs(
    session: ReadSession,
    status: Annotated[Literal["queued", "running", "done", "dead"] | None, Query()] = "dead",
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[JobOut]:
    """Dead jobs by default: the side effects that gave up, with their last error."""
    return [
        JobOut.model_validate(job)
        for job in service.list_jobs(session, status=status, after_id=after_id, limit=limit)
    ]


@router.post("/jobs/{job_id}/replay", response_model=StatusOut)
def replay_job(session: DbSession, job_id: JobId) -> StatusOut:
    service.replay(session, job_id)
    return StatusOut(status="queued")
