"""Liveness plus a database round trip, for `make run`, load balancers and the e2e harness."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from api.deps import get_session_factory

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "error"]


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "the database is unreachable"}},
)
def healthz(
    response: Response, factory: Annotated[sessionmaker[Session], Depends(get_session_factory)]
) -> Health:
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        logger.exception("health check: database unreachable")
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(status="degraded", database="error")
    return Health(status="ok", database="ok")
