"""Unknown-field refusal for request bodies, as one problem document: contracts are tolerant readers, the HTTP
APIs are not (see :mod:`contracts.base`).

A route calls :func:`refuse_unknown_fields` with the raw body it parsed and the model it validated it as;
every field the model does not define is named, each with a JSON pointer into the body.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from contracts.base import Location, unknown_fields
from services.common.problems import Problem

__all__ = ["Location", "refuse_unknown_fields", "unknown_fields"]


def refuse_unknown_fields(model: type[BaseModel], body: Any, what: str) -> None:
    """Raise a 422 problem naming every field of ``body`` that ``model`` does not define; ``what`` names the
    request in the detail (``the notice``, ``an agency's directory entry``)."""
    unknown = unknown_fields(model, body)
    if not unknown:
        return
    errors = [
        {"field": ".".join(map(str, loc)), "pointer": "#/" + "/".join(map(str, loc)), "detail": "unknown field"}
        for loc in unknown
    ]
    names = ", ".join(error["field"] for error in errors)
    raise Problem(422, "Invalid request", f"These fields are not part of {what}: {names}.", "validation", errors=errors)
