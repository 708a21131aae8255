"""The shared backend client against the real api/: typed results and error mapping."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from aiohttp import web

from actions.backend_client import (
    BackendClient,
    BackendRejected,
    BackendUnavailable,
    InvalidRequest,
    NotVerified,
    get_backend_client,
)


def conversation_id() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


async def test_verify_then_balance_gives_typed_exact_amounts(backend: str) -> None:
    client = get_backend_client()
    conv = conversation_id()
    result = await client.verify_identity(
        conversation_id=conv, channel="rest", account_no="310-000-0001", phone_last4="1234"
    )
    assert result.verified and result.account_no == "4103100000001" and result.account_masked == "****0001"

    balance = await client.get_balance(account_no="3100000001", conversation_id=conv)
    assert balance.balance_yuan == Decimal("86.50") and isinstance(balance.balance_yuan, Decimal)
    assert balance.holder_masked == "王*国" and not balance.is_suspended


async def test_one_shared_session_is_reused(backend: str) -> None:
    client = get_backend_client()
    assert client is get_backend_client()
    await client.verify_identity(
        conversation_id=conversation_id(), channel="rest", account_no="3100000001", name="王建国"
    )
    first = client._session
    await client.verify_identity(
        conversation_id=conversation_id(), channel="rest", account_no="3100000001", name="王建国"
    )
    assert first is not None and client._session is first


async def test_unknown_account_and_wrong_factor_look_the_same(backend: str) -> None:
    client = get_backend_client()
    wrong = await client.verify_identity(
        conversation_id=conversation_id(), channel="rest", account_no="3100000001", phone_last4="0000"
    )
    unknown = await client.verify_identity(
        conversation_id=conversation_id(), channel="rest", account_no="3199999999", phone_last4="1234"
    )
    assert wrong == unknown
    assert not wrong.verified and wrong.reason == "mismatch" and wrong.account_no is None


async def test_balance_without_verification_is_403_not_verified(backend: str) -> None:
    with pytest.raises(NotVerified) as caught:
        await get_backend_client().get_balance(account_no="3100000001", conversation_id=conversation_id())
    assert caught.value.status == 403


async def test_wrong_token_is_an_error_never_a_success(backend: str) -> None:
    client = BackendClient(base_url=backend, token="not-the-token")
    try:
        with pytest.raises(BackendRejected) as caught:
            await client.verify_identity(
                conversation_id=conversation_id(), channel="rest", account_no="3100000001", phone_last4="1234"
            )
        assert caught.value.status == 401
    finally:
        await client.close()


async def test_invalid_body_is_422_invalid_request(backend: str) -> None:
    with pytest.raises(InvalidRequest):
        await get_backend_client().verify_identity(
            conversation_id="", channel="rest", account_no="3100000001", phone_last4="1234"
        )


async def test_closed_port_is_backend_unavailable(backend_down: str) -> None:
    with pytest.raises(BackendUnavailable):
        await get_backend_client().verify_identity(
            conversation_id=conversation_id(), channel="rest", account_no="3100000001", phone_last4="1234"
        )


async def _serve(handler: web.Handler) -> tuple[web.AppRunner, str]:
    """A tiny local HTTP server standing in for a misbehaving backend (5xx, hanging)."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def test_5xx_is_backend_unavailable() -> None:
    async def fail(request: web.Request) -> web.Response:
        return web.json_response({"detail": "boom"}, status=503)

    runner, url = await _serve(fail)
    client = BackendClient(base_url=url)
    try:
        with pytest.raises(BackendUnavailable):
            await client.get_balance(account_no="3100000001", conversation_id="c")
    finally:
        await client.close()
        await runner.cleanup()


async def test_a_hanging_backend_times_out_within_the_total_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import actions.backend_client as module

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    monkeypatch.setattr(module, "TOTAL_TIMEOUT_SECONDS", 0.5)
    runner, url = await _serve(hang)
    client = BackendClient(base_url=url)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(BackendUnavailable):
            await client.get_balance(account_no="3100000001", conversation_id="c")
        assert loop.time() - started < 3
    finally:
        await client.close()
        await runner.cleanup()
