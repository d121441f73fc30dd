"""Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``).

During a secret rotation the signature header carries one ``v1,<base64>`` per signing secret, separated by
spaces, as the specification allows; a receiver accepts the message when any of them verifies with its secret.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook


def signed_headers(*, secret: SecretStr | list[SecretStr], webhook_id: str, at: datetime, body: str) -> dict[str, str]:
    secrets = secret if isinstance(secret, list) else [secret]
    if not secrets:
        raise ValueError("at least one signing secret is needed")
    signatures = [Webhook(item.get_secret_value()).sign(webhook_id, at, body) for item in secrets]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
