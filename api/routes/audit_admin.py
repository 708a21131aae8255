"""GET /api/v1/admin/audit/verify: check the whole audit chain and the signed checkpoint (admin).

Read-only: unlike `make audit-verify` it does not move the checkpoint, so an API caller cannot
advance it past rows it has not been shown.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import SessionDep, SettingsDep
from api.staff_auth import StaffDep, require_role
from backend.services.audit_checkpoint import verify_with_checkpoint

router = APIRouter(prefix="/api/v1/admin/audit", tags=["admin: audit"])


class AuditReport(BaseModel):
    ok: bool
    checked: int
    first_broken_id: int | None
    reason: str | None
    head_id: int | None
    head_hash: str | None


@router.get("/verify", response_model=AuditReport)
def verify(session: SessionDep, settings: SettingsDep, staff: StaffDep) -> AuditReport:
    require_role(staff, "admin")
    report = verify_with_checkpoint(session, settings.audit_checkpoint_path, key=settings.audit_hmac_key)
    return AuditReport(
        ok=report.ok,
        checked=report.checked,
        first_broken_id=report.first_broken_id,
        reason=report.reason,
        head_id=report.head_id,
        head_hash=report.head_hash,
    )
