"""Issue the next version of a pack after a change of the notice (a custody event or a correction): only the
agencies whose part changed are told, each only of its changes."""

from __future__ import annotations

import structlog

from contracts.handover import Invalidation, ReferralKind
from contracts.release_notice import ReleaseNoticeV1
from services.handover.adapters.tables import Handover, Referral
from services.handover.domain.case import effective_notice, is_live, plan_from_referrals
from services.handover.domain.changes import pack_changes
from services.handover.domain.distribution import changes_for, distribution_list
from services.handover.domain.invalidation import AnsweredReferral, ReleaseChange, invalidation
from services.handover.domain.pack import build_pack
from services.handover.domain.referral_routing import area_of, moved_out_of_area, route
from services.handover.domain.referrals import OPEN, ReferralStatus
from services.handover.usecases.issuing import (
    Outgoing,
    Stamp,
    current_pack,
    issue_version,
    new_referral,
    recipient_for,
    recipient_of,
)
from services.handover.usecases.ports import HandoverUnitOfWork

log = structlog.get_logger(__name__)


def _asked_again(referrals: list[Referral], change: ReleaseChange, stamp: Stamp) -> dict[str, Invalidation]:
    """Answers the change no longer fits go back to ``requested``, by referral id, with the reason."""
    invalidated: dict[str, Invalidation] = {}
    for referral in referrals:
        if not is_live(referral):
            continue
        answered = AnsweredReferral(
            ReferralKind(referral.referral_kind),
            ReferralStatus(referral.status),
            referral.first_appointment_at,
            referral.report_at,
        )
        found = invalidation(answered, change)
        if found is not None:
            referral.status, referral.invalidated_reason = ReferralStatus.REQUESTED.value, found.reason
            referral.updated_at = stamp.now
            invalidated[referral.id] = found
    return invalidated


async def amend(
    *,
    uow: HandoverUnitOfWork,
    stamp: Stamp,
    handover: Handover,
    notice: ReleaseNoticeV1,
    reason: str,
    registration_days: int,
    reporting_corrected: bool = False,
) -> int | None:
    """Issue the next version of the pack from ``notice`` (the notice as it now stands).

    An answer the change no longer fits (``domain/invalidation.py``) is named in that agency's entry and its
    referral awaits a new answer; other answers and appointments are kept. A referral whose agency no longer
    covers the release area is withdrawn from it and sent to the agency that does. None when nothing changed
    for anyone."""
    now = stamp.now
    directory = await uow.directory.active()
    by_code = {agency.code: agency for agency in directory}
    referrals = await uow.referrals.of_handover(handover.id)
    before = ReleaseNoticeV1.model_validate_json(handover.notice)
    invalidated = _asked_again(
        referrals, ReleaseChange(before.release.date, notice.release.date, reporting_corrected), stamp
    )
    outgoing: list[Outgoing] = []
    old_pack = await current_pack(uow, handover)
    fresh = route(notice, directory)
    if area_of(before, directory) != fresh.area:
        for referral in referrals:
            if not is_live(referral):
                continue
            kind = ReferralKind(referral.referral_kind)
            if moved_out_of_area(by_code.get(referral.agency_code), fresh.area, fresh.agency_for(kind)):
                referral.status, referral.updated_at = ReferralStatus.CANCELLED.value, now
                referral.reason_text = f"the release address moved out of the area of {referral.agency_code}"
                outgoing.append(
                    Outgoing(
                        recipient_of(referral),
                        "withdrawn",
                        referral,
                        note=f"{reason}: the release address is no longer in your area; this referral is "
                        "withdrawn from you and sent to the agency covering the new address",
                        pack=old_pack,  # never the new address: it is no longer theirs to know
                    )
                )
                invalidated.pop(referral.id, None)
    effective = effective_notice(notice, referrals)
    plan = plan_from_referrals(effective, directory, referrals)
    live = [r for r in referrals if r.status in OPEN]
    kinds = {r.referral_kind for r in live}
    moved = {o.recipient.referral_kind for o in outgoing}
    sent_afresh: list[Referral] = []
    for routed in plan.routed:
        if routed.kind.value not in kinds and routed.kind in moved:
            recipient = recipient_for(routed.agency, routed.kind, f"{reason}; {routed.reason}")
            sent_afresh.append(new_referral(handover.id, recipient, now))
    await uow.referrals.add(*sent_afresh)
    live += sent_afresh
    afresh_ids = {referral.id for referral in sent_afresh}
    recipients = [recipient_of(r) for r in live]
    draft = build_pack(effective, plan, registration_days=registration_days)
    pack = draft.model_copy(update={"distribution_list": distribution_list(recipients, draft)})
    changes = pack_changes(old_pack, pack)
    if not changes and not outgoing and not invalidated:
        log.info("handover.amendment_changes_nothing", handover_id=handover.id)
        handover.notice, handover.updated_at = notice.model_dump_json(), now
        return None
    for referral, recipient in zip(live, recipients, strict=True):
        if referral.id in afresh_ids:
            outgoing.append(Outgoing(recipient, "issued", referral, note=reason))
            continue
        mine = changes_for(recipient.agency_kind, old_pack, pack)
        asked_again = invalidated.get(referral.id)
        if mine or asked_again:
            outgoing.append(
                Outgoing(
                    recipient,
                    "amended",
                    referral,
                    note=reason,
                    changes=tuple(mine),
                    invalidated=(asked_again,) if asked_again else (),
                )
            )
    version = handover.current_version + 1
    handover.release_date, handover.establishment_code = notice.release.date, notice.establishment_code
    handover.notice = notice.model_dump_json()
    await issue_version(
        uow, stamp, handover, version=version, pack=pack, outgoing=outgoing, reason=reason, changes=changes
    )
    return version
