"""The directory of services as plain data: who an agency is, where it works, whom it takes, and how to reach
it (its webhook endpoint: URL, the reference of its signing secret, secrets being rotated out).

Handover keeps the one directory; the notifier receives every change as an event and delivers with it.
Secrets are named by reference (``env:NAME`` or ``file:/path``), never carried; ``literal:`` references are read
from seed files only and are moved into the secret store before anything is stored or published.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.directory import OverlapEnd
from contracts.handover import AgencyKind, ReferralKind

# What each kind of agency can be asked to take over.
ACCEPTS_BY_KIND: dict[AgencyKind, frozenset[ReferralKind]] = {
    AgencyKind.GP_PRACTICE: frozenset({ReferralKind.GP_REGISTRATION}),
    AgencyKind.COMMUNITY_MENTAL_HEALTH_TEAM: frozenset({ReferralKind.MENTAL_HEALTH}),
    AgencyKind.RECONNECT: frozenset({ReferralKind.MENTAL_HEALTH}),
    AgencyKind.SUBSTANCE_MISUSE_SERVICE: frozenset({ReferralKind.SUBSTANCE_MISUSE}),
    AgencyKind.PROBATION_DELIVERY_UNIT: frozenset({ReferralKind.REPORTING_INSTRUCTIONS}),
    AgencyKind.PRISON_HEALTHCARE: frozenset({ReferralKind.NOTIFICATION}),
}


class Coverage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    postcode_districts: list[str] = Field(default_factory=list, max_length=500)
    local_authorities: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("postcode_districts")
    @classmethod
    def _upper(cls, districts: list[str]) -> list[str]:
        cleaned = [district.strip().upper() for district in districts]
        bad = [district for district in cleaned if not district or " " in district or len(district) > 4]
        if bad:
            raise ValueError(f"not postcode districts (outward codes such as DH1): {', '.join(bad)}")
        return cleaned


class Eligibility(BaseModel):
    """Whom an agency takes: ages, and which referral kinds (default: all its kind can take)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    referral_kinds: list[ReferralKind] | None = None


class PreviousSecret(BaseModel):
    """A secret being rotated out: it still signs, next to the current one, until ``until``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_ref: str = Field(pattern=r"^(env|file|literal):.+$", max_length=500)
    until: OverlapEnd


class WebhookEndpoint(BaseModel):
    """Where and how the notifier reaches an agency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(min_length=1, max_length=2000)
    secret_ref: str = Field(pattern=r"^(env|file|literal):.+$", max_length=500)
    previous_secrets: list[PreviousSecret] = Field(default_factory=list, max_length=10)
    paused: bool = Field(False, description="Hold deliveries to this endpoint until resumed")
    format: Literal["json", "fhir"] = Field("json", description="fhir: messages also carry a FHIR R4 Bundle")

    def rotated(self, new_ref: str, *, now: datetime, overlap_seconds: float) -> WebhookEndpoint:
        """The endpoint signing with ``new_ref``; the current secret keeps signing next to it for the overlap.
        No overlap means "only the new secret from now on" (a leaked secret): every older one stops at once.
        Secrets whose overlap is over are dropped."""
        if overlap_seconds <= 0:
            return self.model_copy(update={"secret_ref": new_ref, "previous_secrets": []})
        until = now + timedelta(seconds=overlap_seconds)
        still = [old for old in self.previous_secrets if old.until > now and old.secret_ref != new_ref]
        previous = [PreviousSecret(secret_ref=self.secret_ref, until=until), *still]
        return self.model_copy(update={"secret_ref": new_ref, "previous_secrets": previous[:10]})

    def secret_refs(self) -> list[str]:
        return [self.secret_ref, *(old.secret_ref for old in self.previous_secrets)]


class AgencyRecord(BaseModel):
    """One agency of the directory (YAML entry or admin API body; unknown keys ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")
    kind: AgencyKind
    name: str = Field(min_length=1, max_length=200)
    contact_email: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=50)
    coverage: Coverage = Field(default_factory=Coverage)
    establishments: list[str] = Field(default_factory=list, description="prison_healthcare: the prisons it serves")
    eligibility: Eligibility = Field(default_factory=Eligibility)
    priority: int = Field(default=100, ge=0, le=10_000, description="Lower is asked first among equals")
    active: bool = True
    owner_contact: str | None = Field(default=None, max_length=200, description="Who runs the endpoint")
    webhook: WebhookEndpoint | None = Field(default=None, description="None: the agency has no endpoint")

    def accepts(self, kind: ReferralKind) -> bool:
        allowed = ACCEPTS_BY_KIND[self.kind]
        if self.eligibility.referral_kinds is not None:
            allowed = allowed & frozenset(self.eligibility.referral_kinds)
        return kind in allowed

    def takes_age(self, age: int) -> bool:
        low, high = self.eligibility.min_age, self.eligibility.max_age
        return (low is None or age >= low) and (high is None or age <= high)

    def covers_district(self, district: str | None) -> bool:
        return district is not None and district.upper() in self.coverage.postcode_districts

    def covers_authority(self, authority: str | None) -> bool:
        if not authority:
            return False
        wanted = authority.casefold()
        return any(name.casefold() == wanted for name in self.coverage.local_authorities)
