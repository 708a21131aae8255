"""App factory. `uvicorn api.main:app` serves the module-level app built from the environment.

Startup stays light: the engine connects lazily, and migrations are run by `make run`, not here.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.rasa_client import RasaClient
from api.realtime import make_realtime
from api.router import ConversationRouter
from api.routes import accounts, addresses, audit_admin, billing, health, identity, info, wechat, workorders
from api.routes import agent as agent_routes
from api.routes import applications as application_routes
from api.routes import handoff as handoff_routes
from api.routes import outages as outage_routes
from api.routes import repairs as repair_routes
from api.routes import webchat as webchat_routes
from api.wechat_push import WeChatPush
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
    # Handoff, web chat and agent console (issue 8): live events and WeChat 客服消息 replies.
    app.state.realtime = make_realtime(settings.redis_url)
    app.state.wechat_push = WeChatPush(
        settings.wechat_api_base, settings.wechat_appid, settings.wechat_secret, redis_url=settings.redis_url
    )
    app.state.conversation_router = ConversationRouter(
        session_factory, app.state.rasa, realtime=app.state.realtime
    )

    app.include_router(health.router)
    app.include_router(identity.router)
    app.include_router(accounts.router)
    app.include_router(addresses.router)
    app.include_router(info.router)
    app.include_router(billing.router)
    app.include_router(billing.chart_router)
    app.include_router(wechat.router)
    app.include_router(outage_routes.router)
    app.include_router(outage_routes.staff_router)
    app.include_router(repair_routes.router)
    app.include_router(repair_routes.staff_router)
    app.include_router(workorders.customer_router)
    app.include_router(workorders.staff_router)
    app.include_router(audit_admin.router)
    app.include_router(handoff_routes.router)
    app.include_router(webchat_routes.router)
    app.include_router(agent_routes.page_router)
    app.include_router(agent_routes.router)
    app.mount("/static", StaticFiles(directory=webchat_routes.WEB_DIR), name="static")
    app.include_router(application_routes.router)
    app.include_router(application_routes.staff_router)
    return app


app = create_app()
