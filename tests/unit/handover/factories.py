"""Plain data for the unit tests of the handover rules: a directory and notices, all synthetic."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

from contracts.release_notice import ReleaseNoticeV1
from services.handover.adapters.tables import DirectoryAgency
from services.handover.domain.directory import AgencyRecord
from ttg.synthetic import release_notice

TODAY = date(2026, 12, 1)


def agency(code: str, kind: str, districts: list[str], authorities: list[str], **extra: Any) -> AgencyRecord:
    return AgencyRecord.model_validate(
        {
            "code": code,
            "kind": kind,
            "name": f"{code} (fictitious)",
            "coverage": {"postcode_districts": districts, "local_authorities": authorities},
            **extra,
        }
    )


DUR = (["DH1", "DH2"], ["County Durham"])
TEES = (["TS1", "TS3"], ["Middlesbrough"])
BHM = (["B5", "B12"], ["Birmingham"])

DIRECTORY = [
    agency("A99001", "gp_practice", *DUR),
    agency("CMHT-DUR", "community_mental_health_team", *DUR, eligibility={"min_age": 18}),
    agency("RECONNECT-DUR", "reconnect", *DUR),
    agency("SMS-DUR", "substance_misuse_service", *DUR),
    agency("PDU-DUR", "probation_delivery_unit", *DUR),
    agency("A99002", "gp_practice", *TEES),
    agency("RECONNECT-TEES", "reconnect", *TEES),
    agency("PDU-TEES", "probation_delivery_unit", *TEES),
    agency("A99003", "gp_practice", *BHM),
    agency("CMHT-BHM", "community_mental_health_team", *BHM),
    agency("PH-DMI", "prison_healthcare", [], ["County Durham"], establishments=["DMI"]),
    agency("PH-HHI", "prison_healthcare", [], ["Middlesbrough"], establishments=["HHI"]),
]


def raw_notice(**options: Any) -> dict[str, Any]:
    options.setdefault("today", TODAY)
    return release_notice(random.Random(4), **options)


def notice(**options: Any) -> ReleaseNoticeV1:
    changes = options.pop("changes", None)
    raw = raw_notice(**options)
    if changes:
        changes(raw)
    return ReleaseNoticeV1.model_validate(raw)


def directory_row(agency: AgencyRecord, *, active: bool = True, at: datetime | None = None) -> DirectoryAgency:
    """``agency`` as handover stores it, from the directory file."""
    return DirectoryAgency(
        code=agency.code,
        kind=agency.kind.value,
        record=agency.model_dump_json(),
        source="file",
        active=active,
        updated_at=at or datetime(2026, 12, 1, tzinfo=UTC),
        revision=1,
    )
