"""The directory's secret store: where a webhook secret given to the admin API (or as ``literal:`` in a seed
file) is kept, so that only its reference (``file:/path``) is stored in the directory and published.

One file per secret, mode 0600 in a folder of mode 0700, written atomically (temporary file, then rename).
The notifier reads the file when it signs; handover never reads it back, and no API returns it. The folder
must be one the notifier can read (the same machine in the embedded set-up; a shared volume otherwise).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import uuid
from pathlib import Path

PREFIX = "whsec_"


class BadSecret(ValueError):
    """A secret or secret reference the directory does not accept; the message says why (never the secret)."""


def check_secret(secret: str) -> None:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 24 to 64 random bytes."""
    if not secret.startswith(PREFIX):
        raise BadSecret("a webhook secret starts with whsec_ followed by base64 (Standard Webhooks)")
    try:
        raw = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadSecret("the part of the secret after whsec_ is not base64") from error
    if not 24 <= len(raw) <= 64:
        raise BadSecret("a webhook secret holds 24 to 64 random bytes")


def check_reference(secret_ref: str) -> None:
    """References the admin API accepts: ``env:NAME`` (the notifier's environment) or ``file:/absolute/path``.
    A ``literal:`` reference would put the secret itself on the topic, so it is refused: send ``secret``."""
    scheme, _, value = secret_ref.partition(":")
    if scheme == "env" and value.replace("_", "").isalnum() and value.upper() == value:
        return
    if scheme == "file" and Path(value).is_absolute() and ".." not in Path(value).parts:
        return
    if scheme == "literal":
        raise BadSecret("literal: references are not accepted here; send the secret in `secret` instead")
    raise BadSecret("a secret reference is env:NAME (upper case) or file:/absolute/path")


def store_secret(root: Path, agency_code: str, secret: str) -> str:
    """Keep ``secret`` in the store; returns its reference ``file:/absolute/path``."""
    check_secret(secret)
    if not re.fullmatch(r"[A-Za-z0-9-]{1,20}", agency_code):
        raise BadSecret("not an agency code")
    folder = root.resolve()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / f"{agency_code}-{uuid.uuid4().hex}.secret"
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    return f"file:{path}"
