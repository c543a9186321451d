"""Parameter lifting: what becomes a papermill parameter, and what never does."""

from __future__ import annotations

import pytest

from reifier.core.classify import simple_commands
from reifier.core.lift import LIFT_RULES, LiftRule, lift


@pytest.mark.parametrize("rule", LIFT_RULES, ids=lambda r: r.name)
def test_every_rule_lifts_its_example(rule: LiftRule) -> None:
    found = [v for argv in simple_commands(rule.example) for v in rule.find(argv)]
    assert rule.expect in found
    lifted = lift([rule.example])
    assert rule.expect in dict(lifted.params).values()
    assert rule.expect not in lifted.sources[0]  # every use rewritten to the parameter


@pytest.mark.parametrize(
    ("sources", "params", "rewritten"),
    [
        (["systemctl restart nginx"], {"SERVICE": "nginx"}, ['systemctl restart "$SERVICE"']),
        (["sudo nginx -t", "systemctl reload nginx"], {"SERVICE": "nginx"},
         ["sudo nginx -t", 'systemctl reload "$SERVICE"']),  # the program name stays
        (["curl -fsS http://127.0.0.1:8080/health"], {"PORT": "8080"},
         ["curl -fsS http://127.0.0.1:${PORT}/health"]),
        (["curl http://api.internal:9000/x"], {"HOST": "api.internal", "PORT": "9000"},
         ["curl http://${HOST}:${PORT}/x"]),
        (["date -s 10:30"], {}, ["date -s 10:30"]),  # a time is not a port
        (["kubectl logs api-7d9f8c6b5d-x2k4p -n prod"], {"DEPLOYMENT": "api", "NAMESPACE": "prod"},
         ['kubectl logs deploy/${DEPLOYMENT} -n "$NAMESPACE"']),
        (["kubectl describe pod api-7d9f8c6b5d-x2k4p"], {"DEPLOYMENT": "api"},
         ["kubectl describe deploy/${DEPLOYMENT}"]),
        (["kubectl delete pod api-7d9f8c6b5d-x2k4p"], {},
         ["kubectl delete pod api-7d9f8c6b5d-x2k4p"]),  # never turned into a deployment delete
        (["rm /var/cache/app.lock", "echo '/var/cache/app.lock'"], {"LOCK_FILE": "/var/cache/app.lock"},
         ['rm "$LOCK_FILE"', "echo ''\"$LOCK_FILE\"''"]),  # quotes closed around it
        (["systemctl restart nginx --no-block"], {"SERVICE": "nginx"},
         ['systemctl restart "$SERVICE" --no-block']),  # flags are never lifted
    ],
)
def test_lift_and_rewrite(sources: list[str], params: dict[str, str], rewritten: list[str]) -> None:
    lifted = lift(sources)
    assert dict(lifted.params) == params
    assert list(lifted.sources) == rewritten


def test_derived_paths_and_values_a_fix_cannot_take() -> None:
    # a path under a lifted directory is written with it, not lifted beside it
    lifted = lift(["ls -la /srv/inventory/", "sed -i 's/8080/8081/' /srv/inventory/inventory.conf"])
    assert dict(lifted.params) == {"INVENTORY_DIR": "/srv/inventory/"} or all(
        "inventory.conf" not in v for v in dict(lifted.params).values())
    assert '"$INVENTORY_DIR"' in lifted.sources[0]
    # a port the patch's hunks hard-code is not a parameter: overriding it would
    # apply half a fix
    patch = "patch --forward /etc/app.conf <<'EOF'\n-listen 8080\n+listen 8081\nEOF"
    lifted = lift([patch, "curl -fsS http://localhost:8081/health"])
    assert "PORT" not in dict(lifted.params)
    assert "localhost:8081" in lifted.sources[1]


def test_comments_and_heredoc_bodies_stay_literal() -> None:
    src = ("# restart nginx on /etc/nginx/nginx.conf\n"
           "patch /etc/nginx/nginx.conf <<'EOF'\n--- /etc/nginx/nginx.conf\nEOF\n"
           "systemctl reload nginx")
    (out,) = lift([src]).sources
    assert out.splitlines()[0] == "# restart nginx on /etc/nginx/nginx.conf"
    assert out.splitlines()[1] == "patch \"$CONF_FILE\" <<'EOF'"
    assert out.splitlines()[2] == "--- /etc/nginx/nginx.conf"
    assert out.splitlines()[-1] == 'systemctl reload "$SERVICE"'
