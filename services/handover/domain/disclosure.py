"""What each reader of a handover may see: pure rules over the pack, no I/O (data minimisation, design §3).

Prison healthcare of the establishment sees the whole pack. An agency the handover was referred to sees
exactly what it would be sent: the sections of its kind (:mod:`domain.minimise`, the one place that says
which kind needs what). Any other reader, and any kind the rules do not know, sees nothing.
"""

from __future__ import annotations

from typing import Any

from contracts.handover import AgencyKind, HandoverPack
from services.handover.domain.minimise import sections_for
from services.handover.domain.referrals import ReferralStatus

# A referral whose agency no longer has a part in the person's care.
NO_LONGER_ADDRESSED = frozenset({ReferralStatus.REJECTED.value, ReferralStatus.CANCELLED.value})


def disclose(pack: HandoverPack, agency_kind: str) -> dict[str, Any]:
    """The part of ``pack`` (JSON data) an agency of ``agency_kind`` may see; nothing for an unknown kind."""
    try:
        kind = AgencyKind(agency_kind)
    except ValueError:
        return {}
    return sections_for(kind, pack).model_dump(mode="json", exclude_none=True)


def addressees(referrals: list[tuple[str, str, str]]) -> dict[str, str]:
    """Agency code -> kind, for the ``(code, kind, status)`` referrals that still address the handover."""
    return {code: kind for code, kind, status in referrals if status not in NO_LONGER_ADDRESSED}
