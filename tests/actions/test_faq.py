"""FAQ actions against the real api/: figures come from configuration, unconfirmed ones say so."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from actions.faq import (
    ActionAnswerEnergySaving,
    ActionAnswerPayBill,
    ActionAnswerServiceInfo,
    ActionAnswerTariff,
    tariff_answer,
)
from harness import Conversation

Start = Callable[[str], Conversation]
NOTICE = "以当地营业厅公布为准"
PRICE_PER_KWH = re.compile(r"\d+(\.\d+)?元/度")


def api_get(api_url: str, path: str) -> dict[str, Any]:
    """What the business API says, read independently of the actions' client."""
    request = urllib.request.Request(
        f"{api_url}{path}", headers={"Authorization": "Bearer dev-service-token"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        body: dict[str, Any] = json.load(response)
    return body


def tariff(api_url: str, code: str) -> dict[str, Any]:
    body = api_get(api_url, "/api/v1/info/tariffs")
    return next(t for t in body["tariffs"] if t["code"] == code)


async def ask(conv: Conversation, action: Any, text: str, intent: str, **entities: str) -> None:
    conv.user(text, intent, entities or None)
    await conv.run(action)


# ------------------------------------------------------------------ tariffs


async def test_tiered_tariff_quotes_configured_prices_with_a_worked_example(
    backend: str, conversation: Start
) -> None:
    conv = conversation("new_session")
    await ask(conv, ActionAnswerTariff(), "阶梯电价咋算", "ask_tariff", tariff_type="阶梯电价")
    assert len(conv.replies) == 1
    text = conv.last_text()
    configured = tariff(backend, "residential_tiered")
    for tier in configured["tiers"]:
        assert f"{tier['price']}元/度" in text
    example = configured["example"]
    assert f"一个月用{example['kwh'].removesuffix('.00')}度" in text
    assert f"= {example['total_yuan']}元" in text
    assert "310度" in text and "192.60元" in text  # the figures of today's configuration
    assert configured["confirmed"] is False
    assert NOTICE in text


async def test_tariff_question_without_a_type_explains_the_tiers_and_offers_the_others(
    backend: str, conversation: Start
) -> None:
    conv = conversation("new_session")
    await ask(conv, ActionAnswerTariff(), "电价多少钱一度", "ask_tariff")
    message = conv.replies[-1]
    assert "0.56元/度" in message["text"]
    assert NOTICE in message["text"]
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads == [
        '/ask_tariff{"tariff_type": "峰谷电价"}',
        '/ask_tariff{"tariff_type": "农业生产"}',
        '/ask_tariff{"tariff_type": "一般工商业"}',
    ]


async def test_time_of_use_gives_periods_but_never_an_unconfigured_price(
    backend: str, conversation: Start
) -> None:
    conv = conversation("new_session")
    await ask(conv, ActionAnswerTariff(), "峰谷电价几点到几点", "ask_tariff", tariff_type="峰谷电价")
    residential, commercial = conv.texts()
    assert residential.startswith("居民峰谷分时电价")
    assert "时段和价格" in residential and NOTICE in residential
    overlay = tariff(backend, "residential_tou")
    valley = overlay["band_adjustments"]["valley"]
    assert f"低谷电价在阶梯电价基础上每度低{valley.lstrip('-')}元（尚未核实，{NOTICE}）" in residential
    assert "高峰的加价幅度" in residential
    structure = tariff(backend, "commercial_tou")["structure"]
    for bands in structure["periods_by_month"].values():
        for name, hours in bands.items():
            if not name.endswith("months"):  # "months" lists say which months, not hours
                for span in hours:
                    assert span in commercial
    assert "2024年6月1日起" in commercial
    assert "其余时段为平段" in commercial
    assert f"{structure['ratio_peak_to_flat']}倍" in commercial
    assert "国网河南当期公布" in commercial and NOTICE in commercial
    for text in conv.texts():
        assert not PRICE_PER_KWH.search(text), text


@pytest.mark.parametrize("tariff_type", ["农业生产", "一般工商业", "大工业"])
async def test_tariffs_without_configured_prices_are_answered_honestly(
    backend: str, conversation: Start, tariff_type: str
) -> None:
    conv = conversation("new_session")
    await ask(conv, ActionAnswerTariff(), f"{tariff_type}电价多少", "ask_tariff", tariff_type=tariff_type)
    assert len(conv.replies) == 1
    text = conv.last_text()
    assert "国网河南当期公布" in text
    assert "不能给您报数" in text
    assert NOTICE in text
    assert "95598" in text
    assert not PRICE_PER_KWH.search(text)


async def test_tariff_answer_when_the_backend_is_down(backend_down: str, conversation: Start) -> None:
    conv = conversation("new_session")
    await ask(conv, ActionAnswerTariff(), "阶梯电价咋算", "ask_tariff", tariff_type="阶梯电价")
    assert conv.offered_human()
    assert "95598" in conv.last_text()
    assert not PRICE_PER_KWH.search(conv.last_text())


# ------------------------------------------------------------------ service info


async def test_service_info_lists_halls_hours_and_the_hotline(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    await ask(conv, ActionAnswerServiceInfo(), "营业厅在哪 几点下班", "ask_service_info")
    text = conv.last_text()
    info = api_get(backend, "/api/v1/info/service")
    for hall in info["service_halls"]:
        assert hall["name"] in text and hall["address"] in text and hall["hours"] in text
    assert "95598" in text and "24小时" in text
    assert NOTICE in text  # the demo halls are unconfirmed


async def test_a_named_town_puts_its_hall_first(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    await ask(conv, ActionAnswerServiceInfo(), "七里营镇营业厅在哪", "ask_service_info", address="七里营镇")
    assert conv.last_text().startswith("七里营供电所")


async def test_a_town_without_a_known_hall_is_told_so(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    await ask(conv, ActionAnswerServiceInfo(), "朗公庙镇供电所在哪儿", "ask_service_info", address="朗公庙镇")
    text = conv.last_text()
    assert text.startswith("朗公庙镇的营业网点信息我这里暂时没有")
    assert "新乡县供电公司营业厅" in text


async def test_pay_bill_names_only_the_configured_channels(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    await ask(conv, ActionAnswerPayBill(), "电费在哪交", "pay_bill")
    lines = conv.last_text().split("\n")
    channels = api_get(backend, "/api/v1/info/service")["payment_channels"]
    for index, channel in enumerate(channels, start=1):
        line = lines[index]
        assert line.startswith(f"{index}. {channel['name']}")
        assert (NOTICE in line) is (not channel["confirmed"])
    assert "银行" not in conv.last_text()
    assert "95598" in lines[-1]


async def test_energy_saving_tips_come_from_configuration(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    await ask(conv, ActionAnswerEnergySaving(), "咋省电", "ask_energy_saving")
    tips = api_get(backend, "/api/v1/info/service")["energy_saving_tips"]
    assert conv.last_text().split("\n")[1:] == [f"{i}. {t['text']}" for i, t in enumerate(tips, start=1)]


@pytest.mark.parametrize(
    ("action", "intent"),
    [
        (ActionAnswerServiceInfo(), "ask_service_info"),
        (ActionAnswerPayBill(), "pay_bill"),
        (ActionAnswerEnergySaving(), "ask_energy_saving"),
    ],
)
async def test_service_answers_when_the_backend_is_down(
    backend_down: str, conversation: Start, action: Any, intent: str
) -> None:
    conv = conversation("new_session")
    await ask(conv, action, "你好", intent)
    assert len(conv.replies) == 1
    assert conv.offered_human()
    assert "95598" in conv.last_text()


# ------------------------------------------------------------------ wording of other configurations


def test_annual_tiers_are_not_described_with_monthly_bounds() -> None:
    annual = {
        "name": "居民阶梯电价（一户一表）",
        "kind": "tiered",
        "accounting": "annual",
        "effective_from": "2023-01-01",
        "confirmed": False,
        "tiers": [
            {"tier": 1, "from_kwh": "0.00", "up_to_kwh": "180.00", "price": "0.56"},
            {"tier": 2, "from_kwh": "180.00", "up_to_kwh": None, "price": "0.61"},
        ],
        "example": None,
    }
    text = tariff_answer(annual)
    assert "按年度累计" in text and "0.56元/度" in text and "0.61元/度" in text
    assert "180度" not in text and "每月" not in text
    assert NOTICE in text


def test_a_confirmed_flat_price_is_quoted_without_the_notice() -> None:
    flat = {
        "name": "农业生产用电",
        "kind": "flat",
        "price": "0.5",
        "effective_from": "2027-01-01",
        "confirmed": True,
    }
    text = tariff_answer(flat)
    assert text == "农业生产用电：0.5元/度。（自2027年1月1日起执行。）"
