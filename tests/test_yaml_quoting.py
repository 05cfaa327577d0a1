"""Names that YAML 1.1 reads as booleans or numbers stay strings.

Kubernetes, kustomize and kubernetes-validate read YAML 1.1, where a plain
``yes`` or ``off`` is a bool. Such names pass the answer rules (they are valid
DNS labels), so the emitters must quote them. Judged by PyYAML (a YAML 1.1
reader, the one kubernetes-validate uses) and by the real package checkers.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from scaffold import yamlio
from scaffold.validate import run_all
from tests.helpers import require_tool

TRICKY = ["yes", "no", "on", "off", "y", "n", "Yes", "OFF", "true", "null", "~", "1_000", "1:20",
          "0b101", "0x1f", "0777", "2026-11-27", "=", "<<", ".inf", "1e3"]


@pytest.mark.fast
@pytest.mark.parametrize("emit", [yamlio.dump, yamlio.dump_plain], ids=["dump", "dump_plain"])
def test_tricky_strings_read_back_as_strings_in_yaml11(emit):
    data = {"labels": {v: v for v in TRICKY}, "list": TRICKY, "n": 3, "b": True, "d": Decimal("0.0144")}
    back = yaml.safe_load(emit(data))
    assert back == {"labels": {v: v for v in TRICKY}, "list": TRICKY, "n": 3, "b": True, "d": 0.0144}


@pytest.mark.fast
def test_inline_scalar_is_quoted_too():
    for v in TRICKY:
        assert yaml.safe_load(f"k: {yamlio.scalar(v)}") == {"k": v}


@pytest.mark.fast
def test_plain_names_stay_unquoted():
    assert yamlio.dump({"name": "payments-api", "team": "platform"}) == "name: payments-api\nteam: platform\n"


def test_a_service_named_yes_of_team_off_is_valid_kubernetes(render):
    require_tool("kubectl")
    require_tool("promtool")
    require_tool("amtool")
    root = render(name="yes", skip_tasks=True, team="off")
    results = run_all(root, only=("kubernetes", "kustomize", "crds", "prometheus-rules", "prometheus-tests",
                                  "alertmanager-config", "alertmanager-routes"))
    assert len(results) == 7
    for r in results:
        assert r.status == "pass", (r.checker, [str(f) for f in r.findings])
    docs = [d for d in yaml.safe_load_all((root / "k8s" / "base" / "deployment.yaml").read_text()) if d]
    assert docs[0]["metadata"]["name"] == "yes"
    assert docs[0]["metadata"]["labels"]["scaffold.dev/team"] == "off"
