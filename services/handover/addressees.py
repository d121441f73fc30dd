"""Who a handover is addressed to: the agencies that receive its pack, by code, with their kind.

This is the one seam between authorisation and routing. Until the handover records the agencies chosen for
it, the addressees are worked out with the notifier's routing rule over the same directory of services (the
configuration both services load), so that an agency may read exactly the handovers it is sent. When the pack
records its recipients (issue 4), :func:`addressees_of` returns those instead and the directory is not needed.
"""

from __future__ import annotations

from pathlib import Path

from contracts.handover import HandoverPack
from services.notifier.directory import Directory, load_directory
from services.notifier.routing import recipients


class Addressees:
    def __init__(self, directory_path: Path) -> None:
        self._path = directory_path
        self._directory: Directory | None = None

    def _current(self) -> Directory:
        if self._directory is None:
            self._directory = load_directory(self._path)
        return self._directory

    def of(self, pack: HandoverPack) -> dict[str, str]:
        """Agency code -> agency kind, for every agency the pack is addressed to."""
        return {agency.code: agency.kind.value for agency in recipients(pack, self._current())}
