"""Endpoint state: every endpoint of the directory with its state; an operator resumes, enables or pauses one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from services.common.auth import DeadLetterAdmin
from services.notifier.domain.states import EndpointStatus
from services.notifier.entrypoints.api.deps import ActorDep, DirectoryDep, NowDep, UowDep, known_agency
from services.notifier.entrypoints.api.schemas import DeliveryPublic, EndpointChanged, EndpointPublic
from services.notifier.usecases import queries
from services.notifier.usecases.dead_letters import replay
from services.notifier.usecases.endpoint_control import set_endpoint_status

router = APIRouter(prefix="/v1")


@router.get("/endpoints", response_model=list[EndpointPublic])
async def list_endpoints(caller: DeadLetterAdmin, uow: UowDep, directory: DirectoryDep) -> list[EndpointPublic]:
    """Every endpoint of the directory with its state (active, paused, disabled)."""
    states = await queries.endpoint_states(uow=uow)
    result = []
    for agency in directory.agencies:
        state = states.get(agency.code)
        known: dict[str, Any] = (
            state.model_dump(exclude={"agency_code"}) if state else {"status": EndpointStatus.ACTIVE.value}
        )
        if agency.webhook.paused:
            known.update(status=EndpointStatus.PAUSED.value, reason="paused in the directory")
        about = {
            "agency_code": agency.code,
            "name": agency.name,
            "kind": agency.kind.value,
            "owner_contact": agency.owner,
        }
        result.append(EndpointPublic.model_validate({**about, "revision": agency.revision, **known}))
    return result


@router.post("/endpoints/{agency_code}/resume", response_model=EndpointChanged)
async def resume_endpoint(
    uow: UowDep,
    now: NowDep,
    directory: DirectoryDep,
    actor: ActorDep,
    agency_code: Annotated[str, Path(max_length=20)],
    resend: Annotated[bool, Query(description="Also send again what failed or was dead-lettered")] = False,
) -> EndpointChanged:
    """Resume a paused endpoint, or enable one disabled by 410 Gone; its held deliveries go at once. The answer
    lists what did not arrive and waits for it (``waiting``); with ``resend=true`` those are replayed too."""
    known_agency(directory, agency_code)
    status = await set_endpoint_status(uow=uow, agency_code=agency_code, actor=actor, now=now)
    resent = await replay(uow=uow, actor=actor, now=now, agency_code=agency_code) if resend else []
    waiting = await queries.dead_letters(uow=uow, agency_code=agency_code)
    waiting_public = [DeliveryPublic.of(item) for item in waiting]
    return EndpointChanged(agency_code=agency_code, status=status.value, waiting=waiting_public, resent=resent)


@router.post("/endpoints/{agency_code}/pause", response_model=EndpointChanged)
async def pause_endpoint(
    uow: UowDep, now: NowDep, directory: DirectoryDep, actor: ActorDep, agency_code: Annotated[str, Path(max_length=20)]
) -> EndpointChanged:
    known_agency(directory, agency_code)
    status = await set_endpoint_status(uow=uow, agency_code=agency_code, actor=actor, now=now, pause=True)
    return EndpointChanged(agency_code=agency_code, status=status.value)
