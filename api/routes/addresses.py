"""POST /api/v1/addresses/parse: a customer's address as town, village, group, house number, ….

Used by the actions to match an address against outage areas and to pick the repair arrival
target (area_type). Pure computation over config/places.yml, no database.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.deps import require_service_token
from backend.address import parse_address

router = APIRouter(
    prefix="/api/v1/addresses", tags=["addresses"], dependencies=[Depends(require_service_token)]
)


class ParseRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "俺是七里营镇七里营村三组的"}]})

    # Long enough for a rambling message that contains an address; a bound keeps parsing cheap.
    text: str = Field(min_length=1, max_length=500)


class AddressSpanOut(BaseModel):
    label: str
    text: str
    start: int
    end: int
    value: str


class ParsedAddressOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "raw": "俺是七里营镇七里营村三组的",
                    "text": "俺是七里营镇七里营村三组的",
                    "town": "七里营镇",
                    "village": "七里营村",
                    "group": 3,
                    "house_no": None,
                    "road": None,
                    "compound": None,
                    "building": None,
                    "unit": None,
                    "room": None,
                    "facility": None,
                    "area_type": "rural",
                    "village_known": True,
                    "town_candidates": [],
                    "outside_place": None,
                    "in_service_area": True,
                    "confidence": 1.0,
                    "spans": [
                        {"label": "TOWN", "text": "七里营镇", "start": 2, "end": 6, "value": "七里营镇"},
                        {"label": "VILLAGE", "text": "七里营村", "start": 6, "end": 10, "value": "七里营村"},
                        {"label": "GROUP", "text": "三组", "start": 10, "end": 12, "value": "3"},
                    ],
                }
            ]
        }
    )

    raw: str
    text: str = Field(description="the input after NFKC, whitespace removed; span offsets refer to it")
    town: str | None = Field(description="canonical town of the service area, e.g. 七里营镇; null if none")
    village: str | None
    group: int | None
    house_no: str | None
    road: str | None
    compound: str | None
    building: str | None
    unit: str | None
    room: str | None
    facility: str | None = Field(description="e.g. 3号机井; makes the address remote")
    area_type: Literal["urban", "rural", "remote"] | None
    village_known: bool = Field(description="the village is in the gazetteer under this town")
    town_candidates: list[str] = Field(description="towns that fit when none was named (东街村)")
    outside_place: str | None = Field(description="a place outside the county the text names (郑州市)")
    in_service_area: bool
    confidence: float = Field(description="rule-based grade; ask the customer back below 0.7")
    spans: list[AddressSpanOut]


# A plain `def`: the first call builds the spaCy pipeline (about a second), which must not block
# the event loop; FastAPI runs sync endpoints in its thread pool.
@router.post("/parse", response_model=ParsedAddressOut)
def parse(body: ParseRequest) -> ParsedAddressOut:
    parsed = parse_address(body.text)
    return ParsedAddressOut.model_validate({**asdict(parsed), "in_service_area": parsed.in_service_area})
