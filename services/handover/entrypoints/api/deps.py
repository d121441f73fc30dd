"""What every route of handover is given: a unit of work, the settings, the time, and a way to wake the relay
once a change with events has committed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from services.handover.adapters.unit_of_work import HandoverSqlUnitOfWork
from services.handover.settings import HandoverSettings
from services.handover.usecases.ports import HandoverUnitOfWork
from services.handover.usecases.queries import ReadinessRules


def _unit_of_work(request: Request) -> HandoverUnitOfWork:
    days = _settings(request).gp_registration_days
    return HandoverSqlUnitOfWork(request.app.state.database, request.app.state.clock, days)


def _settings(request: Request) -> HandoverSettings:
    settings: HandoverSettings = request.app.state.settings
    return settings


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock.now()
    return now


def _correlation_id(request: Request) -> str | None:
    found: str | None = getattr(request.state, "correlation_id", None)
    return found


class Relay:
    """Wakes the outbox relay so that what a route committed is published at once."""

    def __init__(self, request: Request) -> None:
        self._relay = request.app.state.relay

    def wake(self) -> None:
        self._relay.wake()


@dataclass(frozen=True)
class WriteContext:
    """What a route that changes something needs: a unit of work, the settings, the time, the request's
    correlation id, and the relay to wake once the change has committed."""

    uow: HandoverUnitOfWork
    settings: HandoverSettings
    now: datetime
    correlation_id: str | None
    relay: Relay


def _write_context(request: Request) -> WriteContext:
    return WriteContext(
        _unit_of_work(request), _settings(request), _now(request), _correlation_id(request), Relay(request)
    )


@dataclass(frozen=True)
class ReadContext:
    """What a route that reads a handover needs: a unit of work (reads are audited), the readiness rules, the
    time readiness is as of, and the request's correlation id."""

    uow: HandoverUnitOfWork
    rules: ReadinessRules
    now: datetime
    correlation_id: str | None


def _read_context(request: Request) -> ReadContext:
    settings = _settings(request)
    rules = ReadinessRules(settings.at_risk_hours, settings.gp_registration_days)
    return ReadContext(_unit_of_work(request), rules, _now(request), _correlation_id(request))


UnitOfWorkDep = Annotated[HandoverUnitOfWork, Depends(_unit_of_work)]
ReadDep = Annotated[ReadContext, Depends(_read_context)]
WriteDep = Annotated[WriteContext, Depends(_write_context)]
