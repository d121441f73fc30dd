"""The directory's agency form: an edit keeps what the form does not show, a new endpoint needs its secret, and
the admin API's refusals land on the field that holds them."""

from __future__ import annotations

from services.console.domain.agency_form import agency_from_form, errors_from_problem, values_of

EXISTING = {
    "code": "A99001",
    "name": "Durham GP",
    "kind": "gp_practice",
    "priority": 3,
    "revision": 7,
    "coverage": {"postcode_districts": ["DH1"], "local_authorities": []},
    "webhook": {"url": "https://gp.example.org/hook", "paused": True},
}


def test_an_edit_keeps_what_the_form_does_not_show_and_the_endpoint_stays_paused() -> None:
    form = {**values_of(EXISTING), "name": "Durham Practice", "districts": "dh1, dh2"}
    body, errors = agency_from_form(form, EXISTING)
    assert errors == {} and body is not None
    assert (body["name"], body["priority"], body["coverage"]["postcode_districts"]) == (
        "Durham Practice",
        3,
        ["DH1", "DH2"],
    )
    assert body["webhook"] == {"url": "https://gp.example.org/hook", "paused": True} and "revision" not in body


def test_a_new_endpoint_needs_its_secret_and_a_bad_code_is_named() -> None:
    form = {"code": "bad code!", "name": "New", "kind": "reconnect", "url": "https://new.example.org/hook"}
    body, errors = agency_from_form(form, None)
    assert body is None and set(errors) == {"code", "secret"}


def test_the_admin_apis_refusals_land_on_their_fields() -> None:
    problem = {"errors": [{"pointer": "#/webhook/url", "detail": "resolves to a private address"}]}
    assert errors_from_problem(problem) == {"url": "This web address was refused: resolves to a private address"}
    assert errors_from_problem({"detail": "Conflict"}) == {"code": "Conflict"}
