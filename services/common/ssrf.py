"""Webhook targets checked against server-side request forgery (SSRF).

A directory entry decides where the notifier sends clinical data, so a wrong or malicious URL could make it
post packs to an internal service (a metadata endpoint, a database admin page) or in clear text. Every
webhook URL must therefore be ``https`` and resolve only to public addresses: not private, loopback,
link-local (cloud metadata lives at 169.254.169.254), multicast, reserved or unspecified, and not carry
credentials in the URL. Local runs and tests deliver to receivers on ``http://127.0.0.1``, so two settings
(``TTG_WEBHOOKS_ALLOW_HTTP``, ``TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS``) relax the check; both are off unless
set, and ``ttg up`` and the test stack set them.

Names are resolved when the directory is loaded; redirects are never followed by the dispatcher, so a target
cannot bounce a delivery elsewhere. A name whose DNS later changes to a private address (rebinding) is a
residual risk recorded in the hazard log: egress filtering at the network edge is the control for it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Resolver = Callable[[str], list[str]]


class WebhookTargetPolicy(BaseSettings):
    """Which webhook targets are acceptable, from ``TTG_WEBHOOKS_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="TTG_WEBHOOKS_", extra="ignore")

    allow_http: bool = Field(False, description="Accept http:// webhook URLs (local runs and tests only)")
    allow_private_targets: bool = Field(
        False, description="Accept private, loopback and link-local targets (local runs and tests only)"
    )


class UnsafeWebhookUrl(ValueError):
    """A webhook URL that the notifier must not call."""


def _resolve(host: str) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
    except socket.gaierror as error:
        raise UnsafeWebhookUrl(f"webhook host {host!r} does not resolve") from error


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _is_public(address.ipv4_mapped)
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def check_webhook_url(url: str, policy: WebhookTargetPolicy | None = None, resolve: Resolver = _resolve) -> str:
    """``url`` when the notifier may post to it; otherwise :class:`UnsafeWebhookUrl` saying why."""
    policy = policy or WebhookTargetPolicy()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise UnsafeWebhookUrl(f"webhook URL scheme {parts.scheme!r} is not allowed: use https")
    if parts.scheme == "http" and not policy.allow_http:
        raise UnsafeWebhookUrl("webhook URL must use https (http only with TTG_WEBHOOKS_ALLOW_HTTP in local runs)")
    if parts.username or parts.password:
        raise UnsafeWebhookUrl("webhook URL must not carry credentials")
    host = parts.hostname
    if not host:
        raise UnsafeWebhookUrl("webhook URL has no host")
    if policy.allow_private_targets:
        return url
    if host.rstrip(".").lower() == "localhost" or host.rstrip(".").lower().endswith(".localhost"):
        raise UnsafeWebhookUrl(f"webhook host {host!r} is the local machine")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = [ipaddress.ip_address(found.split("%")[0]) for found in resolve(host)]
    unsafe = [str(address) for address in addresses if not _is_public(address)]
    if unsafe or not addresses:
        raise UnsafeWebhookUrl(
            f"webhook host {host!r} resolves to a private, loopback, link-local or reserved address: "
            f"{', '.join(unsafe) or 'none'}"
        )
    return url
