"""The notifier's unit of work: one transaction over its repositories, the outbox, the inbox and the audit trail."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.after_commit import AfterCommitLog
from services.common.unit_of_work import SqlUnitOfWork
from services.notifier.adapters.repository.delivery_store import SqlDeliveries, SqlDeliveryAudit
from services.notifier.adapters.repository.directory_store import SqlDirectoryEntries
from services.notifier.adapters.repository.endpoint_store import SqlEndpoints
from services.notifier.adapters.repository.referral_store import SqlEscalations, SqlHandoverFacts, SqlReferralWatches


class NotifierUnitOfWork(SqlUnitOfWork):
    deliveries: SqlDeliveries
    delivery_audit: SqlDeliveryAudit
    endpoints: SqlEndpoints
    watches: SqlReferralWatches
    escalations: SqlEscalations
    handovers: SqlHandoverFacts
    directory: SqlDirectoryEntries
    said: AfterCommitLog

    def _bind(self, session: AsyncSession) -> None:
        self.deliveries = SqlDeliveries(session)
        self.delivery_audit = SqlDeliveryAudit(session)
        self.endpoints = SqlEndpoints(session)
        self.watches = SqlReferralWatches(session)
        self.escalations = SqlEscalations(session)
        self.handovers = SqlHandoverFacts(session)
        self.directory = SqlDirectoryEntries(session)
        self.said = AfterCommitLog(session)
