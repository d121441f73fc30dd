"""Which deliveries a caller may see: operators all (metadata only, no clinical content), an agency or
probation its own, prison healthcare those of packs from its establishments."""

from __future__ import annotations

import json

from services.common.auth import Principal, acts_for_establishment
from services.common.credentials import Role
from services.notifier.adapters.tables import Delivery


def establishment_of(delivery: Delivery) -> str | None:
    try:
        return str(json.loads(delivery.payload)["data"]["pack"]["release"]["establishment_code"])
    except (ValueError, KeyError, TypeError):
        return None


def may_see(caller: Principal, delivery: Delivery) -> bool:
    if caller.role == Role.OPERATOR:
        return True
    if caller.role in (Role.AGENCY, Role.PROBATION):
        return delivery.agency_code == caller.organisation
    establishment = establishment_of(delivery)
    return establishment is not None and acts_for_establishment(caller, establishment)
