"""Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``).

During a secret rotation the signature header carries one ``v1,<base64>`` per signing secret, separated by
spaces, as the specification allows; a receiver accepts the message when any of them verifies with its secret.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook as Signer

from services.notifier.domain.agencies import Webhook


def signed_headers(*, secret: SecretStr | list[SecretStr], webhook_id: str, at: datetime, body: str) -> dict[str, str]:
    secrets = secret if isinstance(secret, list) else [secret]
    if not secrets:
        raise ValueError("at least one signing secret is needed")
    signatures = [Signer(item.get_secret_value()).sign(webhook_id, at, body) for item in secrets]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def resolve_secret(secret_ref: str) -> SecretStr:
    scheme, _, value = secret_ref.partition(":")
    if scheme == "env":
        found = os.environ.get(value)
        if not found:
            raise LookupError(f"webhook secret variable {value} is not set")
        return SecretStr(found)
    if scheme == "file":
        try:
            return SecretStr(Path(value).read_text().strip())
        except OSError as error:
            raise LookupError(f"webhook secret file cannot be read ({error.strerror})") from None
    return SecretStr(value)


def current_secret(webhook: Webhook) -> SecretStr:
    return resolve_secret(webhook.secret_ref)


def signing_secrets(webhook: Webhook, now: datetime) -> list[SecretStr]:
    """Every secret that signs at ``now``: the current one first, then those still in their overlap."""
    return [resolve_secret(ref) for ref in webhook.signing_refs(now)]
