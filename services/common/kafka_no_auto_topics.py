"""Kafka clients never create topics; only ``topics.ensure_topics`` does, with the configured partitions.

aiokafka asks the broker about every topic it meets with ``allow_auto_topic_creation`` set (it has no setting to
turn that off), and a broker that allows it (the embedded Tansu always, Apache Kafka by default) creates a missing
topic with its own default partition count: Tansu's is 4, ours are 3 in tests and 6 by default. After a broker
restart, a consumer or producer reconnecting before the launcher made the topics again did exactly that. Producers
whose metadata still said 3 partitions and producers that saw 4 then sent one person's events to different
partitions (a pack's version 3 reached an agency before its version 2), and consumers that knew 3 partitions did
not read the fourth (notices that never became packs: stop 22's chaos run). With auto-creation refused, a client
that meets a missing topic waits for it (a consumer) or gets ``UnknownTopicOrPartitionError`` and tries again
(the relay, which makes missing topics itself after a broker replacement).

Applied once, when anything of ``services.common`` is first imported (its ``__init__``): every process that
makes a Kafka client (the services, the launcher, the tests, the benchmarks) imports from it first.
"""

from __future__ import annotations

from typing import Any

from aiokafka.protocol.metadata import MetadataRequest

_MARK = "_ttg_refuses_auto_creation"


def refuse_topic_auto_creation() -> None:
    """Every metadata request this process makes asks the broker not to create the topics it names (unless a
    caller says otherwise explicitly)."""
    original = MetadataRequest.__init__
    if getattr(original, _MARK, False):
        return

    def __init__(self: MetadataRequest, topics: list[str] | None = None, allow_auto_topic_creation: Any = None) -> None:
        original(self, topics, False if allow_auto_topic_creation is None else allow_auto_topic_creation)

    setattr(__init__, _MARK, True)
    MetadataRequest.__init__ = __init__


refuse_topic_auto_creation()
