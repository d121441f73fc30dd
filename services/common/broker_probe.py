"""Asks the broker who it is and how far its partitions reach.

A broker that lost its data (the embedded broker restarted: it keeps topics in memory only; an Apache Kafka
cluster rebuilt, a topic deleted and created again) looks healthy to a producer and a consumer: they reconnect
and carry on. Only its cluster id or its partitions' high-water marks give it away, so the outbox relay and
the consumers ask for both.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


class BrokerProbe:
    """Cluster id and end offsets, over clients of its own that reconnect after any failure."""

    def __init__(self, bootstrap_servers: str, timeout: float = 10.0) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._timeout = timeout
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None

    @property
    def bootstrap_servers(self) -> str:
        return self._bootstrap_servers

    async def cluster_id(self) -> str:
        try:
            if self._admin is None:
                self._admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap_servers)
                await self._admin.start()
            described = await asyncio.wait_for(self._admin.describe_cluster(), self._timeout)
        except Exception:
            await self.close()
            raise
        return str(described["cluster_id"])

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The high-water mark of each partition (the offset the next record will get)."""
        if not partitions:
            return {}
        try:
            if self._offsets is None:
                # No group: this consumer only asks for offsets, it never joins or commits.
                self._offsets = AIOKafkaConsumer(bootstrap_servers=self._bootstrap_servers, enable_auto_commit=False)
                await self._offsets.start()
            return dict(await asyncio.wait_for(self._offsets.end_offsets(partitions), self._timeout))
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        admin, offsets = self._admin, self._offsets
        self._admin = self._offsets = None
        if admin is not None:
            try:
                await admin.close()
            except Exception:  # noqa: BLE001 - closing a client of a broker that is gone may fail; it is gone too
                pass
        if offsets is not None:
            try:
                await offsets.stop()
            except Exception:  # noqa: BLE001 - as above
                pass
