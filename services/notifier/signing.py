"""Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook


def signed_headers(*, secret: SecretStr, webhook_id: str, at: datetime, body: str) -> dict[str, str]:
    signature = Webhook(secret.get_secret_value()).sign(webhook_id, at, body)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
