"""Synthetic inputs for release_events' use-case tests (seeded; the seed is printed)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from contracts.release_notice import ReleaseNoticeV1
from services.common.audit import AuditEntry
from services.release_events.usecases.accept_notice import Submission
from ttg.synthetic import release_notice

SEED = 20261202
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def notice_body(**changes: Any) -> dict[str, Any]:
    print(f"release_notice seed {SEED}")
    return {**release_notice(random.Random(SEED), place="durham", establishment="DMI"), **changes}


def entry(action: str = "notice.submitted") -> AuditEntry:
    return AuditEntry(
        actor="prison-dmi",
        actor_role="prison_healthcare",
        actor_organisation="DMI",
        action=action,
        resource_type="release_notice",
        subject="A1234BC",
        details={"establishment_code": "DMI"},
    )


def submission(body: dict[str, Any], key: str | None = None) -> Submission:
    return Submission(
        notice=ReleaseNoticeV1.model_validate(body),
        body=body,
        idempotency_key=key,
        scope="prison-dmi",
        correlation_id="c1",
        audit_entry=entry(),
    )
