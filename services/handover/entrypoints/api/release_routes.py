"""What each party has to act on: an agency's worklist and an establishment's departures ("departure lounge")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from services.common.auth import HandoverReader, ReleasesReader, ensure_establishment, ensure_organisation
from services.common.problems import Problem
from services.common.read_audit import audit_read
from services.handover.domain.case import HandoverState
from services.handover.entrypoints.api import paging
from services.handover.entrypoints.api.deps import ReadDep, UnitOfWorkDep
from services.handover.entrypoints.api.schemas import DeparturePublic, WorkItemPublic
from services.handover.usecases import queries
from services.handover.usecases.ports import LoungeQuery

router = APIRouter(prefix="/v1")

LOUNGE_PAGE = 100
LOUNGE_PAGE_MAX = 500
DEFAULT_WINDOW = timedelta(days=14)


@router.get("/agencies/{agency_code}/handovers", response_model=list[WorkItemPublic])
async def agency_worklist(
    agency_code: str, caller: HandoverReader, uow: UnitOfWorkDep, request: Request
) -> list[WorkItemPublic]:
    """What an agency has to act on: its open referrals, soonest release first. Only for the agency itself."""
    ensure_organisation(caller, agency_code, "agency")
    items = await queries.worklist(uow=uow, agency_code=agency_code)
    referral_ids = [item.referral.id for item in items]
    await audit_read(request, caller, "worklist.read", "agency", resource_id=agency_code, referral_ids=referral_ids)
    return [WorkItemPublic.of(item, agency_code) for item in items]


def window(state: str, today: date, start: date | None, end: date | None) -> tuple[date, date]:
    """Upcoming releases: today and the next 14 days; those released: the last 14 days and today."""
    if state == HandoverState.RELEASED:
        end = end or today
        start = start or end - DEFAULT_WINDOW
    else:
        start = start or today
        end = end or start + DEFAULT_WINDOW
    if end < start:
        detail = {"field": "to", "pointer": "#/to", "detail": "must not be before from"}
        raise Problem(422, "Invalid request", "'to' is before 'from'.", "validation", errors=[detail])
    return start, end


def next_page(request: Request, start: date, end: date, limit: int, cursor: str, state: str) -> str:
    """The ``Link`` header naming the next page, the window made explicit so every page lists the same days."""
    window = {"from": start.isoformat(), "to": end.isoformat(), "limit": limit, "cursor": cursor, "state": state}
    following = request.url.include_query_params(**window)
    return f'<{following.path}?{following.query}>; rel="next"'


@dataclass(frozen=True)
class ReleasesParams:
    """The query parameters of the departure lounge, as given (the window is settled against today)."""

    start: date | None
    end: date | None
    limit: int
    cursor: str | None
    search: str | None
    state: Literal["open", "released"]

    def query(self, establishment_code: str, today: date) -> tuple[LoungeQuery, date, date]:
        """The lounge query this filter asks for, with the window it settled on."""
        start, end = window(self.state, today, self.start, self.end)
        after = paging.decode(self.cursor) if self.cursor else None
        wanted = queries.lounge_query(
            establishment_code=establishment_code,
            state=HandoverState(self.state),
            start=start,
            end=end,
            limit=self.limit,
            after=after,
            search=self.search,
        )
        return wanted, start, end


def releases_params(
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
) -> ReleasesParams:
    return ReleasesParams(from_, to, limit, cursor, q, state)


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
    read: ReadDep,
    given: Annotated[ReleasesParams, Depends(releases_params)],
) -> list[DeparturePublic]:
    """Upcoming releases of an establishment with their readiness (the "departure lounge" as data), by date
    then prison number, a page at a time (`limit`, default 100, at most 500; the next page is in the `Link`
    header). Default window: today and the next 14 days. With ``state=released``, those already released
    and the readiness they left with. Only for the establishment's own prison healthcare."""
    ensure_establishment(caller, code.upper(), "establishment")
    wanted, start, end = given.query(code.upper(), read.now.date())
    page = await queries.departures(uow=read.uow, wanted=wanted, now=read.now, rules=read.rules)
    if page.after is not None:
        response.headers["Link"] = next_page(request, start, end, given.limit, paging.encode(page.after), given.state)
    handover_ids = [d.handover.id for d in page.departures]
    await audit_read(
        request, caller, "releases.read", "establishment", resource_id=code.upper(), handover_ids=handover_ids
    )
    return [DeparturePublic.of(d) for d in page.departures]
