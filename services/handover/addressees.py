"""Who a handover is addressed to: the agencies that receive its pack, by code, with their kind.

This is the one seam between authorisation and routing. Until the handover records the agencies chosen for
it (issue 4: "each pack records why each agency was chosen"), the addressees are worked out here from the
directory of services (the configuration the notifier routes with) by the same rule: agencies covering the
destination's postcode district, or for no fixed abode the last known local authority. Services never import
each other, so this reads only the fields it needs (code, kind, coverage). When the pack records its
recipients, :meth:`Addressees.of` returns those and this module shrinks to that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from contracts.handover import HandoverPack


@dataclass(frozen=True)
class _Agency:
    code: str
    kind: str
    districts: frozenset[str]
    authorities: frozenset[str]


def _read(path: Path) -> list[_Agency]:
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    agencies = []
    for file in files:
        for item in (yaml.safe_load(file.read_text()) or {}).get("agencies", []):
            coverage = item.get("coverage") or {}
            agencies.append(
                _Agency(
                    code=str(item["code"]),
                    kind=str(item["kind"]),
                    districts=frozenset(str(d).upper() for d in coverage.get("postcode_districts", [])),
                    authorities=frozenset(str(a).casefold() for a in coverage.get("local_authorities", [])),
                )
            )
    return agencies


class Addressees:
    def __init__(self, directory_path: Path) -> None:
        self._path = directory_path
        self._agencies: list[_Agency] | None = None

    def of(self, pack: HandoverPack) -> dict[str, str]:
        """Agency code -> agency kind, for every agency the pack is addressed to."""
        if self._agencies is None:
            self._agencies = _read(self._path)
        destination = pack.release.destination
        if destination.address is not None:
            district = destination.address.postcode.strip().upper().split(" ")[0]
            return {a.code: a.kind for a in self._agencies if district in a.districts}
        authority = (destination.last_known_local_authority or "").casefold()
        return {a.code: a.kind for a in self._agencies if authority and authority in a.authorities}
