"""Contracts shared by the services: the CloudEvents envelope and the versioned event data models.

Only this package crosses service boundaries. Services never import each other's code.
"""

from contracts.envelope import CloudEvent, EventType, major_version, new_event
from contracts.handover import HandoverPack, HandoverPackIssuedV1
from contracts.release_notice import ReleaseNoticeSubmittedV1, ReleaseNoticeV1

__all__ = [
    "CloudEvent",
    "EventType",
    "HandoverPack",
    "HandoverPackIssuedV1",
    "ReleaseNoticeSubmittedV1",
    "ReleaseNoticeV1",
    "major_version",
    "new_event",
]
