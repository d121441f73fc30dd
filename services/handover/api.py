"""HTTP API of handover: handovers, answers to referrals, readiness, worklists and the directory of services.
Routes parse and answer; the work is in :mod:`service`, :mod:`answers`, :mod:`views` and :mod:`directory`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.answers import Answer, FirstAppointment
from contracts.release_notice import ReportingInstructions
from services.common.auth import (
    AnswerWriter,
    DirectoryAdmin,
    HandoverReader,
    ReleasesReader,
    acts_for_establishment,
    ensure_establishment,
    ensure_organisation,
    ensure_scope,
    not_found,
)
from services.common.credentials import Scope
from services.common.problems import Problem
from services.common.read_audit import audit_read
from services.handover import answers, directory, paging, service, views
from services.handover.directory_input import (
    AgencyPut,
    SecretRotation,
    entry_from_put,
    invalid,
    new_secret_ref,
    refuse_unknown,
)
from services.handover.domain.directory import AgencyRecord
from services.handover.domain.readiness import ReleaseReadiness
from services.handover.domain.referrals import AnswerRefused
from services.handover.models import Referral
from services.handover.reading import Disclosed, read_as
from services.handover.settings import HandoverSettings

router = APIRouter(prefix="/v1")

Code = Annotated[str, Field(max_length=20, pattern=r"^[A-Za-z0-9-]+$")]


def context(request: Request) -> service.Context:
    settings: HandoverSettings = request.app.state.settings
    return service.Context(
        database=request.app.state.database,
        clock=request.app.state.clock,
        source=settings.source,
        registration_days=settings.gp_registration_days,
    )


ContextDep = Annotated[service.Context, Depends(context)]


def _settings(request: Request) -> HandoverSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[HandoverSettings, Depends(_settings)]


# --- public models ---------------------------------------------------------------------------------------


class ReadinessItemPublic(BaseModel):
    item: str
    status: str
    detail: str


class ReadinessPublic(BaseModel):
    status: str
    items: list[ReadinessItemPublic]


class ReferralPublic(BaseModel):
    referral_id: str
    agency_code: str
    agency_kind: str
    referral_kind: str
    status: str
    reason: str
    first_appointment_at: datetime | None
    first_appointment_place: str | None
    reason_code: str | None
    reason_text: str | None
    attended: bool | None
    reporting_instructions: dict[str, Any] | None
    updated_at: datetime
    delivery_status: str | None = Field(None, description="delivered, failed or dead_lettered, once known")
    delivery_detail: str | None = None


class HandoverPublic(BaseModel):
    handover_id: str
    notice_id: str
    version: int
    issued_at: datetime
    state: str
    state_reason: str | None
    sections: list[str] = Field(description="The sections of the pack this caller may see")
    pack: dict[str, Any] = Field(description="The handover pack: only the sections this caller may see")
    referrals: list[ReferralPublic] = Field(description="All referrals for the prison; an agency's own for it")
    readiness: ReadinessPublic | None = Field(description="Readiness of the release, for the prison only")


def _readiness(readiness: ReleaseReadiness) -> ReadinessPublic:
    return ReadinessPublic(
        status=readiness.status.value,
        items=[ReadinessItemPublic(item=i.item.value, status=i.status.value, detail=i.detail) for i in readiness.items],
    )


def _referral(r: Referral) -> ReferralPublic:
    import json

    return ReferralPublic(
        referral_id=r.id,
        agency_code=r.agency_code,
        agency_kind=r.agency_kind,
        referral_kind=r.referral_kind,
        status=r.status,
        reason=r.reason,
        first_appointment_at=r.first_appointment_at,
        first_appointment_place=r.first_appointment_place,
        reason_code=r.reason_code,
        reason_text=r.reason_text,
        attended=r.attended,
        reporting_instructions=json.loads(r.reporting) if r.reporting else None,
        updated_at=r.updated_at,
        delivery_status=r.delivery_status,
        delivery_detail=r.delivery_detail,
    )


def _public(seen: Disclosed, request: Request, settings: HandoverSettings) -> HandoverPublic:
    view = seen.view
    whole = seen.whole
    readiness = None
    if whole:
        readiness = _readiness(
            views.readiness_of(
                view.notice,
                view.pack,
                view.referrals,
                now=request.app.state.clock.now(),
                at_risk_hours=settings.at_risk_hours,
                registration_days=settings.gp_registration_days,
            )
        )
    return HandoverPublic(
        handover_id=view.handover_id,
        notice_id=view.notice_id,
        version=view.version,
        issued_at=view.issued_at,
        state=view.state,
        state_reason=view.state_reason,
        sections=seen.sections,
        pack=seen.pack,
        referrals=[_referral(r) for r in view.referrals if whole or r.agency_code == seen.reader],
        readiness=readiness,
    )


# --- handovers -------------------------------------------------------------------------------------------


@router.get("/handovers/{handover_id}", response_model=HandoverPublic)
async def get_handover(
    handover_id: str, caller: HandoverReader, request: Request, settings: SettingsDep
) -> HandoverPublic:
    """The current version of a handover pack, as much as the caller may see; readiness for the prison."""
    view = await service.get_handover(database=request.app.state.database, handover_id=handover_id)
    if view is None:
        raise not_found("handover")
    return _public((await read_as(caller, [view], request, single=True))[0], request, settings)


@router.get("/handovers", response_model=list[HandoverPublic])
async def find_handovers(
    caller: HandoverReader, request: Request, settings: SettingsDep, notice_id: str = Query(max_length=36)
) -> list[HandoverPublic]:
    """The handovers opened from one release notice that the caller may see (empty until processed)."""
    found = await service.find_handovers(database=request.app.state.database, notice_id=notice_id)
    return [_public(seen, request, settings) for seen in await read_as(caller, found, request, single=False)]


class CustodyEventLogPublic(BaseModel):
    event_id: str
    custody_event_id: str
    sequence: int
    kind: str
    outcome: str
    action: str
    detail: str
    handover_id: str | None
    occurred_at: datetime
    recorded_at: datetime


@router.get("/people/{prison_number}/custody-events", response_model=list[CustodyEventLogPublic])
async def custody_events_of(
    prison_number: str, caller: ReleasesReader, request: Request
) -> list[CustodyEventLogPublic]:
    """Every custody event received about a person, applied or not, and why: for the person's prison."""
    database = request.app.state.database
    held_at = await service.establishments_of(database=database, prison_number=prison_number.upper())
    if not any(acts_for_establishment(caller, code) for code in held_at):
        raise not_found("person")
    rows = await service.custody_log(database=database, prison_number=prison_number.upper())
    await audit_read(request, caller, "custody_log.read", "person", subject=prison_number.upper(), events=len(rows))
    return [CustodyEventLogPublic.model_validate(row, from_attributes=True) for row in rows]


# --- answers ---------------------------------------------------------------------------------------------


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Answer
    first_appointment: FirstAppointment | None = None
    reason_code: str | None = Field(default=None, min_length=1, max_length=50)
    reason_text: str | None = Field(default=None, max_length=2000)
    attended: bool | None = None
    reporting_instructions: ReportingInstructions | None = None


class AnswerPublic(BaseModel):
    referral_id: str
    status: str
    rerouted_to: str | None
    escalated_to: list[str]


@router.post("/agencies/{agency_code}/referrals/{referral_id}/answers", response_model=AnswerPublic, status_code=201)
async def answer_referral(
    agency_code: str,
    referral_id: str,
    body: AnswerBody,
    caller: AnswerWriter,
    request: Request,
    response: Response,
    ctx: ContextDep,
) -> AnswerPublic:
    """An agency answers its referral: received, accepted, rejected, completed; probation: confirmed."""
    if body.answer == Answer.CONFIRMED:  # confirming reporting instructions is a scope of its own
        ensure_scope(caller, Scope.REPORTING_CONFIRM)
    ensure_organisation(caller, agency_code, "referral")
    given = answers.AnswerIn(
        **body.model_dump(exclude={"first_appointment", "reporting_instructions"}),
        first_appointment=body.first_appointment,
        reporting_instructions=body.reporting_instructions,
    )
    try:
        outcome = await answers.answer_referral(
            ctx=ctx,
            agency_code=agency_code,
            referral_id=referral_id,
            given=given,
            correlation_id=request.state.correlation_id,
            actor=caller,
        )
    except answers.NotFound:
        raise Problem(404, "Not found", "This agency has no referral with this id.", "not-found") from None
    except answers.Conflict as error:
        raise Problem(409, "Handover closed", str(error), "handover-closed") from None
    except AnswerRefused as error:
        status = 422 if error.field != "answer" else 409
        raise Problem(
            status,
            "Answer refused",
            error.detail,
            "answer-refused",
            errors=[
                {
                    "field": error.field,
                    "pointer": "#/" + error.field.replace(".", "/"),
                    "detail": error.detail,
                }
            ],
        ) from None
    if outcome.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    else:
        request.app.state.relay.wake()
    return AnswerPublic(
        referral_id=outcome.referral_id,
        status=outcome.status,
        rerouted_to=outcome.rerouted_to,
        escalated_to=outcome.escalated_to,
    )


# --- worklists and departures ----------------------------------------------------------------------------


class WorkItemPublic(BaseModel):
    handover_id: str
    referral_id: str
    referral_kind: str
    status: str
    reason: str
    release_date: date
    establishment_code: str
    answer_url: str
    sent: dict[str, Any] = Field(description="What the agency was last sent: only its sections")


@router.get("/agencies/{agency_code}/handovers", response_model=list[WorkItemPublic])
async def agency_worklist(agency_code: str, caller: HandoverReader, request: Request) -> list[WorkItemPublic]:
    """What an agency has to act on: its open referrals, soonest release first. Only for the agency itself."""
    ensure_organisation(caller, agency_code, "agency")
    items = await views.worklist(database=request.app.state.database, agency_code=agency_code)
    await audit_read(
        request,
        caller,
        "worklist.read",
        "agency",
        resource_id=agency_code,
        referral_ids=[item.referral.id for item in items],
    )
    return [
        WorkItemPublic(
            handover_id=item.handover.id,
            referral_id=item.referral.id,
            referral_kind=item.referral.referral_kind,
            status=item.referral.status,
            reason=item.referral.reason,
            release_date=item.handover.release_date,
            establishment_code=item.handover.establishment_code,
            answer_url=f"/v1/agencies/{agency_code}/referrals/{item.referral.id}/answers",
            sent=item.sent,
        )
        for item in items
    ]


class DeparturePublic(BaseModel):
    handover_id: str
    prison_number: str
    given_name: str
    family_name: str
    release_date: date
    release_type: str
    version: int
    readiness: ReadinessPublic
    referrals: list[ReferralPublic]


LOUNGE_PAGE = 100
LOUNGE_PAGE_MAX = 500


@router.get(
    "/establishments/{code}/releases",
    response_model=list[DeparturePublic],
    responses={200: {"description": 'One page of releases; `Link: <...>; rel="next"` names the next page'}},
)
async def establishment_releases(
    code: str,
    caller: ReleasesReader,
    request: Request,
    response: Response,
    settings: SettingsDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=LOUNGE_PAGE_MAX, description="Releases per page")] = LOUNGE_PAGE,
    cursor: Annotated[str | None, Query(max_length=200, description="From the `next` link of a page")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=50, description="Start of a prison number, or words of a name")
    ] = None,
    state: Annotated[
        Literal["open", "released"],
        Query(
            description="open (default): releases still to happen; released: people already released, by their "
            "release date (default window: the last 14 days and today)"
        ),
    ] = "open",
) -> list[DeparturePublic]:
    """Upcoming releases of an establishment with their readiness (the "departure lounge" as data), by date
    then prison number, a page at a time (`limit`, default 100, at most 500; the next page is in the `Link`
    header). Default window: today and the next 14 days. With ``state=released``, those already released
    and the readiness they left with. Only for the establishment's own prison healthcare."""
    ensure_establishment(caller, code.upper(), "establishment")
    now = request.app.state.clock.now()
    if state == "released":
        end = to or now.date()
        start = from_ or end - timedelta(days=14)
    else:
        start = from_ or now.date()
        end = to or start + timedelta(days=14)
    if end < start:
        raise Problem(
            422,
            "Invalid request",
            "'to' is before 'from'.",
            "validation",
            errors=[{"field": "to", "pointer": "#/to", "detail": "must not be before from"}],
        )
    page = await views.departures(
        database=request.app.state.database,
        establishment_code=code.upper(),
        start=start,
        end=end,
        now=now,
        at_risk_hours=settings.at_risk_hours,
        registration_days=settings.gp_registration_days,
        limit=limit,
        after=paging.decode(cursor) if cursor else None,
        search=q,
        state=state,
    )
    if page.after is not None:
        following = request.url.include_query_params(
            **{
                "from": start.isoformat(),
                "to": end.isoformat(),
                "limit": limit,
                "cursor": paging.encode(page.after),
                "state": state,
            }
        )
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    await audit_read(
        request,
        caller,
        "releases.read",
        "establishment",
        resource_id=code.upper(),
        handover_ids=[d.handover.id for d in page.departures],
    )
    return [
        DeparturePublic(
            handover_id=d.handover.id,
            prison_number=d.handover.prison_number,
            given_name=d.pack.patient_demographics.given_name,
            family_name=d.pack.patient_demographics.family_name,
            release_date=d.handover.release_date,
            release_type=d.pack.release.type.value,
            version=d.handover.current_version,
            readiness=_readiness(d.readiness),
            referrals=[_referral(r) for r in d.referrals],
        )
        for d in page.departures
    ]


# --- the directory of services (admin) --------------------------------------------------------------------


class AgencyPublic(AgencyRecord):
    source: str = Field(description="file (seeded from the directory files) or api (set through this API)")
    revision: int = Field(
        description="Grows with every change; GET /v1/endpoints of the notifier shows the one it delivers with"
    )

    @classmethod
    def of(cls, entry: directory.Entry) -> AgencyPublic:
        return cls(**entry.agency.model_dump(), source=entry.source, revision=entry.revision)


def directory_context(request: Request) -> directory.DirectoryContext:
    settings: HandoverSettings = request.app.state.settings
    return directory.DirectoryContext(
        database=request.app.state.database,
        clock=request.app.state.clock,
        source=settings.source,
        secret_store=settings.secret_store_path,
    )


@router.get("/directory/agencies", response_model=list[AgencyPublic])
async def list_agencies(caller: DirectoryAdmin, request: Request) -> list[AgencyPublic]:
    found = await directory.all_agencies(database=request.app.state.database)
    return [AgencyPublic.of(entry) for entry in found]


@router.get("/directory/agencies/{code}", response_model=AgencyPublic)
async def get_agency(code: str, caller: DirectoryAdmin, request: Request) -> AgencyPublic:
    found = await directory.get_agency(database=request.app.state.database, code=code)
    if found is None:
        raise Problem(404, "Not found", "No agency has this code.", "not-found")
    return AgencyPublic.of(found)


@router.put("/directory/agencies/{code}", response_model=AgencyPublic)
async def put_agency(
    code: str, body: AgencyPut, caller: DirectoryAdmin, request: Request, response: Response
) -> AgencyPublic:
    """Create or replace an agency, its endpoint included (the URL is checked against SSRF; a secret given is
    kept in the secret store and only its reference is published). The notifier follows without a restart."""
    refuse_unknown(AgencyPut, await request.json())
    if body.code != code:
        raise invalid("code", "must equal the code in the path")
    ctx = directory_context(request)
    existing = await directory.get_agency(database=ctx.database, code=code)
    entry = await entry_from_put(body, existing.agency if existing else None, ctx.secret_store)
    created, revision = await directory.put_agency(
        ctx=ctx, agency=entry, actor=caller, correlation_id=request.state.correlation_id
    )
    request.app.state.relay.wake()
    response.status_code = 201 if created else 200
    return AgencyPublic.of(directory.Entry(entry, "api", revision))


@router.post("/directory/agencies/{code}/secret", response_model=AgencyPublic)
async def rotate_agency_secret(
    code: str, body: SecretRotation, caller: DirectoryAdmin, request: Request
) -> AgencyPublic:
    """Rotate an endpoint's signing secret: the new one signs from now on, the current one next to it until
    the overlap ends, so the agency can switch its verification whenever it likes."""
    ctx = directory_context(request)
    existing = await directory.get_agency(database=ctx.database, code=code)
    if existing is None:
        raise Problem(404, "Not found", "No agency has this code.", "not-found")
    if existing.agency.webhook is None:
        raise Problem(
            409, "No endpoint", "This agency has no webhook endpoint whose secret could be rotated.", "no-endpoint"
        )
    ref = new_secret_ref(
        secret=body.secret, secret_ref=body.secret_ref, code=existing.agency.code, store=ctx.secret_store, field=""
    )
    if ref is None:
        raise invalid("secret", "give the new secret (or its secret_ref)")
    try:
        rotated = await directory.rotate_secret(
            ctx=ctx,
            code=code,
            new_ref=ref,
            overlap_seconds=body.overlap_seconds,
            actor=caller,
            correlation_id=request.state.correlation_id,
        )
    except directory.NoEndpoint:
        rotated = None
    if rotated is None:  # removed or changed since it was read
        raise Problem(409, "Conflict", "The agency changed while its secret was being rotated; try again.", "conflict")
    request.app.state.relay.wake()
    return AgencyPublic.of(rotated)


@router.delete("/directory/agencies/{code}", status_code=204)
async def delete_agency(code: str, caller: DirectoryAdmin, request: Request) -> Response:
    """Deactivate an agency: it is routed no new referrals; existing ones keep it (see the README)."""
    if not await directory.deactivate_agency(
        ctx=directory_context(request), code=code, actor=caller, correlation_id=request.state.correlation_id
    ):
        raise Problem(404, "Not found", "No agency has this code.", "not-found")
    request.app.state.relay.wake()
    return Response(status_code=204)
