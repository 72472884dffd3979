"""Alerts over HTTP: what a person must look at."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from orderly.alerts.service import open_alerts
from orderly.core.web import ReadSession, api_router

router = api_router("alerts")


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    subject: str
    message: str
    created_at: datetime


@router.get("/alerts", response_model=list[AlertOut])
def list_alerts(session: ReadSession) -> list[AlertOut]:
    return [AlertOut.model_validate(alert) for alert in open_alerts(session)]
