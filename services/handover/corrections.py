"""Use case: prison healthcare corrects an accepted notice (``release-notice.amended``, same notice_id, next
revision). The case is amended, not torn down: only agencies whose part of the pack changed are told, answers
and appointments are kept unless the correction invalidates them (``service.amend``)."""

from __future__ import annotations

import structlog
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.custody import CustodyEventV1
from contracts.envelope import CloudEvent
from contracts.release_notice import ReleaseNoticeAmendedV1, ReleaseNoticeV1
from services.common.inbox import first_delivery
from services.handover.domain.custody import Decides, Outcome, decides
from services.handover.models import CustodyEventRecord, Handover
from services.handover.service import Context, amend

log = structlog.get_logger(__name__)


async def apply_notice_correction(*, ctx: Context, event: CloudEvent) -> bool:
    """Apply a correction once and in revision order; True when an amended pack was issued."""
    corrected = ReleaseNoticeAmendedV1.model_validate(event.data)
    now = ctx.clock.now()
    async with ctx.database.transaction() as session:
        if not await first_delivery(session, event_id=event.id, event_type=event.type, now=now):
            return False
        handover = (
            await session.exec(select(Handover).where(Handover.notice_id == corrected.notice_id).with_for_update())
        ).first()
        if handover is None:
            log.error("notice_correction.no_handover", notice_id=corrected.notice_id, revision=corrected.revision)
            return False
        if corrected.revision <= handover.revision:
            log.info("notice_correction.already_applied", handover_id=handover.id, revision=corrected.revision)
            return False
        if handover.state != "open":
            log.warning("notice_correction.case_not_open", handover_id=handover.id, state=handover.state)
            handover.revision = corrected.revision
            session.add(handover)
            return False
        before = ReleaseNoticeV1.model_validate_json(handover.notice)
        notice = await _custody_fields_kept(session, handover, before, corrected.notice)
        handover.revision = corrected.revision
        reason = f"notice corrected by prison healthcare (revision {corrected.revision})"
        if corrected.reason:
            reason += f": {corrected.reason}"
        version = await amend(
            session,
            ctx,
            handover,
            notice,
            reason,
            event.correlationid,
            reporting_corrected=notice.reporting_instructions != before.reporting_instructions,
        )
    log.info("notice_correction.applied", handover_id=handover.id, revision=corrected.revision, version=version)
    return version is not None


async def _custody_fields_kept(
    session: AsyncSession, handover: Handover, before: ReleaseNoticeV1, notice: ReleaseNoticeV1
) -> ReleaseNoticeV1:
    """The release date and where the person is belong to the custody log once an event of the case has
    decided them: a correction of other parts (say, the probation practitioner) does not undo them."""
    rows = (
        await session.exec(
            select(CustodyEventRecord).where(
                CustodyEventRecord.handover_id == handover.id, CustodyEventRecord.outcome == Outcome.APPLIED.value
            )
        )
    ).all()
    decided = {decides(CustodyEventV1.model_validate_json(row.event)) for row in rows if row.event}
    update: dict[str, object] = {}
    if Decides.RELEASE_DATE in decided:
        update["release"] = notice.release.model_copy(update={"date": before.release.date})
    if Decides.WHERE in decided:
        update["establishment_code"] = before.establishment_code
        update["prison_contact"] = before.prison_contact
    return notice.model_copy(update=update) if update else notice
