"""Issue 16, defect 8: each environment's ExternalSecrets read a namespaced SecretStore in
their own namespace, authenticated as that namespace's own workload identity. Two
environments (and two teams' packages) resolve to distinct stores and identities; a
shared or renamed store fails the wiring checker."""

from __future__ import annotations


import pytest

from scaffold import tools, yamlio
from scaffold.model.package import Package
from scaffold.validate.wiring import Wiring
from tests.helpers import mutable_copy, require_tool

pytestmark = pytest.mark.slow


def _built(root, env):
    res = tools.run("kubectl", "kustomize", str(root / "k8s" / "overlays" / env))
    assert res.returncode == 0, res.stderr
    return [d for d in yamlio.load_all(res.stdout) if isinstance(d, dict)]


def _resolve(docs):
    """What each ExternalSecret can read, resolved the way ESO does: a SecretStore by name in the
    ExternalSecret's own namespace, its serviceAccountRef in the store's namespace."""
    by = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs}
    out = []
    for es in (d for d in docs if d["kind"] == "ExternalSecret"):
        ns = es["metadata"]["namespace"]
        ref = es["spec"]["secretStoreRef"]
        assert ref["kind"] == "SecretStore", f"{es['metadata']['name']} reads a shared {ref['kind']}"
        store = by.get(("SecretStore", ns, ref["name"]))
        assert store is not None, f"no SecretStore {ref['name']} in {ns}"
        provider = next(iter(store["spec"]["provider"].values()))
        sa_ref = (provider.get("auth", {}).get("jwt") or provider.get("auth", {}).get("workloadIdentity")
                  or provider)["serviceAccountRef"]
        assert "namespace" not in sa_ref  # a SecretStore may only use its own namespace's accounts
        sa = by.get(("ServiceAccount", ns, sa_ref["name"]))
        assert sa is not None, f"no ServiceAccount {sa_ref['name']} in {ns}"
        out.append((ns, ref["name"], sa_ref["name"], tuple(sorted(sa["metadata"]["annotations"].items())),
                    tuple(sorted(str(v) for k, v in provider.items() if k not in ("auth", "serviceAccountRef")))))
    return out


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_environments_and_teams_cannot_read_each_others_secrets(render, cloud):
    require_tool("kubectl")
    a = render(skip_tasks=True, cloud=cloud)
    b = render("ledger-api", skip_tasks=True, cloud=cloud, team="billing")
    reads = {}
    for label, root, env in (("a-dev", a, "dev"), ("a-prod", a, "prod"), ("b-prod", b, "prod")):
        reads[label] = _resolve(_built(root, env))
        assert reads[label], label
    seen_stores, seen_identities = {}, {}
    for label, entries in reads.items():
        for ns, store, sa, annotations, _ in entries:
            seen_stores.setdefault((ns, store), set()).add(label)
            seen_identities.setdefault((ns, sa), set()).add(label)
    # every (namespace, store) and (namespace, ServiceAccount) belongs to exactly one environment
    assert all(len(v) == 1 for v in seen_stores.values()), seen_stores
    assert all(len(v) == 1 for v in seen_identities.values()), seen_identities
    namespaces = {label: {e[0] for e in entries} for label, entries in reads.items()}
    assert not (namespaces["a-dev"] & namespaces["a-prod"]) and not (namespaces["a-prod"] & namespaces["b-prod"])
    if cloud != "azure":  # azure's client-id is a placeholder the owner fills per environment
        identities = {label: {e[3] for e in entries} for label, entries in reads.items()}
        assert not (identities["a-dev"] & identities["a-prod"]), identities
        assert not (identities["a-prod"] & identities["b-prod"]), identities
    if cloud != "aws":  # per-environment project / vault patched by the overlay
        assert {e[4] for e in reads["a-dev"]} != {e[4] for e in reads["a-prod"]}


def test_cloud_none_keeps_the_documented_cluster_store(render):
    root = render(skip_tasks=True, cloud="none")
    docs = yamlio.load_all((root / "k8s" / "base" / "externalsecret.yaml").read_text())
    refs = {d["spec"]["secretStoreRef"]["kind"] for d in docs if d and d["kind"] == "ExternalSecret"}
    assert refs == {"ClusterSecretStore"}
    assert "no workload identity" in (root / "README.md").read_text()
    assert [f.message for f in Wiring().run(Package.load(root))] == []


def _mutate(render, tmp_path, old, new, count=1):
    dest = mutable_copy(render(skip_tasks=True), tmp_path)
    path = dest / "k8s" / "base" / "externalsecret.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))
    return [f.message for f in Wiring().run(Package.load(dest))]


@pytest.mark.parametrize("old,new,count,words", [
    # the ExternalSecrets go back to a shared cluster-wide store (README documents its name)
    ("kind: SecretStore\n    name:", "kind: ClusterSecretStore\n    name:", -1, "shared store"),
    # the generated store is renamed: the ExternalSecrets' reference dangles
    ("  name: aws-secrets-manager\n", "  name: aws-sm\n", 1, "does not generate"),
    # the store authenticates as an account k8s/base does not generate
    ("serviceAccountRef:\n            name: payments-api", "serviceAccountRef:\n            name: default", 1,
     "ServiceAccount 'default'"),
])
def test_store_mutations_fail_wiring(render, tmp_path, old, new, count, words):
    found = _mutate(render, tmp_path, old, new, count)
    assert any(words in f for f in found), found
