"""A rotated-out secret's overlap ends at an instant: both the directory's admin model and the notifier's copy
refuse a time without a timezone, with the same message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from services.handover.domain.directory import PreviousSecret as DirectorySecret
from services.notifier.domain.agencies import PreviousSecret as NotifierSecret


@pytest.mark.parametrize("model", [DirectorySecret, NotifierSecret])
def test_an_overlap_end_needs_a_timezone(model: type[BaseModel]) -> None:
    with pytest.raises(ValidationError, match="until needs a timezone"):
        model.model_validate({"secret_ref": "env:OLD_SECRET", "until": "2026-11-30T12:00:00"})
    kept = model.model_validate({"secret_ref": "env:OLD_SECRET", "until": "2026-11-30T12:00:00Z"})
    assert kept.model_dump()["until"] == datetime(2026, 11, 30, 12, tzinfo=UTC)
