"""The seed files of the directory of services (``deploy/directory/*.yaml``): read with ``${VAR:-default}``
expansion, checked (unique codes, safe webhook URLs), and their ``literal:`` secrets moved into the secret store
so that only references are ever stored or published."""

from __future__ import annotations

from pathlib import Path

from services.common.directory_files import read_agency_entries, refuse_repeated_codes
from services.common.ssrf import check_webhook_url
from services.handover.adapters.secret_store import store_secret
from services.handover.domain.directory import AgencyRecord, PreviousSecret


def read_directory_files(path: Path) -> list[AgencyRecord]:
    agencies = [AgencyRecord.model_validate(item) for item in read_agency_entries(path)]
    refuse_repeated_codes(agency.code for agency in agencies)
    for agency in agencies:
        if agency.webhook is not None:
            check_webhook_url(agency.webhook.url)  # SSRF: the same rule as the admin API's
    return agencies


def _stored_ref(ref: str, code: str, store: Path) -> str:
    scheme, _, value = ref.partition(":")
    return store_secret(store, code, value) if scheme == "literal" else ref


def without_literals(agency: AgencyRecord, store: Path) -> AgencyRecord:
    """The agency with every ``literal:`` secret moved into the secret store (seed files only carry them)."""
    webhook = agency.webhook
    if webhook is None:
        return agency
    moved = webhook.model_copy(
        update={
            "secret_ref": _stored_ref(webhook.secret_ref, agency.code, store),
            "previous_secrets": [
                PreviousSecret(secret_ref=_stored_ref(old.secret_ref, agency.code, store), until=old.until)
                for old in webhook.previous_secrets
            ],
        }
    )
    return agency.model_copy(update={"webhook": moved})
