"""Who receives a message about a handover and exactly what each receives (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from contracts.handover import (
    AgencyKind,
    AgencySections,
    Change,
    DistributionEntry,
    DistributionListItem,
    HandoverPack,
    Invalidation,
    MessageKind,
    ReferralKind,
)
from services.handover.domain.changes import section_changes, visible_to
from services.handover.domain.minimise import SECTIONS_BY_KIND, section_names, sections_for


@dataclass(frozen=True)
class Recipient:
    agency_code: str
    agency_kind: AgencyKind
    agency_name: str
    referral_kind: ReferralKind
    reason: str
    referral_id: str | None = None


def entry(
    message: MessageKind,
    *,
    handover_id: str,
    version: int,
    recipient: Recipient,
    pack: HandoverPack,
    note: str | None = None,
    changes: Iterable[Change] = (),
    invalidated: Iterable[Invalidation] = (),
) -> DistributionEntry:
    sections = sections_for(recipient.agency_kind, pack)
    if message == "withdrawn":  # enough to find the case, nothing more
        sections = AgencySections(patient_demographics=pack.patient_demographics, release=pack.release)
    return DistributionEntry(
        message=message,
        handover_id=handover_id,
        version=version,
        agency_code=recipient.agency_code,
        agency_kind=recipient.agency_kind,
        agency_name=recipient.agency_name,
        reason=recipient.reason,
        referral_id=recipient.referral_id,
        referral_kind=recipient.referral_kind,
        note=note,
        changes=visible_to(list(changes), set(SECTIONS_BY_KIND[recipient.agency_kind])),
        invalidated=list(invalidated),
        pack=sections,
    )


def distribution_list(recipients: Iterable[Recipient], pack: HandoverPack) -> list[DistributionListItem]:
    return [
        DistributionListItem(
            agency_code=r.agency_code,
            agency_kind=r.agency_kind,
            agency_name=r.agency_name,
            referral_kind=r.referral_kind,
            reason=r.reason,
            sections=section_names(r.agency_kind, pack),
        )
        for r in recipients
    ]


def changes_for(kind: AgencyKind, before: HandoverPack, after: HandoverPack) -> list[Change]:
    """What changed in the sections an agency of ``kind`` receives (a derived section such as probation's risk
    flags included): empty when its part of the pack is the same, so it is told nothing."""
    old = sections_for(kind, before).model_dump(mode="json", exclude_none=True)
    new = sections_for(kind, after).model_dump(mode="json", exclude_none=True)
    return section_changes(old, new)
