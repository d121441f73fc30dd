"""The directory of services: agencies, what they cover, how to reach them.

Loaded from YAML (one file, or every ``*.yaml`` in a folder). ``${VAR}`` and ``${VAR:-default}`` in values are taken
from the environment, so one file serves every deployment. Secrets are named by reference, never logged:
``env:NAME`` reads an environment variable; ``literal:whsec_...`` is for demo and test directories only.
"""

from __future__ import annotations

import os
import re
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr

from services.common.ssrf import check_webhook_url


class AgencyKind(StrEnum):
    GP_PRACTICE = "gp_practice"
    COMMUNITY_MENTAL_HEALTH_TEAM = "community_mental_health_team"
    RECONNECT = "reconnect"
    SUBSTANCE_MISUSE_SERVICE = "substance_misuse_service"
    PROBATION_DELIVERY_UNIT = "probation_delivery_unit"
    PRISON_HEALTHCARE = "prison_healthcare"


class Coverage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    postcode_districts: list[str] = Field(default_factory=list)
    local_authorities: list[str] = Field(default_factory=list)


class Webhook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    secret_ref: str = Field(pattern=r"^(env|literal):.+$")

    def secret(self) -> SecretStr:
        scheme, _, value = self.secret_ref.partition(":")
        if scheme == "env":
            found = os.environ.get(value)
            if not found:
                raise LookupError(f"webhook secret variable {value} is not set")
            return SecretStr(found)
        return SecretStr(value)


class Agency(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str = Field(min_length=1, max_length=20)
    kind: AgencyKind
    name: str
    contact_email: str | None = None
    coverage: Coverage
    webhook: Webhook


class Directory(BaseModel):
    agencies: list[Agency]

    def by_code(self, code: str) -> Agency | None:
        return next((agency for agency in self.agencies if agency.code == code), None)


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
