"""App factory. `uvicorn api.main:app` serves the module-level app built from the environment.

Startup stays light: the engine connects lazily, and migrations are run by `make run`, not here.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.rasa_client import RasaClient
from api.router import ConversationRouter
from api.routes import accounts, addresses, health, identity, wechat
from backend.db import make_engine, make_session_factory
from backend.settings import Settings, get_settings

# WeChat drops a passive reply after 5 s; Rasa gets 3.5 s so that the database work around it
# still fits in about 4.5 s.
RASA_TIMEOUT_SECONDS = 3.5

DESCRIPTION = """
县供电公司智能客服 api: WeChat 公众号 endpoint, the conversation router in front of Rasa, and the
business REST API (prefix `/api/v1`, `Authorization: Bearer <SERVICE_TOKEN>`) used by the
Rasa action server.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)

    app = FastAPI(title="kefu api", version="0.1.0", description=DESCRIPTION.strip())
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.rasa = RasaClient(settings.rasa_url, timeout_seconds=RASA_TIMEOUT_SECONDS)
    app.state.conversation_router = ConversationRouter(session_factory, app.state.rasa)

    app.include_router(health.router)
    app.include_router(identity.router)
    app.include_router(accounts.router)
    app.include_router(addresses.router)
    app.include_router(wechat.router)
    return app


app = create_app()
