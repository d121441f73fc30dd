"""Prison healthcare corrects an accepted notice (``release-notice.amended``, same notice_id, next revision).
The case is amended, not torn down: only agencies whose part of the pack changed are told, answers and
appointments are kept unless the correction invalidates them (:func:`usecases.amend.amend`)."""

from __future__ import annotations

from datetime import datetime

import structlog

from contracts.custody import CustodyEventV1
from contracts.envelope import CloudEvent
from contracts.release_notice import ReleaseNoticeAmendedV1, ReleaseNoticeV1
from services.handover.domain.case import HandoverState, custody_fields_kept
from services.handover.domain.custody import decides
from services.handover.usecases.amend import amend
from services.handover.usecases.issuing import Stamp
from services.handover.usecases.ports import HandoverUnitOfWork

log = structlog.get_logger(__name__)


async def apply_notice_correction(
    *, uow: HandoverUnitOfWork, event: CloudEvent, source: str, now: datetime, registration_days: int
) -> bool:
    """Apply a correction once and in revision order; True when an amended pack was issued."""
    corrected = ReleaseNoticeAmendedV1.model_validate(event.data)
    async with uow:
        if not await uow.inbox.first_delivery(event_id=event.id, event_type=event.type):
            return False
        handover = await uow.handovers.of_notice(corrected.notice_id, lock=True)
        if handover is None:
            log.error("notice_correction.no_handover", notice_id=corrected.notice_id, revision=corrected.revision)
            return False
        if corrected.revision <= handover.revision:
            log.info("notice_correction.already_applied", handover_id=handover.id, revision=corrected.revision)
            return False
        handover.revision = corrected.revision
        if handover.state != HandoverState.OPEN:
            log.warning("notice_correction.case_not_open", handover_id=handover.id, state=handover.state)
            return False
        before = ReleaseNoticeV1.model_validate_json(handover.notice)
        applied = await uow.custody.applied_to(handover.id)
        decided = {decides(CustodyEventV1.model_validate_json(row.event)) for row in applied if row.event}
        notice = custody_fields_kept(before, corrected.notice, decided)
        reason = f"notice corrected by prison healthcare (revision {corrected.revision})"
        if corrected.reason:
            reason += f": {corrected.reason}"
        version = await amend(
            uow=uow,
            stamp=Stamp(source, now, event.correlationid),
            handover=handover,
            notice=notice,
            reason=reason,
            registration_days=registration_days,
            reporting_corrected=notice.reporting_instructions != before.reporting_instructions,
        )
    log.info("notice_correction.applied", handover_id=handover.id, revision=corrected.revision, version=version)
    return version is not None
