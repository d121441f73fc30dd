"""What the directory of services tells the rest of the system on ``directory.events.v1``, v1.

Each change of an agency (created, replaced, deactivated, its secret rotated) publishes the agency's whole
current entry, keyed by its code, so that the compacted topic's last record per key is the agency as it is now
and a consumer that starts from nothing rebuilds the whole directory. ``revision`` grows with every change of
one agency: a consumer keeps the highest it has seen and ignores older or repeated records.

Webhook secrets never travel here: ``secret_ref`` names where the notifier finds the secret (``env:NAME``, an
environment variable of the notifier; ``file:/path``, a file only the notifier and the directory's secret store
can read), never the secret itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from contracts.base import ContractModel
from contracts.envelope import schema_uri

DIRECTORY_AGENCY_CHANGED_SCHEMA = schema_uri("directory-agency-changed", "1.0")
SECRET_REF_PATTERN = r"^(env|file):.+$"


def _with_timezone(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("until needs a timezone (e.g. 2026-11-30T12:00:00Z)")
    return value


OverlapEnd = Annotated[datetime, AfterValidator(_with_timezone)]
"""The end of a rotated-out secret's overlap as a directory file or the admin API gives it: an instant, so with a
timezone (a naive time would mean another hour on each side of a clock change)."""


class PreviousSecretV1(ContractModel):
    secret_ref: str = Field(pattern=SECRET_REF_PATTERN)
    until: datetime = Field(description="The end of the overlap: this secret signs, next to the current one, until")


class WebhookEndpointV1(ContractModel):
    url: str = Field(description="Where the notifier posts this agency's webhooks (checked against SSRF)")
    secret_ref: str = Field(pattern=SECRET_REF_PATTERN, description="Where the current signing secret is")
    previous_secrets: list[PreviousSecretV1] = Field(default_factory=list)
    paused: bool = Field(default=False, description="Deliveries held until an operator resumes the endpoint")
    format: Literal["json", "fhir"] = Field(
        default="json", description="fhir: each message's data also carries the pack as a FHIR R4 Bundle (`fhir`)"
    )


class CoverageV1(ContractModel):
    postcode_districts: list[str] = Field(default_factory=list)
    local_authorities: list[str] = Field(default_factory=list)


class EligibilityV1(ContractModel):
    min_age: int | None = None
    max_age: int | None = None
    referral_kinds: list[str] | None = None


class DirectoryAgencyChangedV1(ContractModel):
    code: str
    kind: str
    name: str
    active: bool = Field(description="False: deactivated, it is routed no new referrals")
    contact_email: str | None = None
    contact_phone: str | None = None
    owner_contact: str | None = Field(default=None, description="Who runs the endpoint; told when it is paused")
    coverage: CoverageV1 = Field(default_factory=CoverageV1)
    establishments: list[str] = Field(default_factory=list)
    eligibility: EligibilityV1 = Field(default_factory=EligibilityV1)
    priority: int = 100
    webhook: WebhookEndpointV1 | None = Field(default=None, description="None: the agency has no endpoint")
    revision: int = Field(ge=1, description="Grows with every change of this agency")
    changed_at: datetime
