"""Which deliveries a caller may see: operators all (metadata only, no clinical content), an agency or
probation its own, prison healthcare those of packs from its establishments."""

from __future__ import annotations

import json
from typing import Protocol

from services.common.auth import Principal, acts_for_establishment
from services.common.roles import Role


class Addressed(Protocol):
    """A delivery as far as who may see it goes: its agency and its payload."""

    @property
    def agency_code(self) -> str: ...

    @property
    def payload(self) -> str: ...


def establishment_of(delivery: Addressed) -> str | None:
    try:
        return str(json.loads(delivery.payload)["data"]["pack"]["release"]["establishment_code"])
    except (ValueError, KeyError, TypeError):
        return None


def may_see(caller: Principal, delivery: Addressed) -> bool:
    if caller.role == Role.OPERATOR:
        return True
    if caller.role in (Role.AGENCY, Role.PROBATION):
        return delivery.agency_code == caller.organisation
    establishment = establishment_of(delivery)
    return establishment is not None and acts_for_establishment(caller, establishment)
