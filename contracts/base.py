"""The two kinds of contract model: what every event carries, and what a client may send in a request body.

Contracts are tolerant readers: a consumer keeps working when a producer adds an optional field, so unknown
fields are ignored when an event is read. A request body is different: a misspelt optional field
(``concent_to_share``) must not vanish silently from a clinical record, so the APIs refuse every field a
request contract does not define, at any depth. The same models are embedded in events (an accepted notice
travels inside ``release.notice.submitted``), which is why the refusal is a check the API makes
(:meth:`RequestModel.unknown_fields`) rather than ``extra="forbid"`` on the class: that would make every
consumer of those events refuse a newer producer's fields.
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict

Location = tuple[str | int, ...]


class ContractModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RequestModel(ContractModel):
    """A contract a client sends in a request body: the API refuses the fields it does not define."""

    @classmethod
    def unknown_fields(cls, data: Any) -> list[Location]:
        return unknown_fields(cls, data)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    origin = get_origin(annotation)
    if origin is None:
        return [annotation] if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []
    if origin in (Union, types.UnionType, list, tuple, set, frozenset) or str(origin).endswith("Annotated"):
        return [model for arg in get_args(annotation) for model in _models_in(arg)]
    return []


def unknown_fields(model: type[BaseModel], data: Any, location: Location = ()) -> list[Location]:
    """Locations of keys in ``data`` that ``model`` (recursively) does not define."""
    if not isinstance(data, dict):
        return []
    found: list[Location] = []
    by_name = {field.alias or name: field for name, field in model.model_fields.items()}
    for key, value in data.items():
        field = by_name.get(key)
        if field is None:
            found.append((*location, key))
            continue
        for inner in _models_in(field.annotation):
            items = enumerate(value) if isinstance(value, list) else [(None, value)]
            for index, item in items:
                where = (*location, key) if index is None else (*location, key, index)
                found.extend(unknown_fields(inner, item, where))
    return found
