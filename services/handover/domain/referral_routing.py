"""Which agency takes which part of a release, and why (design notes §3). Pure.

The area of a release is the destination postcode district; with no fixed abode, the local authority of the
last address; failing that, the local authority of the establishment (from its prison-healthcare entry).
Candidates of the right kind are those covering the postcode district, else the local authority, that take
the person's age and the referral kind; they are asked in priority order, and a rejection moves on to
the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from contracts.handover import AgencyKind, ReferralKind
from contracts.release_notice import ReleaseNoticeV1
from services.handover.domain.directory import AgencyRecord

# Whom to ask for each referral kind, in order of preference.
PREFERRED_KINDS: dict[ReferralKind, tuple[AgencyKind, ...]] = {
    ReferralKind.GP_REGISTRATION: (AgencyKind.GP_PRACTICE,),
    ReferralKind.MENTAL_HEALTH: (AgencyKind.COMMUNITY_MENTAL_HEALTH_TEAM, AgencyKind.RECONNECT),
    ReferralKind.SUBSTANCE_MISUSE: (AgencyKind.SUBSTANCE_MISUSE_SERVICE,),
    ReferralKind.REPORTING_INSTRUCTIONS: (AgencyKind.PROBATION_DELIVERY_UNIT,),
}


@dataclass(frozen=True)
class Area:
    postcode_district: str | None
    local_authority: str | None
    described: str


@dataclass(frozen=True)
class Candidate:
    agency: AgencyRecord
    reason: str


@dataclass(frozen=True)
class Routed:
    kind: ReferralKind
    agency: AgencyRecord
    reason: str


@dataclass(frozen=True)
class Unrouted:
    kind: ReferralKind
    detail: str
    code: Literal["no_agency_covers", "registered_gp_unreachable"] = "no_agency_covers"


@dataclass(frozen=True)
class RoutingPlan:
    area: Area
    routed: tuple[Routed, ...]
    unrouted: tuple[Unrouted, ...]

    def agency_for(self, kind: ReferralKind) -> Routed | None:
        return next((item for item in self.routed if item.kind == kind), None)


def postcode_district(postcode: str) -> str:
    return postcode.strip().upper().split(" ")[0]


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def prison_healthcare_of(establishment_code: str, directory: Iterable[AgencyRecord]) -> AgencyRecord | None:
    return next(
        (
            agency
            for agency in sorted(directory, key=lambda a: (a.priority, a.code))
            if agency.active
            and agency.kind == AgencyKind.PRISON_HEALTHCARE
            and establishment_code in agency.establishments
        ),
        None,
    )


def area_of(notice: ReleaseNoticeV1, directory: Sequence[AgencyRecord], establishment_code: str | None = None) -> Area:
    destination = notice.release.destination
    if destination.address is not None:
        district = postcode_district(destination.address.postcode)
        return Area(district, destination.address.local_authority, f"destination postcode district {district}")
    if destination.last_known_local_authority:
        last = destination.last_known_local_authority
        return Area(None, last, f"no fixed abode: local authority of last address ({last})")
    establishment = establishment_code or notice.establishment_code
    prison = prison_healthcare_of(establishment, directory)
    authority = prison.coverage.local_authorities[0] if prison and prison.coverage.local_authorities else None
    where = authority or "unknown: the establishment has no area in the directory"
    return Area(None, authority, f"no fixed abode, no last address: area of establishment {establishment} ({where})")


def candidates(
    kind: ReferralKind,
    area: Area,
    directory: Sequence[AgencyRecord],
    *,
    age: int,
    exclude: Iterable[str] = (),
) -> list[Candidate]:
    """Eligible agencies for ``kind`` in ``area``, best first, each with why it qualifies."""
    skipped = set(exclude)
    found: list[Candidate] = []
    for rank, agency_kind in enumerate(PREFERRED_KINDS[kind]):
        pool = sorted(
            (
                agency
                for agency in directory
                if agency.active
                and agency.kind == agency_kind
                and agency.code not in skipped
                and agency.accepts(kind)
                and agency.takes_age(age)
            ),
            key=lambda a: (a.priority, a.code),
        )
        by_district = [a for a in pool if a.covers_district(area.postcode_district)]
        by_authority = [a for a in pool if a not in by_district and a.covers_authority(area.local_authority)]
        fallback = " (no team of the preferred kind covers it)" if rank else ""
        found += [
            Candidate(a, f"{agency_kind.label} covering postcode district {area.postcode_district}{fallback}")
            for a in by_district
        ]
        found += [
            Candidate(
                a,
                f"{agency_kind.label} covering local authority {area.local_authority}{fallback}; "
                f"area from {area.described}",
            )
            for a in by_authority
        ]
    return found


def needed_referrals(notice: ReleaseNoticeV1) -> list[ReferralKind]:
    """The referrals a release needs: GP always; mental health and substance misuse when consented;
    reporting instructions unless the release is from remand (no probation supervision)."""
    kinds = [ReferralKind.GP_REGISTRATION]
    if notice.mental_health is not None and notice.mental_health.consent_to_share:
        kinds.append(ReferralKind.MENTAL_HEALTH)
    if notice.substance_misuse is not None and notice.substance_misuse.consent_to_refer:
        kinds.append(ReferralKind.SUBSTANCE_MISUSE)
    if notice.release.type != "remand":
        kinds.append(ReferralKind.REPORTING_INSTRUCTIONS)
    return kinds


def route(
    notice: ReleaseNoticeV1, directory: Sequence[AgencyRecord], *, establishment_code: str | None = None
) -> RoutingPlan:
    area = area_of(notice, directory, establishment_code)
    age = age_on(notice.date_of_birth, notice.release.date)
    routed: list[Routed] = []
    unrouted: list[Unrouted] = []
    for kind in needed_referrals(notice):
        if kind == ReferralKind.GP_REGISTRATION and notice.registered_gp is not None:
            practice = next(
                (
                    a
                    for a in directory
                    if a.active and a.code == notice.registered_gp.ods_code and a.kind == AgencyKind.GP_PRACTICE
                ),
                None,
            )
            if practice is None:
                unrouted.append(
                    Unrouted(
                        kind,
                        f"registered practice {notice.registered_gp.ods_code} is not in the directory of services",
                        "registered_gp_unreachable",
                    )
                )
            else:
                routed.append(Routed(kind, practice, f"registered practice of the person ({practice.code})"))
            continue
        found = candidates(kind, area, directory, age=age)
        if found:
            first = found[0]
            reason = first.reason if kind != ReferralKind.GP_REGISTRATION else f"registration request: {first.reason}"
            routed.append(Routed(kind, first.agency, reason))
        else:
            unrouted.append(Unrouted(kind, f"no eligible agency for {kind.value} in {area.described}"))
    return RoutingPlan(area=area, routed=tuple(routed), unrouted=tuple(unrouted))


def next_candidate(
    kind: ReferralKind, area: Area, directory: Sequence[AgencyRecord], *, age: int, tried: Iterable[str]
) -> Candidate | None:
    """The next eligible agency after a rejection, skipping every agency already asked."""
    found = candidates(kind, area, directory, age=age, exclude=tried)
    return found[0] if found else None


def moved_out_of_area(current: AgencyRecord | None, area: Area, fresh: Routed | None) -> bool:
    """After the release address changed: the agency of a live referral no longer covers the new area and
    routing now names another agency (a registered practice, chosen by the person, stays where it is)."""
    if fresh is None or current is None or fresh.agency.code == current.code:
        return False
    return not (current.covers_district(area.postcode_district) or current.covers_authority(area.local_authority))
