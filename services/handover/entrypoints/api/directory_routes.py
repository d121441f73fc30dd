"""The operators' admin API of the directory of services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response

from services.common.auth import DirectoryAdmin
from services.common.problems import Problem
from services.common.strict import refuse_unknown_fields
from services.handover.domain.directory import AgencyRecord
from services.handover.entrypoints.api.deps import UnitOfWorkDep, WriteContext, WriteDep
from services.handover.entrypoints.api.directory_input import (
    AgencyPut,
    SecretRotation,
    entry_from_put,
    invalid,
    new_secret_ref,
)
from services.handover.entrypoints.api.schemas import AgencyPublic
from services.handover.usecases import directory_admin, queries

router = APIRouter(prefix="/v1/directory/agencies")


def _by(write: WriteContext) -> dict[str, Any]:
    """Who announces a directory change, and when."""
    return {"source": write.settings.source, "now": write.now}


def no_agency() -> Problem:
    return Problem(404, "Not found", "No agency has this code.", "not-found")


@router.get("", response_model=list[AgencyPublic])
async def list_agencies(caller: DirectoryAdmin, uow: UnitOfWorkDep) -> list[AgencyPublic]:
    return [AgencyPublic.of(entry) for entry in await queries.directory_entries(uow=uow)]


@router.get("/{code}", response_model=AgencyPublic)
async def get_agency(code: str, caller: DirectoryAdmin, uow: UnitOfWorkDep) -> AgencyPublic:
    found = await queries.directory_entry(uow=uow, code=code)
    if found is None:
        raise no_agency()
    return AgencyPublic.of(found)


@router.put("/{code}", response_model=AgencyPublic)
async def put_agency(
    code: str,
    body: AgencyPut,
    caller: DirectoryAdmin,
    request: Request,
    response: Response,
    write: WriteDep,
) -> AgencyPublic:
    """Create or replace an agency, its endpoint included (the URL is checked against SSRF; a secret given is
    kept in the secret store and only its reference is published). The notifier follows without a restart."""
    refuse_unknown_fields(AgencyPut, await request.json(), "an agency's directory entry")
    if body.code != code:
        raise invalid("code", "must equal the code in the path")
    existing = await queries.directory_entry(uow=write.uow, code=code)
    agency = await entry_from_put(body, existing.agency if existing else None, write.settings.secret_store_path)
    created, revision = await directory_admin.put_agency(
        uow=write.uow, agency=agency, **_by(write), actor=caller, correlation_id=write.correlation_id
    )
    write.relay.wake()
    response.status_code = 201 if created else 200
    return AgencyPublic.of(directory_admin.DirectoryEntry(agency, "api", revision))


def _rotation_ref(body: SecretRotation, agency: AgencyRecord, store: Path) -> str:
    """The reference of the new secret (stored first when given itself); 409 when there is no endpoint to rotate."""
    if agency.webhook is None:
        detail = "This agency has no webhook endpoint whose secret could be rotated."
        raise Problem(409, "No endpoint", detail, "no-endpoint")
    ref = new_secret_ref(secret=body.secret, secret_ref=body.secret_ref, code=agency.code, store=store, field="")
    if ref is None:
        raise invalid("secret", "give the new secret (or its secret_ref)")
    return ref


@router.post("/{code}/secret", response_model=AgencyPublic)
async def rotate_agency_secret(
    code: str,
    body: SecretRotation,
    caller: DirectoryAdmin,
    write: WriteDep,
) -> AgencyPublic:
    """Rotate an endpoint's signing secret: the new one signs from now on, the current one next to it until
    the overlap ends, so the agency can switch its verification whenever it likes."""
    existing = await queries.directory_entry(uow=write.uow, code=code)
    if existing is None:
        raise no_agency()
    ref = _rotation_ref(body, existing.agency, write.settings.secret_store_path)
    try:
        rotated = await directory_admin.rotate_secret(
            uow=write.uow,
            code=code,
            new_ref=ref,
            overlap_seconds=body.overlap_seconds,
            **_by(write),
            actor=caller,
            correlation_id=write.correlation_id,
        )
    except directory_admin.NoEndpoint:
        rotated = None
    if rotated is None:  # removed or changed since it was read
        raise Problem(409, "Conflict", "The agency changed while its secret was being rotated; try again.", "conflict")
    write.relay.wake()
    return AgencyPublic.of(rotated)


@router.delete("/{code}", status_code=204)
async def delete_agency(code: str, caller: DirectoryAdmin, write: WriteDep) -> Response:
    """Deactivate an agency: it is routed no new referrals; existing ones keep it (see the README)."""
    found = await directory_admin.deactivate_agency(
        uow=write.uow, code=code, **_by(write), actor=caller, correlation_id=write.correlation_id
    )
    if not found:
        raise no_agency()
    write.relay.wake()
    return Response(status_code=204)
