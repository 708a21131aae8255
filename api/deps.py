"""Request dependencies: settings, a database session per request, the service-token check."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from api.router import ConversationRouter
from backend.settings import Settings

# One wording for every endpoint that needs this conversation to have verified the account.
NOT_VERIFIED_MESSAGE = "请先核验身份。 Identity not verified for this account in this conversation."

# auto_error=False: a missing header must give our 401, not FastAPI's default 403.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <SERVICE_TOKEN>")


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def get_session(
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> Iterator[Session]:
    """One unit of work per request: commit when the endpoint succeeds, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_conversation_router(request: Request) -> ConversationRouter:
    router: ConversationRouter = request.app.state.conversation_router
    return router


def require_service_token(
    settings: Annotated[Settings, Depends(get_app_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    presented = credentials.credentials if credentials is not None else ""
    # Constant-time comparison so the token cannot be guessed byte by byte from response times.
    if not presented or not hmac.compare_digest(presented.encode(), settings.service_token.encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid service token",
            headers={"WWW-Authenticate": "Bearer"},
        )


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
RouterDep = Annotated[ConversationRouter, Depends(get_conversation_router)]
