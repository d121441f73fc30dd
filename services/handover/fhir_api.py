"""The handover pack as FHIR R4 (`GET /v1/handovers/{id}/fhir`): read, authorised and audited exactly as the
JSON pack (:mod:`reading`), then mapped by :mod:`domain.fhir` from what the caller may see, nothing more."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fhir.resources.R4B.bundle import Bundle

from contracts.handover import AgencySections
from services.common.auth import HandoverReader, not_found
from services.handover import service
from services.handover.domain.fhir import Reading, ReferralFacts, bundle
from services.handover.reading import Disclosed, read_as

FHIR_JSON = "application/fhir+json"

router = APIRouter(prefix="/v1")


def reading_of(seen: Disclosed) -> Reading:
    """The disclosed part of one version: the whole pack and every referral for the prison; an agency's
    sections and its own referrals for an agency."""
    view = seen.view
    referrals = [r for r in view.referrals if seen.whole or r.agency_code == seen.reader]
    audience = "whole" if seen.whole else next((r.agency_kind for r in referrals), "agency")
    return Reading(
        handover_id=view.handover_id,
        version=view.version,
        issued_at=view.issued_at,
        audience=audience,
        sections=AgencySections.model_validate(seen.pack),
        referrals=tuple(
            ReferralFacts(
                referral_id=r.id,
                agency_code=r.agency_code,
                agency_kind=r.agency_kind,
                agency_name=r.agency_name,
                referral_kind=r.referral_kind,
                status=r.status,
                reason=r.reason,
                created_at=r.created_at,
                updated_at=r.updated_at,
                first_appointment_at=r.first_appointment_at,
                first_appointment_place=r.first_appointment_place,
                reason_code=r.reason_code,
                reason_text=r.reason_text,
                attended=r.attended,
            )
            for r in referrals
        ),
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
async def get_handover_fhir(handover_id: str, caller: HandoverReader, request: Request) -> Response:
    """The current version of a handover as a FHIR R4 document Bundle, as much as the caller may see."""
    view = await service.get_handover(database=request.app.state.database, handover_id=handover_id)
    if view is None:
        raise not_found("handover")
    seen = (await read_as(caller, [view], request, single=True, form="fhir"))[0]
    return Response(content=json.dumps(validated(bundle(reading_of(seen)))), media_type=FHIR_JSON)
