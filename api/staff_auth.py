"""Interim staff authentication for the work-order API: bearer tokens from settings.

STAFF_TOKENS is "role:staff_id:token,..." with roles agent | supervisor | admin. The agent
console (issue 8) replaces this with logins; the role checks stay the same.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import SettingsDep

ROLES = ("agent", "supervisor", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <staff token>")


@dataclass(frozen=True)
class Staff:
    staff_id: str
    role: str

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.staff_id}"

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def parse_staff_tokens(raw: str) -> list[tuple[str, Staff]]:
    entries: list[tuple[str, Staff]] = []
    for item in raw.split(","):
        parts = item.strip().split(":", 2)
        if len(parts) != 3 or parts[0] not in ROLES or not parts[1] or not parts[2]:
            continue  # a malformed entry grants nothing
        entries.append((parts[2], Staff(staff_id=parts[1], role=parts[0])))
    return entries


def current_staff(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Staff:
    presented = credentials.credentials.encode() if credentials is not None else b""
    found: Staff | None = None
    for token, staff in parse_staff_tokens(settings.staff_tokens):
        # Compare against every entry (constant time each) so timing reveals nothing.
        if presented and hmac.compare_digest(presented, token.encode()):
            found = staff
    if found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or invalid staff token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return found


StaffDep = Annotated[Staff, Depends(current_staff)]


def require_role(staff: Staff, role: str) -> None:
    if not staff.at_least(role):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {role} or higher required")
