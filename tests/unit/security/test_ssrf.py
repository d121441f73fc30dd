"""Webhook URLs: https to public addresses only, unless a local run allows http and private targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.ssrf import UnsafeWebhookUrl, WebhookTargetPolicy, check_webhook_url

STRICT = WebhookTargetPolicy(allow_http=False, allow_private_targets=False)
LOCAL = WebhookTargetPolicy(allow_http=True, allow_private_targets=True)


def public(_: str) -> list[str]:
    return ["93.184.215.14"]


@pytest.mark.parametrize(
    "url",
    [
        "http://agency.example.org/hooks",  # clear text
        "https://127.0.0.1/hooks",
        "https://[::1]/hooks",
        "https://localhost/hooks",
        "https://api.localhost/x",
        "https://10.1.2.3/x",
        "https://172.16.0.1/x",
        "https://192.168.1.1/x",  # private
        "https://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
        "https://[fe80::1]/x",
        "https://[fd00::1]/x",
        "https://0.0.0.0/x",
        "https://224.0.0.1/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://100.64.0.1/x",
        "https://user:pass@agency.example.org/x",
        "ftp://agency.example.org/x",
        "file:///etc/passwd",
    ],
)
@pytest.mark.hazard("H11")
def test_unsafe_targets_are_refused_by_default(url: str) -> None:
    with pytest.raises(UnsafeWebhookUrl):
        check_webhook_url(url, STRICT, resolve=public)


def test_a_name_that_resolves_to_a_private_address_is_refused() -> None:
    with pytest.raises(UnsafeWebhookUrl, match="10.0.0.7"):
        check_webhook_url("https://intranet.example.org/x", STRICT, resolve=lambda _: ["93.184.215.14", "10.0.0.7"])


def test_https_to_a_public_address_is_accepted() -> None:
    assert check_webhook_url("https://agency.example.org/hooks", STRICT, resolve=public)


@pytest.mark.hazard("H12")
def test_local_runs_may_use_http_on_loopback_when_the_settings_allow_it() -> None:
    assert check_webhook_url("http://127.0.0.1:8009/webhooks/A99001", LOCAL)
    with pytest.raises(UnsafeWebhookUrl):
        check_webhook_url("http://127.0.0.1:8009/webhooks/A99001", WebhookTargetPolicy(allow_http=True))


@pytest.mark.hazard("H12")
def test_the_defaults_are_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TTG_WEBHOOKS_ALLOW_HTTP", raising=False)
    monkeypatch.delenv("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", raising=False)
    policy = WebhookTargetPolicy()
    assert not policy.allow_http and not policy.allow_private_targets


@pytest.mark.hazard("H11")
def test_the_directory_refuses_an_unsafe_webhook_at_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.notifier.adapters.directory_file import load_directory

    monkeypatch.delenv("TTG_WEBHOOKS_ALLOW_HTTP", raising=False)
    monkeypatch.delenv("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", raising=False)
    path = tmp_path / "directory.yaml"
    path.write_text("""agencies:
  - code: EVIL
    kind: gp_practice
    name: Metadata thief
    coverage: {postcode_districts: [DH1]}
    webhook: {url: "https://169.254.169.254/latest/meta-data/", secret_ref: "literal:whsec_x"}
""")
    with pytest.raises(UnsafeWebhookUrl):
        load_directory(path)
    monkeypatch.setenv("TTG_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
    assert load_directory(path).by_code("EVIL") is not None
