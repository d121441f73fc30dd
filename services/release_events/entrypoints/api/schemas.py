"""What release_events' routes answer (never a table row)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from services.release_events.usecases.queries import CustodyEventStatus, NoticeStatus


class SubmissionAccepted(BaseModel):
    notice_id: str
    status: str = "accepted"
    status_url: str


class AmendmentAccepted(BaseModel):
    notice_id: str
    amendment_id: str | None
    revision: int
    status: str
    status_url: str


class DeliveryView(BaseModel):
    agency_code: str
    message: str
    state: str
    updated_at: str


class AmendmentView(BaseModel):
    amendment_id: str
    revision: int
    received_at: str
    published_at: str | None


class NoticeStatusView(BaseModel):
    """Where a notice is: accepted (stored), published (handed to the broker), pack_issued (handover built
    its pack: ``handover_id``, ``version``), withdrawn (handover withdrew it); and each agency's delivery."""

    notice_id: str
    status: str
    received_at: str
    published_at: str | None
    revision: int = 1
    amendments: list[AmendmentView] = []
    handover_id: str | None = None
    version: int | None = None
    pack_state: str | None = None
    deliveries: list[DeliveryView] = []
    notice: dict[str, Any] | None = Field(
        default=None,
        description="The current revision's whole notice, with `include=notice`, for the "
        "establishment's own prison healthcare only (operators never get clinical content)",
    )

    @classmethod
    def of(cls, status: NoticeStatus, *, with_notice: bool) -> NoticeStatusView:
        pack = status.pack
        return cls(
            notice_id=status.notice_id,
            status=status.stage.value,
            received_at=status.received_at.isoformat(),
            published_at=status.published_at.isoformat() if status.published_at else None,
            revision=status.revision,
            amendments=[
                AmendmentView(
                    amendment_id=item.amendment_id,
                    revision=item.revision,
                    received_at=item.received_at.isoformat(),
                    published_at=item.published_at.isoformat() if item.published_at else None,
                )
                for item in status.amendments
            ],
            handover_id=pack.handover_id if pack else None,
            version=pack.version if pack else None,
            pack_state=pack.state if pack else None,
            deliveries=[
                DeliveryView(
                    agency_code=item.agency_code,
                    message=item.message,
                    state=item.state,
                    updated_at=item.updated_at.isoformat(),
                )
                for item in status.deliveries
            ],
            notice=json.loads(status.body) if with_notice else None,
        )


class CustodyEventAccepted(BaseModel):
    custody_event_id: str
    status: str
    status_url: str


class CustodyEventStatusView(BaseModel):
    custody_event_id: str
    sequence: int
    kind: str
    status: str
    received_at: str
    published_at: str | None

    @classmethod
    def of(cls, found: CustodyEventStatus) -> CustodyEventStatusView:
        return cls(
            custody_event_id=found.custody_event_id,
            sequence=found.sequence,
            kind=found.kind,
            status="published" if found.published_at else "accepted",
            received_at=found.received_at.isoformat(),
            published_at=found.published_at.isoformat() if found.published_at else None,
        )
