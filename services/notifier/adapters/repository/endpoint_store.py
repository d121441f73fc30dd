"""Each agency endpoint's state (active, paused, disabled; failing since when), in SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.sql import execute, insert_ignore
from services.notifier.adapters.tables import EndpointState
from services.notifier.domain.states import EndpointStatus
from services.notifier.domain.verdict import EndpointView

_VIEW = select(col(EndpointState.status), col(EndpointState.failing_since), col(EndpointState.reason)).where(
    col(EndpointState.agency_code) == bindparam("code")
)
_RECORD_SUCCESS = (
    update(EndpointState)
    .where(col(EndpointState.agency_code) == bindparam("code"))
    .values(failing_since=None, last_success_at=bindparam("now"))
)


class SqlEndpoints:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def view(self, agency_code: str) -> EndpointView:
        """What a round is judged on (status, failing since, reason): a prebuilt read of columns, not an ORM
        object, as every round reads it."""
        row = (await execute(self._session, _VIEW, {"code": agency_code})).first()
        return (
            EndpointView() if row is None else EndpointView(EndpointStatus(row.status), row.failing_since, row.reason)
        )

    async def all(self) -> dict[str, EndpointState]:
        return {state.agency_code: state for state in (await self._session.exec(select(EndpointState))).all()}

    async def ensure(self, agency_code: str, now: datetime) -> EndpointState:
        """The endpoint's state, created active when the notifier has none yet (read first: it nearly always
        exists, and a round has usually just read it)."""
        state = await self._session.get(EndpointState, agency_code)
        if state is not None:
            return state
        values = {"agency_code": agency_code, "status": EndpointStatus.ACTIVE.value, "changed_at": now}
        await insert_ignore(self._session, EndpointState, values)
        state = await self._session.get(EndpointState, agency_code)
        assert state is not None
        return state

    def save(self, state: EndpointState) -> None:
        self._session.add(state)

    async def record_success(self, agency_code: str, now: datetime) -> bool:
        """End the endpoint's run of failures; False when the notifier has no state for it yet (nothing done).

        One prebuilt statement: a success is recorded after nearly every round, and building the UPDATE each
        time cost more than running it."""
        changed = await execute(self._session, _RECORD_SUCCESS, {"code": agency_code, "now": now})
        return bool(getattr(changed, "rowcount", 0))

    async def record_failure(self, agency_code: str, now: datetime) -> None:
        """Start the endpoint's run of failures (kept when one is already running)."""
        await self._session.exec(
            update(EndpointState)
            .where(col(EndpointState.agency_code) == agency_code, col(EndpointState.failing_since).is_(None))
            .values(failing_since=now)
        )

    async def disable(self, agency_code: str, *, reason: str, now: datetime) -> bool:
        """Disable the endpoint; False when it already was."""
        changed = await self._session.exec(
            update(EndpointState)
            .where(col(EndpointState.agency_code) == agency_code, col(EndpointState.status) != EndpointStatus.DISABLED)
            .values(status=EndpointStatus.DISABLED, reason=reason, changed_at=now)
        )
        return bool(changed.rowcount)

    async def pause_failing(self, agency_code: str, *, reason: str, now: datetime) -> EndpointState | None:
        """Pause an active endpoint in a run of failures; None when it is not (another replica paused it)."""
        changed = await self._session.exec(
            update(EndpointState)
            .where(col(EndpointState.agency_code) == agency_code, col(EndpointState.status) == EndpointStatus.ACTIVE)
            .where(col(EndpointState.failing_since).is_not(None))
            .values(status=EndpointStatus.PAUSED, reason=reason, changed_at=now)
        )
        return await self._session.get(EndpointState, agency_code) if changed.rowcount else None
