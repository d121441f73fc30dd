"""Unknown-field detection for request bodies: contracts are tolerant readers, the HTTP APIs are not.

A misspelt optional field (``concent_to_share``) must not disappear silently from a clinical record, so the
APIs reject fields the contract does not define, naming each one.
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    origin = get_origin(annotation)
    if origin is None:
        return [annotation] if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []
    if origin in (Union, types.UnionType, list, tuple, set, frozenset) or str(origin).endswith("Annotated"):
        return [model for arg in get_args(annotation) for model in _models_in(arg)]
    return []


Location = tuple[str | int, ...]


def unknown_fields(model: type[BaseModel], data: Any, location: Location = ()) -> list[Location]:
    """Locations of keys in ``data`` that ``model`` (recursively) does not define."""
    if not isinstance(data, dict):
        return []
    found: list[Location] = []
    fields = model.model_fields
    by_name = {field.alias or name: field for name, field in fields.items()}
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
