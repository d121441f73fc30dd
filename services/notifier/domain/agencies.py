"""The directory of services as the notifier uses it: agencies, what they cover, how to reach them.

The one directory is handover's; the notifier keeps a copy fed by ``directory.agency.changed`` events
(:mod:`services.notifier.usecases.directory_sync`) and reads it through :class:`Directory`. :func:`load_directory` reads the
YAML form (one file, or every ``*.yaml`` in a folder; ``${VAR}`` and ``${VAR:-default}`` taken from the
environment) for checks and tests. Secrets are named by reference, never logged: ``env:NAME`` reads an
environment variable, ``file:/path`` a file (the directory's secret store, or one an operator manages);
``literal:whsec_...`` is for demo and test files only and never reaches the directory events.

Secret rotation: put the new secret in ``secret_ref`` and the old one under ``previous_secrets`` with the end of
the overlap (``until``); while the overlap lasts every webhook carries both signatures, so a receiver can switch
to the new secret whenever it likes. ``paused: true`` holds deliveries to an endpoint (the notifier also pauses
one on its own when it keeps failing); ``owner_contact`` is who runs the endpoint and is told when it is paused.

Agencies are read tolerantly (unknown keys ignored): routing keys that other parts of the system add to the
same files (eligibility, establishments, ...) must not stop the notifier.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator

from contracts.handover import AgencyKind
from services.common.ssrf import check_webhook_url

__all__ = ["Agency", "AgencyKind", "Coverage", "Directory", "Webhook", "load_directory"]


class Coverage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    postcode_districts: list[str] = Field(default_factory=list)
    local_authorities: list[str] = Field(default_factory=list)


SECRET_REF = r"^(env|file|literal):.+$"


def resolve_secret(secret_ref: str) -> SecretStr:
    scheme, _, value = secret_ref.partition(":")
    if scheme == "env":
        found = os.environ.get(value)
        if not found:
            raise LookupError(f"webhook secret variable {value} is not set")
        return SecretStr(found)
    if scheme == "file":
        try:
            return SecretStr(Path(value).read_text().strip())
        except OSError as error:
            raise LookupError(f"webhook secret file cannot be read ({error.strerror})") from None
    return SecretStr(value)


class PreviousSecret(BaseModel):
    """A secret being rotated out: it still signs, next to the current one, until ``until``."""

    model_config = ConfigDict(extra="forbid")

    secret_ref: str = Field(pattern=SECRET_REF)
    until: datetime

    @field_validator("until")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("until needs a timezone (e.g. 2026-11-30T12:00:00Z)")
        return value


class Webhook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    secret_ref: str = Field(pattern=SECRET_REF)
    previous_secrets: list[PreviousSecret] = Field(default_factory=list)
    paused: bool = Field(False, description="Hold deliveries to this endpoint until resumed")
    format: Literal["json", "fhir"] = Field(
        "json", description="fhir: handover adds a FHIR Bundle to the agency's entries; sent as they are"
    )

    def secret(self) -> SecretStr:
        """The current signing secret."""
        return resolve_secret(self.secret_ref)

    def signing_secrets(self, now: datetime) -> list[SecretStr]:
        """Every secret that signs at ``now``: the current one first, then those still in their overlap."""
        return [self.secret()] + [resolve_secret(old.secret_ref) for old in self.previous_secrets if now < old.until]


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


_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


def expand_variables(text: str) -> str:
    """Replace ``${NAME}`` and ``${NAME:-default}`` with the environment's value (or the default)."""

    def value(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        if found is None and match.group(2) is None:
            raise LookupError(f"directory names ${{{match.group(1)}}}, which is not set")
        return found if found is not None else match.group(2)

    return _VARIABLE.sub(value, text)


def load_directory(path: Path) -> Directory:
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    agencies: list[Agency] = []
    for file in files:
        document = yaml.safe_load(expand_variables(file.read_text())) or {}
        agencies.extend(Agency.model_validate(item) for item in document.get("agencies", []))
    codes = [agency.code for agency in agencies]
    for agency in agencies:
        check_webhook_url(str(agency.webhook.url))  # SSRF: https and public targets only, unless allowed
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ValueError(f"agency codes appear more than once in the directory: {', '.join(duplicates)}")
    return Directory(agencies=agencies)


def postcode_district(postcode: str) -> str:
    """The outward code of a postcode: ``DH1 1AA`` -> ``DH1``."""
    return postcode.strip().upper().split(" ")[0]
