"""Open a handover from a newly submitted release notice: build, route and issue version 1 of its pack."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog

from contracts.envelope import CloudEvent
from contracts.handover import ReferralKind, WithdrawalReason
from contracts.release_notice import ReleaseNoticeSubmittedV1
from services.handover.adapters.tables import Handover, Person
from services.handover.domain.case import PRISON_ACTION_ALERTS, HandoverState
from services.handover.domain.distribution import distribution_list
from services.handover.domain.pack import build_pack
from services.handover.domain.referral_routing import prison_healthcare_of, route
from services.handover.usecases.custody_events import apply_held
from services.handover.usecases.issuing import Outgoing, Stamp, issue_version, new_referral, recipient_for
from services.handover.usecases.ports import HandoverUnitOfWork
from services.handover.usecases.withdraw import withdraw

log = structlog.get_logger(__name__)


async def open_handover(
    *, uow: HandoverUnitOfWork, event: CloudEvent, source: str, now: datetime, registration_days: int
) -> bool:
    """Build, route and issue version 1 of the pack of a newly submitted notice. False when already applied.
    An open handover of the same person is withdrawn first (superseded by the new notice). Custody events held
    for the person (they arrived before the notice) are then applied in sequence order, in the same transaction,
    so that agencies end as if the notice had come first."""
    submitted = ReleaseNoticeSubmittedV1.model_validate(event.data)
    notice = submitted.notice
    stamp = Stamp(source, now, event.correlationid)
    async with uow:
        if not await uow.inbox.first_delivery(event_id=event.id, event_type=event.type):
            log.info("handover.duplicate_event_skipped")
            return False
        opened, open_cases = await uow.handovers.of_notice_and_open_of_person(submitted.notice_id, notice.prison_number)
        if opened is not None:
            return False
        for previous in open_cases:
            await withdraw(
                uow=uow,
                stamp=stamp,
                handover=previous,
                reason_code=WithdrawalReason.SUPERSEDED,
                reason=f"superseded by release notice {submitted.notice_id}",
                state=HandoverState.WITHDRAWN,
            )
        directory = await uow.directory.active()
        plan = route(notice, directory)
        recipients = [recipient_for(item.agency, item.kind, item.reason) for item in plan.routed]
        draft = build_pack(notice, plan, registration_days=registration_days)
        prison = prison_healthcare_of(notice.establishment_code, directory)
        alerts = [alert for alert in draft.safety_alerts if alert.code in PRISON_ACTION_ALERTS]
        note = None
        if alerts and prison is not None:
            note = "Action needed: " + " ".join(alert.detail for alert in alerts)
            why = f"prison healthcare of {notice.establishment_code}: {alerts[0].code}"
            recipients.append(recipient_for(prison, ReferralKind.NOTIFICATION, why))
        pack = draft.model_copy(update={"distribution_list": distribution_list(recipients, draft)})
        handover = Handover(
            id=str(uuid.uuid4()),
            notice_id=submitted.notice_id,
            prison_number=notice.prison_number,
            establishment_code=notice.establishment_code,
            release_date=notice.release.date,
            current_version=1,
            state=HandoverState.OPEN.value,
            notice=notice.model_dump_json(),
            created_at=now,
            updated_at=now,
        )
        await uow.handovers.add(handover)
        referrals = [new_referral(handover.id, recipient, now) for recipient in recipients]
        await uow.referrals.add(*referrals)
        outgoing = [
            Outgoing(r, "issued", referral, note=note if r.referral_kind == ReferralKind.NOTIFICATION else None)
            for r, referral in zip(recipients, referrals, strict=True)
        ]
        await issue_version(uow, stamp, handover, version=1, pack=pack, outgoing=outgoing)
        if await uow.custody.person(notice.prison_number) is None:
            await uow.custody.save_person(
                Person(prison_number=notice.prison_number, establishment_code=notice.establishment_code, updated_at=now)
            )
        await apply_held(uow, stamp, handover, registration_days)
    return True
