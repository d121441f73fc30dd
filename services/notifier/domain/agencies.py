"""The directory of services as the notifier uses it: agencies, what they cover, how to reach them.

The one directory is handover's; the notifier keeps a copy fed by ``directory.agency.changed`` events
(``usecases/directory_sync.py``) and reads it through :class:`Directory`. Secrets are named by reference, never
held here: ``env:NAME``, ``file:/path`` or, in demo and test files only, ``literal:whsec_...``; they are read
when signing (``adapters/signing.py``).

Secret rotation: put the new secret in ``secret_ref`` and the old one under ``previous_secrets`` with the end of
the overlap (``until``); while the overlap lasts every webhook carries both signatures, so a receiver can switch
to the new secret whenever it likes. ``paused: true`` holds deliveries to an endpoint (the notifier also pauses
one on its own when it keeps failing); ``owner_contact`` is who runs the endpoint and is told when it is paused.

Agencies are read tolerantly (unknown keys ignored): routing keys that other parts of the system add to the
same files (eligibility, establishments, ...) must not stop the notifier.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from contracts.directory import OverlapEnd
from contracts.handover import AgencyKind

__all__ = ["Agency", "AgencyKind", "Coverage", "Directory", "Webhook"]


class Coverage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    postcode_districts: list[str] = Field(default_factory=list)
    local_authorities: list[str] = Field(default_factory=list)


SECRET_REF = r"^(env|file|literal):.+$"


class PreviousSecret(BaseModel):
    """A secret being rotated out: it still signs, next to the current one, until ``until``."""

    model_config = ConfigDict(extra="forbid")

    secret_ref: str = Field(pattern=SECRET_REF)
    until: OverlapEnd


class Webhook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    secret_ref: str = Field(pattern=SECRET_REF)
    previous_secrets: list[PreviousSecret] = Field(default_factory=list)
    paused: bool = Field(False, description="Hold deliveries to this endpoint until resumed")
    format: Literal["json", "fhir"] = Field(
        "json", description="fhir: handover adds a FHIR Bundle to the agency's entries; sent as they are"
    )

    def signing_refs(self, now: datetime) -> list[str]:
        """The reference of every secret that signs at ``now``: the current one first, then those still in
        their overlap."""
        return [self.secret_ref] + [old.secret_ref for old in self.previous_secrets if now < old.until]


class Agency(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str = Field(min_length=1, max_length=20)
    kind: AgencyKind
    name: str
    contact_email: str | None = None
    owner_contact: str | None = Field(None, description="Who runs the endpoint; defaults to contact_email")
    coverage: Coverage = Field(default_factory=Coverage)
    establishments: list[str] = Field(default_factory=list, description="Prison codes (prison healthcare)")
    active: bool = Field(True, description="False: deactivated; still delivered what it holds, never told anew")
    revision: int = Field(0, description="The directory revision this entry comes from (0: a YAML file)")
    webhook: Webhook

    @property
    def owner(self) -> str | None:
        return self.owner_contact or self.contact_email


class Directory(BaseModel):
    agencies: list[Agency]

    def by_code(self, code: str) -> Agency | None:
        return next((agency for agency in self.agencies if agency.code == code), None)

    def prison_healthcare(self, establishment_code: str) -> list[Agency]:
        """The healthcare team(s) of a prison: who is told when something about its people goes wrong."""
        wanted = establishment_code.upper()
        return [
            agency
            for agency in self.agencies
            if agency.kind == AgencyKind.PRISON_HEALTHCARE
            and agency.active
            and wanted in (code.upper() for code in agency.establishments)
        ]

    def reconnect_services(self, *, district: str | None, local_authority: str | None) -> list[Agency]:
        """RECONNECT services covering a postcode district or, failing that, a local authority."""
        services = [agency for agency in self.agencies if agency.kind == AgencyKind.RECONNECT and agency.active]
        if district:
            found = [agency for agency in services if district.upper() in agency.coverage.postcode_districts]
            if found:
                return found
        authority = (local_authority or "").casefold()
        return [
            agency
            for agency in services
            if authority and authority in (name.casefold() for name in agency.coverage.local_authorities)
        ]
