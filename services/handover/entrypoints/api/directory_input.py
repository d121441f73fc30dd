"""What the directory admin API accepts, and how it becomes a directory entry.

An operator names a webhook secret by reference (``secret_ref``: ``env:NAME`` or ``file:/path``) or gives the
secret itself (``secret``, write-only): a given secret goes into the secret store and only its reference is kept
and published. The URL is checked against server-side request forgery before anything is stored.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from services.common.problems import Problem
from services.common.ssrf import UnsafeWebhookUrl, check_webhook_url
from services.handover.adapters.secret_store import BadSecret, check_reference, store_secret
from services.handover.domain.directory import AgencyRecord, PreviousSecret, WebhookEndpoint

MAX_OVERLAP_SECONDS = 7 * 24 * 3600


class WebhookInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(min_length=1, max_length=2000)
    secret: SecretStr | None = Field(default=None, description="whsec_...: kept in the secret store, never returned")
    secret_ref: str | None = Field(default=None, max_length=500, description="env:NAME or file:/path")
    previous_secrets: list[PreviousSecret] | None = Field(
        default=None, max_length=10, description="Secrets still signing until their `until` (default: kept)"
    )
    paused: bool = False
    format: Literal["json", "fhir"] = "json"


class AgencyPut(AgencyRecord):
    """An agency as the admin API accepts it (``webhook`` may carry a secret to store)."""

    webhook: WebhookInput | None = None  # type: ignore[assignment]


class SecretRotation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    secret: SecretStr | None = Field(default=None, description="The new whsec_... secret (stored, never returned)")
    secret_ref: str | None = Field(default=None, max_length=500, description="Or where it is: env:NAME, file:/path")
    overlap_seconds: int = Field(
        default=24 * 3600,
        ge=0,
        le=MAX_OVERLAP_SECONDS,
        description="How long the current secret keeps signing next to the new one (0: it stops at once)",
    )


def invalid(field: str, detail: str, kind: str = "validation", title: str = "Invalid request") -> Problem:
    return Problem(
        422, title, detail, kind, errors=[{"field": field, "pointer": "#/" + field.replace(".", "/"), "detail": detail}]
    )


def new_secret_ref(
    *, secret: SecretStr | None, secret_ref: str | None, code: str, store: Path, field: str
) -> str | None:
    """The reference of the secret given (stored first) or named; None when neither is given."""

    def at(leaf: str) -> str:
        return f"{field}.{leaf}" if field else leaf

    if secret is not None and secret_ref is not None:
        raise invalid(at("secret_ref"), "give either secret or secret_ref, not both")
    try:
        if secret is not None:
            return store_secret(store, code, secret.get_secret_value())
        if secret_ref is not None:
            check_reference(secret_ref)
        return secret_ref
    except BadSecret as error:
        raise invalid(at("secret" if secret is not None else "secret_ref"), str(error)) from None


async def checked_url(url: str, field: str) -> str:
    """The URL when the notifier may post to it; otherwise 422 saying why (DNS is resolved off the loop)."""
    try:
        return await asyncio.to_thread(check_webhook_url, url)
    except UnsafeWebhookUrl as error:
        raise invalid(field, str(error), kind="unsafe-webhook-url", title="Webhook URL refused") from None


async def entry_from_put(body: AgencyPut, existing: AgencyRecord | None, store: Path) -> AgencyRecord:
    """The directory entry a PUT asks for. Without ``webhook`` the current endpoint is kept (a routing-only PUT
    never cuts an agency off by omission; ``"webhook": null`` removes it). Without a new secret the current one is
    kept; previous secrets are kept unless given, and dropped when the secret is replaced outright (rotation is
    its own operation)."""
    fields = body.model_dump(exclude={"webhook"})
    given = body.webhook
    if "webhook" not in body.model_fields_set:
        kept = existing.webhook if existing is not None else None
        return AgencyRecord.model_validate({**fields, "webhook": kept.model_dump() if kept else None})
    if given is None:
        return AgencyRecord.model_validate({**fields, "webhook": None})
    url = await checked_url(given.url, "webhook.url")
    for index, old in enumerate(given.previous_secrets or []):
        try:
            check_reference(old.secret_ref)
        except BadSecret as error:
            raise invalid(f"webhook.previous_secrets.{index}.secret_ref", str(error)) from None
    before: WebhookEndpoint | None = existing.webhook if existing else None
    ref = new_secret_ref(secret=given.secret, secret_ref=given.secret_ref, code=body.code, store=store, field="webhook")
    if ref is None:
        if before is None:
            raise invalid("webhook.secret", "a new endpoint needs a secret (or a secret_ref)")
        ref = before.secret_ref
    if given.previous_secrets is not None:
        previous = given.previous_secrets
    else:
        previous = before.previous_secrets if before is not None and before.secret_ref == ref else []
    webhook = WebhookEndpoint(
        url=url, secret_ref=ref, previous_secrets=previous, paused=given.paused, format=given.format
    )
    return AgencyRecord.model_validate({**fields, "webhook": webhook.model_dump()})
