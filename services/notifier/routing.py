"""Who receives a pack, and what each receives. Pure functions over the pack and the directory."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.handover import HandoverPack, HandoverPackIssuedV1
from services.notifier.directory import Agency, Directory, postcode_district


def recipients(pack: HandoverPack, directory: Directory) -> list[Agency]:
    """Agencies covering the destination: its postcode district, or for no fixed abode the last local authority."""
    destination = pack.release.destination
    if destination.address is not None:
        district = postcode_district(destination.address.postcode)
        return [agency for agency in directory.agencies if district in agency.coverage.postcode_districts]
    authority = (destination.last_known_local_authority or "").casefold()
    return [
        agency
        for agency in directory.agencies
        if authority and authority in (name.casefold() for name in agency.coverage.local_authorities)
    ]


def webhook_payload(*, event_type: str, issued: HandoverPackIssuedV1, agency: Agency, at: datetime) -> dict[str, Any]:
    """The Standard Webhooks body (``type``, ``timestamp``, ``data``) one agency receives."""
    return {
        "type": event_type,
        "timestamp": at.isoformat(),
        "data": {
            "handover_id": issued.handover_id,
            "version": issued.version,
            "issued_at": issued.issued_at.isoformat(),
            "recipient": {"code": agency.code, "kind": agency.kind.value},
            "pack": issued.pack.model_dump(mode="json", exclude_none=True),
        },
    }
