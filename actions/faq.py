"""FAQ answers that quote configuration: tariffs, service halls and hotline, payment channels, energy saving.

Every figure comes from the business API (GET /api/v1/info/tariffs and /api/v1/info/service),
which reads dated, sourced configuration. Anything the configuration marks unconfirmed is
quoted with "以当地营业厅公布为准"; a tariff without configured prices is never given a price.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.backend_client import BackendError, get_backend_client
from actions.forms import latest_entity_value

logger = logging.getLogger(__name__)

SERVICE_INFO_PATH = "/api/v1/info/service"
TARIFFS_PATH = "/api/v1/info/tariffs"

UNCONFIRMED_NOTICE = "以当地营业厅公布为准"
INFO_BACKEND_DOWN = (
    f"抱歉，资料查询系统暂时连接不上……您可以拨打{replies.HOTLINE}供电服务热线咨询，也可以转人工客服。"
)

# tariff_type entity (canonical values, data/nlu/synonyms_billing.yml) -> config/tariffs.yml codes.
# 峰谷电价 is asked by households and by shops alike, so both TOU entries answer it.
TARIFF_CODES_BY_TYPE: dict[str, tuple[str, ...]] = {
    "阶梯电价": ("residential_tiered",),
    "峰谷电价": ("residential_tou", "commercial_tou"),
    "农业生产": ("agricultural",),
    "一般工商业": ("commercial_tou",),
    "大工业": (),  # nothing configured: answered honestly without figures
}
DEFAULT_TARIFF_CODES = ("residential_tiered",)
OTHER_TARIFF_BUTTONS = ("峰谷电价", "农业生产", "一般工商业")

# Labels for the keys of config/tariffs.yml `structure.periods_by_month`.
MONTH_GROUP_LABELS = {
    "jan_feb_dec": "1月、2月、12月",
    "mar_may_sep_nov": "3—5月和9—11月",
    "jun_aug": "6—8月",
}
PERIOD_LABELS = {
    "peak": "高峰",
    "critical_peak_jan_dec": "其中尖峰（仅1月、12月）",
    "critical_peak_jul_aug": "其中尖峰（仅7月、8月）",
    "valley": "低谷",
}


async def fetch_info(path: str) -> Mapping[str, Any]:
    """GET one of the public info endpoints through the shared client (token, timeouts, errors)."""
    return await get_backend_client().get_info(path)


def _kwh(value: str | None) -> str:
    """'180.00' -> '180' for speech and chat; keeps real fractions."""
    if value is None:
        return ""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    return f"{number:f}" if number != number.to_integral_value() else str(int(number))


def _date_text(value: str | None) -> str:
    if not value:
        return ""
    year, month, day = (int(part) for part in value.split("-"))
    return f"{year}年{month}月{day}日"


def _provenance_suffix(tariff: Mapping[str, Any]) -> str:
    if tariff.get("confirmed"):
        since = _date_text(tariff.get("effective_from"))
        return f"（自{since}起执行。）" if since else ""
    since = _date_text(tariff.get("effective_from"))
    dated = f"资料日期{since}，" if since else ""
    return f"（{dated}尚未与国网河南现行电价表核对，{UNCONFIRMED_NOTICE}。）"


def _tiered_text(tariff: Mapping[str, Any]) -> str:
    if tariff.get("accounting") != "monthly":
        # The summary's bounds are monthly; annual thresholds are not published by the API.
        prices = "；".join(f"第{t['tier']}档{t['price']}元/度" for t in tariff["tiers"])
        return (
            f"{tariff['name']}：按年度累计用电量分档，{prices}。各档的年度电量界限请咨询{replies.HOTLINE}或营业厅。"
            + _provenance_suffix(tariff)
        )
    parts = []
    for tier in tariff["tiers"]:
        lower, upper, price = _kwh(tier["from_kwh"]), _kwh(tier["up_to_kwh"]), tier["price"]
        if tier["up_to_kwh"] is None:
            parts.append(f"超过{lower}度的部分{price}元/度")
        elif Decimal(tier["from_kwh"]) == 0:
            parts.append(f"{upper}度及以内{price}元/度")
        else:
            parts.append(f"{lower}度以上至{upper}度的部分{price}元/度")
    text = f"{tariff['name']}：每月用电量" + "；".join(parts) + "。"
    example = tariff.get("example")
    if example:
        terms = " + ".join(f"{_kwh(line['kwh'])}度×{line['price']}" for line in example["lines"])
        text += f"举个例子：一个月用{_kwh(example['kwh'])}度，电费 = {terms} = {example['total_yuan']}元。"
    return text + _provenance_suffix(tariff)


def _periods_text(periods: Mapping[str, Any]) -> str:
    groups = []
    for group_key, bands in periods.items():
        label = MONTH_GROUP_LABELS.get(group_key)
        if label is None or not isinstance(bands, Mapping):
            logger.warning("tariff structure: unknown month group %r not shown", group_key)
            continue
        shown = [
            f"{PERIOD_LABELS[name]}{'、'.join(hours)}"
            for name, hours in bands.items()
            if name in PERIOD_LABELS and hours
        ]
        groups.append(f"{label}：" + "，".join(shown))
    return "；".join(groups) + "；其余时段为平段。" if groups else ""


BAND_LABELS = {"critical_peak": "尖峰", "peak": "高峰", "flat": "平段", "valley": "低谷"}


def _adjustments_text(tariff: Mapping[str, Any]) -> str:
    """Configured per-band adjustments (tou_overlay), each flagged unless confirmed."""
    known, unknown = [], []
    for band, value in (tariff.get("band_adjustments") or {}).items():
        label = BAND_LABELS.get(band, band)
        if value is None:
            unknown.append(label)
            continue
        amount = Decimal(value)
        direction = "低" if amount < 0 else "高"
        known.append(f"{label}电价在阶梯电价基础上每度{direction}{abs(amount)}元")
    text = ""
    if known:
        since = _date_text(tariff.get("effective_from"))
        origin = f"据{since[:5]}的资料，" if since else "据现有资料，"
        flag = "" if tariff.get("confirmed") else f"（尚未核实，{UNCONFIRMED_NOTICE}）"
        text += origin + "，".join(known) + flag + "。"
    if unknown:
        text += f"{'、'.join(unknown)}的加价幅度和各时段的具体时间，我这里没有资料。"
    return text


def _unpriced_text(tariff: Mapping[str, Any]) -> str:
    structure = tariff.get("structure") or {}
    periods = structure.get("periods_by_month")
    time_of_use = tariff.get("kind") in ("tou", "tou_overlay")
    unknown = "时段和价格" if time_of_use and not periods else "价格"
    text = (
        f"{tariff['name']}：具体{unknown}按国网河南当期公布的执行，"
        f"我这里没有经过核实的{unknown}，不能给您报数。"
    )
    text += _adjustments_text(tariff)
    if periods:
        since = _date_text(tariff.get("effective_from"))
        text += f"自{since}起，分时时段为——" if since else "分时时段为——"
        text += _periods_text(periods)
    peak_ratio = (tariff.get("ratios_to_flat") or {}).get("peak") or structure.get("ratio_peak_to_flat")
    if peak_ratio:
        text += f"高峰电价为平段电价的{peak_ratio}倍。"
    components = structure.get("flat_price_components")
    if components:
        text += f"平段电价由{'、'.join(components)}构成。"
    return text + f"如需具体{unknown}，请拨打{replies.HOTLINE}或到营业厅咨询，{UNCONFIRMED_NOTICE}。"


def _flat_text(tariff: Mapping[str, Any]) -> str:
    return f"{tariff['name']}：{tariff['price']}元/度。" + _provenance_suffix(tariff)


def tariff_answer(tariff: Mapping[str, Any]) -> str:
    """One message per tariff: figures where configured, honest structure otherwise."""
    if tariff.get("kind") == "tiered" and tariff.get("tiers"):
        return _tiered_text(tariff)
    if tariff.get("kind") == "flat" and tariff.get("price"):
        return _flat_text(tariff)
    return _unpriced_text(tariff)


def _tariff_button(tariff_type: str) -> dict[str, str]:
    return {"title": tariff_type, "payload": f'/ask_tariff{{"tariff_type": "{tariff_type}"}}'}


class ActionAnswerTariff(Action):
    """ask_tariff: the tariff named by tariff_type, or the household tiers when none is named."""

    def name(self) -> str:
        return "action_answer_tariff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        asked = latest_entity_value(tracker, "tariff_type")
        try:
            body = await fetch_info(TARIFFS_PATH)
            by_code = {str(t["code"]): t for t in body["tariffs"]}
        except (BackendError, KeyError, TypeError) as exc:
            logger.warning("tariff info unavailable: %s", exc)
            replies.offer_human(dispatcher, INFO_BACKEND_DOWN)
            return []

        codes = TARIFF_CODES_BY_TYPE.get(asked, ()) if asked else DEFAULT_TARIFF_CODES
        answers = [tariff_answer(by_code[code]) for code in codes if code in by_code]
        if not answers:
            kind = asked or "这类"
            dispatcher.utter_message(
                text=(
                    f"{kind}电价按国网河南当期公布的执行，我这里还没有这类电价的资料，不能给您报数。"
                    f"请拨打{replies.HOTLINE}或到营业厅咨询，{UNCONFIRMED_NOTICE}。"
                )
            )
            return []
        for text in answers[:-1]:
            dispatcher.utter_message(text=text)
        if asked:
            dispatcher.utter_message(text=answers[-1])
        else:
            dispatcher.utter_message(
                text=answers[-1] + "还想了解哪种电价？",
                buttons=[_tariff_button(kind) for kind in OTHER_TARIFF_BUTTONS],
            )
        return []


def _with_notice(text: str, confirmed: bool) -> str:
    return text if confirmed else f"{text}（{UNCONFIRMED_NOTICE}）"


def _place_stem(address: str) -> str:
    """'七里营镇' -> '七里营': halls are named after the town without its suffix."""
    for suffix in ("镇", "乡", "村", "街道"):
        if address.endswith(suffix) and len(address) > len(suffix) + 1:
            return address[: -len(suffix)]
    return address


def service_info_answer(body: Mapping[str, Any], asked_place: str | None) -> str:
    halls: Sequence[Mapping[str, Any]] = body["service_halls"]
    lines = []
    if asked_place:
        stem = _place_stem(asked_place)
        matching = [h for h in halls if stem in h["name"] or stem in h["address"]]
        if matching:
            halls = matching + [h for h in halls if h not in matching]
        else:
            lines.append(f"{asked_place}的营业网点信息我这里暂时没有，下面是已登记的营业厅：")
    for hall in halls:
        lines.append(f"{hall['name']}：{hall['address']}，营业时间{hall['hours']}。")
    if not all(h["confirmed"] for h in halls):
        lines.append(f"营业厅地址和时间{UNCONFIRMED_NOTICE}。")
    hotline = body["hotline"]
    services = "、".join(hotline.get("services") or [])
    hotline_text = f"{hotline['name']}{hotline['number']}，{hotline['hours']}服务" + (
        f"（{services}）。" if services else "。"
    )
    lines.append(_with_notice(hotline_text, bool(hotline["confirmed"])))
    lines.append(f"办业务需要带哪些材料，请拨打{hotline['number']}或到营业厅咨询。")
    return "\n".join(lines)


def pay_bill_answer(body: Mapping[str, Any]) -> str:
    lines = ["交电费可以用这些方式："]
    for index, channel in enumerate(body["payment_channels"], start=1):
        line = f"{index}. {channel['name']}：{channel['how']}"
        lines.append(_with_notice(line, bool(channel["confirmed"])))
    hotline = body["hotline"]["number"]
    lines.append(
        f"如果已经交了费还显示欠费，请保留交费凭证，拨打{hotline}或转人工客服帮您核实；"
        "想查余额，告诉我户号就可以。"
    )
    return "\n".join(lines)


def energy_saving_answer(body: Mapping[str, Any]) -> str:
    tips = body["energy_saving_tips"]
    lines = ["几条省电的小建议："]
    lines += [f"{index}. {tip['text']}" for index, tip in enumerate(tips, start=1)]
    return "\n".join(lines)


class _ServiceInfoAction(Action, ABC):
    """Fetches /info/service; a backend failure gives the polite answer and a human offer.

    Abstract, so the action server does not try to register it as an action of its own.
    """

    @abstractmethod
    async def answer(self, body: Mapping[str, Any], tracker: Tracker) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            text = await self.answer(await fetch_info(SERVICE_INFO_PATH), tracker)
        except (BackendError, KeyError, TypeError) as exc:
            logger.warning("service info unavailable: %s", exc)
            replies.offer_human(dispatcher, INFO_BACKEND_DOWN)
            return []
        dispatcher.utter_message(text=text)
        return []


class ActionAnswerServiceInfo(_ServiceInfoAction):
    def name(self) -> str:
        return "action_answer_service_info"

    async def answer(self, body: Mapping[str, Any], tracker: Tracker) -> str:
        return service_info_answer(body, latest_entity_value(tracker, "address"))


class ActionAnswerPayBill(_ServiceInfoAction):
    def name(self) -> str:
        return "action_answer_pay_bill"

    async def answer(self, body: Mapping[str, Any], tracker: Tracker) -> str:
        return pay_bill_answer(body)


class ActionAnswerEnergySaving(_ServiceInfoAction):
    def name(self) -> str:
        return "action_answer_energy_saving"

    async def answer(self, body: Mapping[str, Any], tracker: Tracker) -> str:
        return energy_saving_answer(body)
