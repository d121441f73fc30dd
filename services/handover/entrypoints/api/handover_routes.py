"""Reading handovers: the pack as the caller may see it (JSON or FHIR R4), and a person's custody log."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fhir.resources.R4B.bundle import Bundle

from contracts.handover import AgencySections
from services.common.auth import HandoverReader, Principal, ReleasesReader, acts_for_establishment, not_found
from services.common.read_audit import audit_read
from services.handover.domain.fhir import bundle
from services.handover.domain.fhir_model import Reading
from services.handover.entrypoints.api.deps import ReadContext, ReadDep, UnitOfWorkDep
from services.handover.entrypoints.api.schemas import (
    CustodyEventLogPublic,
    HandoverPublic,
    ReadinessPublic,
    ReferralPublic,
)
from services.handover.usecases import queries
from services.handover.usecases.fhir_entries import fhir_referral
from services.handover.usecases.reading import Disclosed, read_as

FHIR_JSON = "application/fhir+json"

router = APIRouter(prefix="/v1")


def _public(seen: Disclosed) -> HandoverPublic:
    view, whole = seen.view, seen.whole
    return HandoverPublic(
        handover_id=view.handover_id,
        notice_id=view.notice_id,
        version=view.version,
        issued_at=view.issued_at,
        state=view.state,
        state_reason=view.state_reason,
        sections=seen.sections,
        pack=seen.pack,
        referrals=[ReferralPublic.of(r) for r in view.referrals if whole or r.agency_code == seen.reader],
        readiness=ReadinessPublic.of(view.readiness) if whole else None,
    )


async def _read_one(read: ReadContext, caller: Principal, handover_id: str, form: str) -> Disclosed:
    """One handover as the caller may see it; 404 alike for one that does not exist and one it may not see."""
    view = await queries.get_handover(uow=read.uow, handover_id=handover_id, now=read.now, rules=read.rules)
    if view is None:
        raise not_found("handover")
    shown = await read_as(
        uow=read.uow, caller=caller, views=[view], single=True, correlation_id=read.correlation_id, form=form
    )
    if not shown:
        raise not_found("handover")
    return shown[0]


@router.get("/handovers/{handover_id}", response_model=HandoverPublic)
async def get_handover(handover_id: str, caller: HandoverReader, read: ReadDep) -> HandoverPublic:
    """The current version of a handover pack, as much as the caller may see; readiness for the prison."""
    return _public(await _read_one(read, caller, handover_id, "json"))


@router.get("/handovers", response_model=list[HandoverPublic])
async def find_handovers(
    caller: HandoverReader, read: ReadDep, notice_id: str = Query(max_length=36)
) -> list[HandoverPublic]:
    """The handovers opened from one release notice that the caller may see (empty until processed)."""
    found = await queries.find_handovers(uow=read.uow, notice_id=notice_id, now=read.now, rules=read.rules)
    shown = await read_as(uow=read.uow, caller=caller, views=found, single=False, correlation_id=read.correlation_id)
    return [_public(seen) for seen in shown]


def reading_of(seen: Disclosed) -> Reading:
    """The disclosed part of one version: the whole pack and every referral for the prison; an agency's
    sections and its own referrals for an agency."""
    view = seen.view
    referrals = [r for r in view.referrals if seen.whole or r.agency_code == seen.reader]
    return Reading(
        handover_id=view.handover_id,
        version=view.version,
        issued_at=view.issued_at,
        audience="whole" if seen.whole else next((r.agency_kind for r in referrals), "agency"),
        sections=AgencySections.model_validate(seen.pack),
        referrals=tuple(fhir_referral(r) for r in referrals),
        distribution_list=tuple(seen.pack.get("distribution_list", ())) if seen.whole else (),
    )


def validated(document: dict[str, Any]) -> dict[str, Any]:
    """The Bundle, checked against the FHIR R4 (R4B) models before it leaves: an invalid one is a 500 here,
    never a document another system half-reads."""
    Bundle.model_validate(document)
    return document


@router.get(
    "/handovers/{handover_id}/fhir",
    response_class=Response,
    responses={200: {"content": {FHIR_JSON: {}}, "description": "A FHIR R4 document Bundle"}},
)
async def get_handover_fhir(handover_id: str, caller: HandoverReader, read: ReadDep) -> Response:
    """The current version of a handover as a FHIR R4 document Bundle, as much as the caller may see."""
    seen = await _read_one(read, caller, handover_id, "fhir")
    return Response(content=json.dumps(validated(bundle(reading_of(seen)))), media_type=FHIR_JSON)


@router.get("/people/{prison_number}/custody-events", response_model=list[CustodyEventLogPublic])
async def custody_events_of(
    prison_number: str, caller: ReleasesReader, uow: UnitOfWorkDep, request: Request
) -> list[CustodyEventLogPublic]:
    """Every custody event received about a person, applied or not, and why: for the person's prison."""
    held_at, rows = await queries.custody_log(uow=uow, prison_number=prison_number.upper())
    if not any(acts_for_establishment(caller, code) for code in held_at):
        raise not_found("person")
    await audit_read(request, caller, "custody_log.read", "person", subject=prison_number.upper(), events=len(rows))
    return [CustodyEventLogPublic.model_validate(row, from_attributes=True) for row in rows]
