"""What changed between two versions of a pack, so that recipients can be told (pure)."""

from __future__ import annotations

from typing import Any

from contracts.handover import Change, HandoverPack

_NESTED = ("release", "gp_practice", "contacts")
_IGNORED = ("distribution_list",)


def pack_changes(before: HandoverPack, after: HandoverPack) -> list[Change]:
    """Changed sections (and fields of the release, GP and contacts sections), before and after, as JSON."""
    return section_changes(before.model_dump(mode="json"), after.model_dump(mode="json"))


def section_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The changes between two sets of sections as JSON (a whole pack, or what one agency receives of it);
    a section that went away is a change to None."""
    changes: list[Change] = []
    for section in old:
        if section not in new and section not in _IGNORED and old[section] is not None:
            changes.append(Change(section=section, before=old[section], after=None))
    for section in new:
        if section in _IGNORED or old.get(section) == new[section]:
            continue
        if section in _NESTED and isinstance(old.get(section), dict) and isinstance(new[section], dict):
            for field, value in new[section].items():
                if old[section].get(field) != value:
                    changes.append(Change(section=f"{section}.{field}", before=old[section].get(field), after=value))
            continue
        changes.append(Change(section=section, before=old.get(section), after=new[section]))
    return changes


def visible_to(changes: list[Change], sections: set[str]) -> list[Change]:
    """The changes of the sections an agency receives (it is never told about others)."""
    return [change for change in changes if change.section.split(".")[0] in sections]
