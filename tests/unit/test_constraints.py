"""Parameter constraints: each kind with valid and invalid values, proposals, probes."""

from __future__ import annotations

import pytest

from reifier.core import constraints as c
from reifier.core.approval import ApprovalState, against_history
from reifier.core.visible import hidden_code_cells
from reifier.errors import BadInput, Refused

SPECS = {
    "DIR": {"path": {"under": ["/srv/app/"]}},
    "ACTION": {"enum": ["plan", "apply"]},
    "NAME": {"pattern": "[a-z0-9-]{1,20}"},
    "PORT": {"int": {"min": 1, "max": 65535}},
    "HOST": {"host": {"in": ["db-1", "db-2.example.com", "10.0.0.7"]}},
    "ANYHOST": {"host": {}},
    "INV": {"host": {"inventory": "hosts.ini"}},
}
VALID = [("DIR", "/srv/app/cache"), ("DIR", "/srv/app/a/b/"), ("ACTION", "plan"),
         ("NAME", "web-0"), ("PORT", "8080"), ("PORT", "1"), ("HOST", "10.0.0.7"),
         ("ANYHOST", "db-9.internal"), ("ANYHOST", "::1"), ("INV", "db-7")]
INVALID = [("DIR", "/etc"), ("DIR", "/srv/app"), ("DIR", "/srv/app/../../etc"),
           ("DIR", "/srv/application"), ("DIR", "srv/app/x"), ("DIR", "/srv/app/*"),
           ("DIR", "/srv/app/x\n/etc"), ("ACTION", "destroy"), ("ACTION", "Plan"),
           ("NAME", "web 0"), ("NAME", "x" * 21), ("NAME", "a;rm"), ("PORT", "0"),
           ("PORT", "65536"), ("PORT", "80x"), ("PORT", ""), ("HOST", "db-3"),
           ("ANYHOST", "db_1;reboot"), ("ANYHOST", "-oProxyCommand=x"), ("INV", "db-8")]


def hosts_of(path: str) -> frozenset[str]:
    return frozenset({"db-7"}) if path == "hosts.ini" else frozenset()


@pytest.mark.parametrize(("name", "value"), VALID)
def test_valid_values_are_admitted(name: str, value: str) -> None:
    c.check_values(c.parse(SPECS), {name: value}, hosts_of)


@pytest.mark.parametrize(("name", "value"), INVALID)
def test_invalid_values_are_refused_naming_parameter_and_value(name: str, value: str) -> None:
    with pytest.raises(Refused, match=f"parameter {name}="):
        c.check_values(c.parse(SPECS), {name: value}, hosts_of)


def test_an_inventory_that_cannot_be_read_admits_nothing() -> None:
    with pytest.raises(Refused, match=r"inventory hosts\.ini is not available"):
        c.check_values(c.parse(SPECS), {"INV": "db-7"}, None)


@pytest.mark.parametrize("spec", [
    "x", {"path": {}}, {"path": {"under": "/"}}, {"path": {"under": "rel/"}},
    {"enum": []}, {"pattern": "("}, {"int": {"min": "1"}}, {"host": {"in": "db"}},
    {"enum": ["a"], "pattern": "a"}, {"color": "red"}])
def test_malformed_constraints_are_bad_input(spec: object) -> None:
    with pytest.raises(BadInput, match="parameter X"):
        c.parse({"X": spec})


def test_candidates_are_hostile_probes_filtered_by_the_constraint() -> None:
    assert "destroy" in c.candidates(None) and "/" in c.candidates(None)
    assert c.candidates(c.parse(SPECS)["ACTION"]) == ("plan", "apply")
    assert c.candidates(c.parse(SPECS)["DIR"]) == ("/srv/app/x",)
    assert "/" not in c.candidates(c.parse(SPECS)["NAME"])  # the pattern refuses it
    assert "destroy" in c.candidates(c.parse(SPECS)["NAME"])  # ...but not this one


@pytest.mark.parametrize(("name", "value", "expect"), [
    ("CONF_FILE", "/srv/app/inventory.conf", {"path": {"under": ["/srv/app/"]}}),
    ("LOG_DIR", "/var/log", {"enum": ["/var/log"]}),  # under /var would be far too broad
    ("PORT", "8080", {"int": {"min": 1, "max": 65535}}),
    ("HOST", "db-3", {"host": {"in": ["db-3"]}}),
])
def test_drafts_propose_constraints_the_value_satisfies(
        name: str, value: str, expect: dict[str, object]) -> None:
    proposed = c.propose(name, value)
    assert proposed == expect
    c.check_values(c.parse({name: proposed}), {name: value})


def test_an_older_or_revoked_approval_is_refused_even_with_a_valid_signature() -> None:
    ok = ApprovalState("approved")
    v1 = {"signature": "hmac-sha256:v1", "at": "2026-12-01T10:00:00Z", "by": "bob"}
    assert against_history(ok, v1, None).ok  # nothing recorded
    assert against_history(ok, v1, ("approve", "hmac-sha256:v1", "bob", "t")).ok
    newer = against_history(ok, v1, ("approve", "hmac-sha256:v2", "carol", "2026-12-02"))
    assert newer.status == "superseded" and "carol" in newer.reason
    revoked = against_history(ok, v1, ("revoke", "", "dave", "2026-12-03"))
    assert revoked.status == "revoked" and "dave" in revoked.reason


def test_fences_inside_html_comments_are_hidden_code() -> None:
    md = "# T\n\n```bash\necho shown\n```\n\n<!--\n```bash\nrm -rf /srv/app\n```\n-->\n"
    assert hidden_code_cells(md, ["echo shown", "rm -rf /srv/app"]) == [2]
    assert hidden_code_cells(md, ["echo shown"]) == []
    assert hidden_code_cells(md, ["echo shown", "echo shown"]) == [2]  # counted, not set


def test_defaults_read_from_the_environment_are_not_judged_as_text() -> None:
    from reifier.core import approval as ap
    from tests.unit.test_approval import cell, runbook

    nb = runbook(cell("code", 'DB_PASSWORD="${DB_PASSWORD:-}"\nDB=main', "parameters"),
                 cell("code", 'psql -d "$DB" -c "SELECT 1" --password="$DB_PASSWORD"'),
                 parameters={"DB": {"enum": ["main"]}})
    assert ap.literal_defaults(nb) == {"DB": "main"}
    assert ap.parameter_defaults(nb)["DB_PASSWORD"] == "${DB_PASSWORD:-}"
    assert ap.guard_refusals(nb, {}) == []
    # still a parameter: -p can set it, so approval probes it too
    nb2 = runbook(cell("code", 'DIR="${DIR:-/tmp/x}"', "parameters"),
                  cell("code", 'rm -rf -- "${DIR:?}"'))
    [refusal] = ap.guard_refusals(nb2, {})
    assert "parameter DIR has no constraint" in refusal.reason
