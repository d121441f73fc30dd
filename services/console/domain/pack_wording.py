"""The sections of a handover pack as a person at an agency reads them: named as people write them ("GP practice",
"NHS number"), addresses on one line, an agency as its name and code, each medicine on a line of its own with its
supply and next dose, dates and times in UK words. The pack's field names and codes are for machines; a GP
receptionist or a crisis-team nurse should never have to decode "registration_requested_from: code: A99001, kind:
gp_practice".

Nothing is dropped: a field this module does not know is still shown, under its humanised name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from contracts.handover import AgencyKind
from services.console.domain.uk_time import uk_date, uk_date_time

# Words that keep their capitals (or their form) when a field name becomes words.
_WORDS = {
    "gp": "GP",
    "nhs": "NHS",
    "ods": "ODS",
    "reconnect": "RECONNECT",
    "117": "117",
}
_TITLES = {
    "release": "Release",
    "gp_practice": "GP practice",
    "allergies_and_adverse_reactions": "Allergies and adverse reactions",
    "medications": "Medicines",
    "mental_health_summary": "Mental health summary",
    "reporting_instructions": "Reporting instructions",
    "person_completing_record": "Person completing the record",
}
_LABELS = {
    "date": "Date",
    "type": "Type of release",
    "establishment_code": "Prison",
    "registration_needed": "Registration needed",
    "care_programme_approach": "Care programme approach (CPA)",
    "section_117_aftercare": "Section 117 aftercare",
    "mental_health_act_status": "Mental Health Act status",
    "report_at": "Report at",
    "referral": "Referral",
    "withheld_reason": "Why not referred",
}
_MHA_STATUS = {
    "not_detained": "Not detained",
    "community_treatment_order": "Community treatment order",
    "conditional_discharge": "Conditional discharge",
    "guardianship": "Guardianship",
}
REFERRAL_KIND_TITLES = {
    "gp_registration": "GP registration",
    "mental_health": "Mental health referral",
    "substance_misuse": "Substance misuse referral",
    "reporting_instructions": "Reporting instructions",
    "notification": "Notification",
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@dataclass(frozen=True)
class Row:
    """One line of a section: what it is and what it says."""

    label: str
    text: str


def words(name: str) -> str:
    """A field or code name as words, first letter capitalised: ``nhs_number`` is "NHS number"."""
    parts = [_WORDS.get(part, part) for part in name.replace(".", "_").split("_") if part]
    if not parts:
        return ""
    first = parts[0] if parts[0] in _WORDS.values() else parts[0].capitalize()
    return " ".join([first, *parts[1:]])


def phrase(name: str) -> str:
    """A field name as words inside a sentence: ``release.date`` is "release date", ``gp_practice`` "GP practice"."""
    return " ".join(_WORDS.get(part, part) for part in name.replace(".", "_").split("_") if part)


def sentence(text: str) -> str:
    """Text with its first letter capitalised and the rest as it is ("DH1" stays "DH1", unlike ``capitalize``)."""
    return text[:1].upper() + text[1:]


def section_title(name: str) -> str:
    return _TITLES.get(name) or words(name)


def field_label(name: str) -> str:
    return _LABELS.get(name) or words(name)


def section_rows(name: str, section: Any) -> list[Row]:
    """A pack section as rows; a list section (medicines, allergies, alerts) has one row per entry."""
    if name == "medications" and isinstance(section, list):
        return [medicine_row(item) for item in section]
    if name == "allergies_and_adverse_reactions" and isinstance(section, list):
        return [Row(str(a.get("substance")), str(a.get("reaction") or "Reaction not recorded")) for a in section]
    if name == "safety_alerts" and isinstance(section, list):
        return [Row(words(str(a.get("section", ""))) or "Alert", str(a.get("detail", ""))) for a in section]
    if isinstance(section, dict):
        return [Row(field_label(key), value_text(key, item)) for key, item in section.items() if _shown(item)]
    return [Row(section_title(name), value_text(name, section))]


def section_items(name: str, section: Any) -> list[str] | None:
    """A section that is only a list of codes or words (risk flags) or a single value, as lines to show under its
    heading; None for a section of fields or records (shown by :func:`section_rows`). As a row, such a section
    would only repeat its heading ("Risk flags" / "Risk flags: Self harm")."""
    if isinstance(section, list) and all(not isinstance(item, (dict, list)) for item in section):
        return [value_text(name, item) for item in section]
    if not isinstance(section, (dict, list)):
        return [value_text(name, section)]
    return None


def value_text(key: str, value: Any) -> str:
    """One value as words; records people know (an address, an agency, a contact) in their usual form."""
    if isinstance(value, dict):
        return _record(value)
    if isinstance(value, list):
        return "; ".join(value_text(key, item) for item in value) or "None"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None:
        return ""
    text = str(value)
    if key == "mental_health_act_status":
        return _MHA_STATUS.get(text) or _section_number(text)
    if _ISO_DATE.match(text):
        return uk_date(text)
    if _ISO_INSTANT.match(text):
        return uk_date_time(text)
    if key in ("kind", "agency_kind") and text in {kind.value for kind in AgencyKind}:
        return AgencyKind(text).label
    if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+|[a-z]+", text) and key not in ("email", "phone", "name"):
        return words(text)  # a code such as "self_harm" or "urgent"
    return text


def _shown(value: Any) -> bool:
    return value not in (None, [], "", {})


def _record(value: dict[str, Any]) -> str:
    if "postcode" in value and "lines" in value:
        return ", ".join([*value["lines"], value.get("town", ""), value["postcode"]])
    if value.get("kind") == "no_fixed_abode":
        last = value.get("last_known_local_authority")
        return "No fixed abode" + (f" (last known local authority: {last})" if last else "")
    if value.get("kind") == "address" and isinstance(value.get("address"), dict):
        return _record(value["address"])
    if {"code", "kind", "name"} <= value.keys():
        return f"{value['name']} ({value['code']}), {value_text('kind', value['kind'])}"
    if "ods_code" in value:
        return f"{value.get('practice_name') or 'Practice'} ({value['ods_code']})"
    if "phone" in value and "name" in value:
        parts = [value["name"], value.get("role") or value.get("organisation"), value["phone"], value.get("email")]
        return ", ".join(str(part) for part in parts if part)
    return "; ".join(f"{field_label(k)}: {value_text(k, v)}" for k, v in value.items() if _shown(v))


def medicine_row(item: dict[str, Any]) -> Row:
    """A medicine as a prescriber reads it, with what matters on release day: supply given, next dose."""
    how = ", ".join(str(item[k]) for k in ("dose", "frequency", "route") if item.get(k))
    facts = [how]
    if item.get("indication"):
        facts.append(f"for {item['indication']}")
    days = int(item.get("supply_days_given", 0))
    facts.append(f"{days} day's supply given" if days == 1 else f"{days} days' supply given")
    if item.get("last_dose_given"):
        facts.append(f"last dose {uk_date_time(item['last_dose_given'])}")
    if item.get("next_dose_due"):
        facts.append(f"next dose due {uk_date_time(item['next_dose_due'])}")
    if item.get("depot") and item.get("next_injection_due"):
        facts.append(f"depot injection, next due {uk_date(item['next_injection_due'])}")
    facts += [
        label
        for flag, label in (
            ("controlled_drug", "controlled drug"),
            ("opioid_substitution", "opioid substitution treatment"),
        )
        if item.get(flag)
    ]
    return Row(f"{item.get('name', 'Medicine')} {item.get('strength', '')}".strip(), "; ".join(facts))


def _section_number(status: str) -> str:
    """``section_37_41`` is "Section 37/41", ``section_45a`` "Section 45A"."""
    numbers = status.removeprefix("section_").split("_")
    return "Section " + "/".join(number.upper() for number in numbers)
