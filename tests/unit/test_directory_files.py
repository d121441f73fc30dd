"""The directory's YAML form as handover and the notifier both read it: variables, folders, repeated codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.directory_files import expand_variables, read_agency_entries, refuse_repeated_codes


def test_variables_take_the_environment_or_their_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTG_TEST_RECEIVER", "https://receiver.example.org")
    monkeypatch.delenv("TTG_TEST_UNSET", raising=False)
    text = "${TTG_TEST_RECEIVER}/a ${TTG_TEST_UNSET:-https://fallback.example.org}/b ${TTG_TEST_UNSET:-}"
    assert expand_variables(text) == "https://receiver.example.org/a https://fallback.example.org/b "


def test_a_variable_without_value_or_default_stops_the_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TTG_TEST_UNSET", raising=False)
    with pytest.raises(LookupError, match="TTG_TEST_UNSET"):
        expand_variables("url: ${TTG_TEST_UNSET}/webhooks")


def test_a_folder_is_read_file_by_file_in_name_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTG_TEST_HOST", "hooks.example.org")
    (tmp_path / "b.yaml").write_text("agencies:\n  - {code: B1, url: 'https://${TTG_TEST_HOST}/b'}\n")
    (tmp_path / "a.yaml").write_text("agencies:\n  - {code: A1}\n  - {code: A2}\n")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "notes.txt").write_text("agencies:\n  - {code: X9}\n")
    entries = read_agency_entries(tmp_path)
    assert [entry["code"] for entry in entries] == ["A1", "A2", "B1"]
    assert entries[2]["url"] == "https://hooks.example.org/b"
    assert read_agency_entries(tmp_path / "a.yaml") == [{"code": "A1"}, {"code": "A2"}]


def test_a_code_given_twice_is_refused_and_named() -> None:
    refuse_repeated_codes(["A1", "B1"])
    with pytest.raises(ValueError, match="more than once in the directory: A1, C1$"):
        refuse_repeated_codes(["C1", "A1", "B1", "A1", "C1"])
