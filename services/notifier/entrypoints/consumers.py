"""Event type -> use case: pack events plan deliveries, answers stop escalations, directory changes refresh the
directory copy; and the periodic escalation scan."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog

from contracts.envelope import CloudEvent, EventType
from services.common.clock import Clock
from services.common.consumer import ApplyAlone, Handler, in_shared_transaction
from services.common.metrics import ESCALATIONS
from services.notifier.adapters.live_directory import LiveDirectory
from services.notifier.domain.escalation_rules import Deadlines
from services.notifier.domain.webhooks import WEBHOOK_EVENT_TYPES, distribution
from services.notifier.settings import NotifierSettings
from services.notifier.usecases.directory_sync import apply_change
from services.notifier.usecases.escalations import escalate_due
from services.notifier.usecases.plan_deliveries import plan_deliveries
from services.notifier.usecases.ports import UowFactory
from services.notifier.usecases.watches import record_answer

log = structlog.get_logger(__name__)

ESCALATION_SCAN_SECONDS = 1.0


@dataclass
class Consumers:
    new_uow: UowFactory
    directory: LiveDirectory
    clock: Clock
    settings: NotifierSettings
    wake_dispatcher: Callable[[], None]
    wake_relay: Callable[[], None]

    def handover_handlers(self) -> dict[str, Handler]:
        """Pack events (issued, amended, withdrawn, re-routed, escalated) and answers, on handover.events.v1."""
        handlers: dict[str, Handler] = dict.fromkeys(WEBHOOK_EVENT_TYPES, self.on_pack_event)
        handlers[EventType.REFERRAL_ANSWERED.value] = self.on_answer
        return handlers

    async def on_pack_event(self, event: CloudEvent) -> None:
        codes = [entry["agency_code"] for entry in distribution(event)]
        if in_shared_transaction() and not all(self.directory.knows(code) for code in codes):
            # Waiting for the directory consumer inside a shared transaction could hold up the very commit it
            # waits for (SQLite's writer lock).
            raise ApplyAlone("a pack names an agency not in the directory copy yet")
        wait = self.settings.directory_wait_seconds
        if not await self.directory.wait_for(codes, new_uow=self.new_uow, timeout=wait):
            log.warning("directory.agency_unknown", event_id=event.id)
        planned = await plan_deliveries(uow=self.new_uow(), event=event, directory=self.directory, now=self.clock.now())
        if planned:
            self.wake_dispatcher()

    async def on_answer(self, event: CloudEvent) -> None:
        await record_answer(uow=self.new_uow(), event=event)

    async def on_directory_change(self, event: CloudEvent) -> None:
        if await apply_change(uow=self.new_uow(), event=event, now=self.clock.now()):
            await self.directory.refresh(self.new_uow)

    async def scan_for_escalations(self) -> None:
        rules = Deadlines(
            after_delivery=timedelta(hours=self.settings.escalate_after_delivery_hours),
            before_release=timedelta(hours=self.settings.escalate_before_release_hours),
            timezone=self.settings.escalation_timezone,
        )
        while True:
            escalated = await escalate_due(
                new_uow=self.new_uow,
                directory=self.directory,
                rules=rules,
                now=self.clock.now(),
                source=self.settings.source,
            )
            if escalated:
                ESCALATIONS.inc(escalated)
                self.wake_dispatcher()
                self.wake_relay()
            await asyncio.sleep(ESCALATION_SCAN_SECONDS)
