"""What the notifier's routes depend on, as ``Annotated`` aliases: a fresh unit of work, the time, the directory,
the operator acting, and a 404 for an agency the directory does not know."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from services.common.auth import DeadLetterAdmin, Principal
from services.common.problems import Problem
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.domain.agencies import Directory


def _uow(request: Request) -> NotifierUnitOfWork:
    return NotifierUnitOfWork(request.app.state.database, request.app.state.clock)


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock.now()
    return now


def _directory(request: Request) -> Directory:
    directory: Directory = request.app.state.directory
    return directory


def _actor(caller: DeadLetterAdmin) -> Principal:
    """Who asked, for the audit trail: the authenticated operator (role and organisation included)."""
    return caller


UowDep = Annotated[NotifierUnitOfWork, Depends(_uow)]
NowDep = Annotated[datetime, Depends(_now)]
DirectoryDep = Annotated[Directory, Depends(_directory)]
ActorDep = Annotated[Principal, Depends(_actor)]


def known_agency(directory: Directory, agency_code: str) -> None:
    if directory.by_code(agency_code) is None:
        raise Problem(404, "Not found", f"No agency {agency_code} in the directory.", "agency-not-found")
