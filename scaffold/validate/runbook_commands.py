"""runbook-commands: every `kubectl` line of every runbook names objects the package builds.

A runbook is followed under pressure: a command about a Deployment that does not exist
(a CronJob package, a Rollout's scaled-down workloadRef), a flag the verb does not take,
or a hard-coded production namespace for an alert that fired in staging, fails the
on-call exactly when it matters. This checker reads each command of `runbooks/*.md`
(lines of shell blocks and inline code spans that start with `kubectl`), and checks it
against the objects `kubectl kustomize` builds from every overlay:

- each `kind/name` or `kind name` names an object of that kind in some overlay build;
  a runtime kind (pods, jobs, events, ...) needs the workload that makes it;
- each label selector matches a pod template (or, for `kubernetes.io/service-name`, a Service);
- each flag is one the verb takes; `rollout` verbs act on a Deployment that owns its pods;
  `kubectl argo rollouts` verbs on a Rollout; `port-forward` on a port the target exposes;
- the namespace is `$NS`, set in the runbook from the alert's `namespace` label (or a
  loop over the environments' namespaces), never a literal one when there are several.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..model.package import Package
from . import Finding, checker

RUNBOOKS = "runbooks"
OVERLAYS = "k8s/overlays"

# resource names kubectl accepts -> Kind
RESOURCES: dict[str, str] = {}
for _kind, _names in {
    "Pod": ("pod", "pods", "po"), "Event": ("event", "events", "ev"), "Job": ("job", "jobs"),
    "ReplicaSet": ("replicaset", "replicasets", "rs"), "EndpointSlice": ("endpointslice", "endpointslices"),
    "Deployment": ("deployment", "deployments", "deploy"), "Service": ("service", "services", "svc"),
    "HorizontalPodAutoscaler": ("horizontalpodautoscaler", "horizontalpodautoscalers", "hpa"),
    "CronJob": ("cronjob", "cronjobs", "cj"), "Rollout": ("rollout", "rollouts", "ro"),
    "ServiceMonitor": ("servicemonitor", "servicemonitors"), "PodMonitor": ("podmonitor", "podmonitors"),
    "ConfigMap": ("configmap", "configmaps", "cm"), "PodDisruptionBudget": ("poddisruptionbudget", "pdb"),
    "NetworkPolicy": ("networkpolicy", "networkpolicies", "netpol"),
    "ExternalSecret": ("externalsecret", "externalsecrets"), "PrometheusRule": ("prometheusrule", "prometheusrules"),
    "AnalysisRun": ("analysisrun", "analysisruns"), "AnalysisTemplate": ("analysistemplate", "analysistemplates"),
    "Probe": ("probe", "probes"),
}.items():
    for _n in _names:
        RESOURCES[_n] = _kind
# Objects controllers create at run time: they exist only where their maker does.
RUNTIME_PARENTS: dict[str, tuple[str, ...]] = {
    "Pod": ("Deployment", "Rollout", "CronJob"), "Event": (), "Job": ("CronJob",),
    "ReplicaSet": ("Deployment", "Rollout"), "EndpointSlice": ("Service",), "AnalysisRun": ("Rollout",),
}
# Flags each verb takes (those a runbook may use), with whether they take a value.
COMMON = {"-n": True, "--namespace": True}
FLAGS: dict[str, dict[str, bool]] = {
    "get": {"-l": True, "--selector": True, "-o": True, "--output": True, "--field-selector": True,
            "--sort-by": True, "-w": False, "--watch": False, "-A": False},
    "describe": {"-l": True, "--selector": True},
    "logs": {"-l": True, "--selector": True, "-c": True, "--container": True, "--since": True, "--tail": True,
             "--previous": False, "-p": False, "-f": False, "--follow": False, "--all-containers": False},
    "top": {"-l": True, "--selector": True, "--containers": False},
    "port-forward": {"--address": True},
    "rollout": {"--timeout": True, "--revision": True, "-w": False, "--watch": False},
    "create": {"--from": True},
    "delete": {"--wait": True},
    "patch": {"--type": True, "-p": True, "--patch": True},
    "edit": {},
}
ROLLOUT_SUBVERBS = ("history", "status", "undo", "restart", "pause", "resume")
ROLLOUT_KINDS = ("Deployment",)  # of the kinds a package may build; DaemonSet/StatefulSet too in kubectl
PORT_FORWARD_KINDS = ("Pod", "Deployment", "Service", "ReplicaSet")
ARGO_VERBS = {"abort": 1, "promote": 1, "retry": 2, "undo": 1, "status": 1, "get": 2, "pause": 1, "restart": 1}
ARGO_FLAGS = {"-n": True, "--namespace": True, "--full": False, "--to-revision": True, "-w": False, "--watch": False,
              "--timeout": True}
NS_VAR = "$NS"
_FENCE = re.compile(r"^```(\w*)\s*$")
_INLINE = re.compile(r"`([^`\n]+)`")
_NS_SET = re.compile(r"^\s*NS=([A-Za-z0-9.-]+)")
_NS_LOOP = re.compile(r"^\s*for NS in ([^;]+);")


@dataclass
class Objects:
    """What the overlays build: (kind, name) -> namespaces, pod-template labels, ports."""

    named: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    namespaces: set[str] = field(default_factory=set)
    pod_labels: list[dict[str, str]] = field(default_factory=list)
    ports: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    owned: dict[str, str] = field(default_factory=dict)  # Deployment name -> the Rollout that owns its pods

    def kinds(self) -> set[str]:
        return {k for k, _ in self.named}

    def add(self, doc: dict[str, Any]) -> None:
        kind, meta = doc.get("kind"), doc.get("metadata") or {}
        name, ns = meta.get("name"), meta.get("namespace")
        if not kind or not name:
            return
        if kind == "Namespace":
            self.namespaces.add(name)
            return
        self.named.setdefault((kind, name), set()).add(ns or "")
        if ns:
            self.namespaces.add(ns)
        spec = doc.get("spec") or {}
        template = (spec.get("jobTemplate") or {}).get("spec", {}).get("template") if kind == "CronJob" else spec.get("template")
        if isinstance(template, dict):
            self.pod_labels.append(dict((template.get("metadata") or {}).get("labels") or {}))
            ports = {p.get("containerPort") for c in (template.get("spec") or {}).get("containers") or []
                     for p in c.get("ports") or []}
            self.ports.setdefault((kind, name), set()).update(p for p in ports if isinstance(p, int))
        if kind == "Service":
            self.ports.setdefault((kind, name), set()).update(
                p.get("port") for p in spec.get("ports") or [] if isinstance(p.get("port"), int))
        ref = spec.get("workloadRef") if kind == "Rollout" else None
        if isinstance(ref, dict) and ref.get("kind") == "Deployment":
            self.owned[str(ref.get("name"))] = name


def package_objects(pkg: Package) -> tuple[Objects, list[Finding]]:
    objs, findings = Objects(), []
    root = pkg.root / OVERLAYS
    for overlay in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        res = pkg.overlay_build(overlay)
        if res.returncode != 0:
            findings.append(Finding(pkg.rel(overlay), "kubectl kustomize failed: runbook commands not checked against it"))
            continue
        for doc in yaml.safe_load_all(res.stdout):
            if isinstance(doc, dict):
                objs.add(doc)
    return objs, findings


@dataclass(frozen=True)
class Command:
    line: int
    text: str
    in_loop: tuple[str, ...] = ()  # namespaces a surrounding `for NS in ...` loop sets


def commands(text: str) -> tuple[list[Command], list[str], list[tuple[int, str]]]:
    """The kubectl commands of a runbook, the namespaces NS= sets, and the loops' namespaces."""
    cmds: list[Command] = []
    ns_set: list[str] = []
    fence: str | None = None
    loop: tuple[str, ...] = ()
    loops: list[tuple[int, str]] = []
    for i, raw in enumerate(text.splitlines(), start=1):
        fm = _FENCE.match(raw.strip())
        if fm:
            fence = None if fence is not None else fm.group(1)
            loop = ()
            continue
        if fence is not None:
            if fence not in ("sh", "bash", "shell", "console", ""):
                continue
            line = raw.strip()
            if (m := _NS_SET.match(line)):
                ns_set.append(m.group(1))
            elif (m := _NS_LOOP.match(line)):
                loop = tuple(m.group(1).split())
                loops.extend((i, n) for n in loop)
            elif line == "done":
                loop = ()
            elif line.startswith("kubectl "):
                cmds.append(Command(i, line, loop))
            continue
        for span in _INLINE.findall(raw):
            if span.startswith("kubectl "):
                cmds.append(Command(i, span))
    return cmds, ns_set, loops


def _words(text: str) -> list[str]:
    """Shell words up to the first pipe, `&`, `;` or `&&`."""
    lex = shlex.shlex(text, posix=True, punctuation_chars="|&;")
    lex.whitespace_split = True
    out = []
    for w in lex:
        if w in ("|", "&", "&&", ";", "||"):
            break
        out.append(w)
    return out


ALIASES = {"--namespace": "-n", "--selector": "-l"}


def _split(words: list[str], flags: dict[str, bool]) -> tuple[list[str], dict[str, str], list[str]]:
    """Positionals, flag values (``--namespace`` as ``-n``, ``--selector`` as ``-l``), and unknown flags."""
    pos: list[str] = []
    vals: dict[str, str] = {}
    unknown: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        i += 1
        if not w.startswith("-"):
            pos.append(w)
            continue
        name, eq, value = w.partition("=")
        if name not in flags:
            unknown.append(name)
            continue
        if flags[name] and not eq:
            value = words[i] if i < len(words) else ""
            i += 1
        vals[ALIASES.get(name, name)] = value
    return pos, vals, unknown


def _placeholder(name: str) -> bool:
    return name.startswith("<") and name.endswith(">")


class _Check:
    def __init__(self, objs: Objects, several_envs: bool, ns_defined: bool, ns_examples: list[str]):
        self.objs, self.several_envs, self.ns_defined, self.ns_examples = objs, several_envs, ns_defined, ns_examples

    def ref(self, kind: str, name: str | None, ns: str | None) -> list[str]:
        objs = self.objs
        if kind in RUNTIME_PARENTS:
            parents = RUNTIME_PARENTS[kind]
            if parents and not set(parents) & objs.kinds():
                return [f"{kind} objects come from a {' or '.join(parents)}, and the package builds none"]
            return []
        if name is None and kind not in objs.kinds():
            return [f"names {kind} objects, and no overlay builds any"]
        if name is not None and (kind, name) not in objs.named:
            return [f"names {kind} {name!r}, which no overlay builds"]
        if name and ns and ns != NS_VAR and ns not in objs.named[(kind, name)]:
            return [f"{kind} {name!r} is not built in namespace {ns!r}"]
        return []

    def namespace(self, ns: str | None, loop: tuple[str, ...]) -> list[str]:
        if ns is None:
            return ["has no -n: it would run in whatever namespace the kubectl context defaults to"]
        if ns == NS_VAR:
            if loop:
                bad = [n for n in loop if n not in self.objs.namespaces]
                return [f"loops over {', '.join(bad)}, not a namespace of the package"] if bad else []
            if not self.ns_defined:
                return ["uses $NS, which the runbook never sets (NS=<the alert's namespace label>)"]
            return []
        if ns not in self.objs.namespaces:
            return [f"namespace {ns!r} is not one the package deploys to"]
        if self.several_envs:
            return [f"hard-codes namespace {ns!r}: the alert may have fired in another environment; "
                    "use \"$NS\" set from the alert's namespace label"]
        return []

    def selector(self, sel: str) -> list[str]:
        out = []
        for term in sel.split(","):
            key, _, value = term.partition("=")
            if key == "kubernetes.io/service-name":
                if ("Service", value) not in self.objs.named:
                    out.append(f"selects EndpointSlices of Service {value!r}, which no overlay builds")
            elif not any(labels.get(key) == value for labels in self.objs.pod_labels):
                out.append(f"selector {term!r} matches no pod template the package builds")
        return out

    def kubectl(self, words: list[str], loop: tuple[str, ...]) -> list[str]:
        if words[:3] == ["kubectl", "argo", "rollouts"]:
            return self.argo(words[3:], loop)
        rest = words[1:]
        lead, _, _ = _split(rest, {**COMMON, **{f: v for flags in FLAGS.values() for f, v in flags.items()}})
        verb = lead[0] if lead else None
        if verb is None:
            return ["has no verb"]
        if verb not in FLAGS:
            return [f"verb {verb!r} is not one this checker knows (add it to FLAGS)"]
        pos, vals, unknown = _split(rest, {**COMMON, **FLAGS[verb]})
        pos = pos[1:]  # drop the verb
        out = [f"{verb} takes no flag {u}" for u in unknown]
        if not pos and not vals and not unknown:
            return []  # prose: "never `kubectl edit` ...", "a `kubectl patch` is undone"
        out += self.namespace(vals.get("-n"), loop)
        if "-l" in vals:
            out += self.selector(vals["-l"])
        if verb == "rollout":
            sub = pos[0] if pos else ""
            if sub not in ROLLOUT_SUBVERBS:
                return out + [f"rollout takes {'/'.join(ROLLOUT_SUBVERBS)}, not {sub!r}"]
            pos = pos[1:]
        if verb == "create":
            if pos[:1] != ["job"] or not vals.get("--from", "").startswith("cronjob/"):
                return out + ["only `create job <name> --from=cronjob/<name>` is expected in a runbook"]
            return out + self.ref("CronJob", vals["--from"].split("/", 1)[1], vals.get("-n"))
        if verb == "port-forward":
            return out + self.port_forward(pos, vals.get("-n"))
        refs = self.refs(pos)
        if isinstance(refs, str):
            return out + [refs]
        for kind, name in refs:
            out += self.ref(kind, name, vals.get("-n"))
            if verb == "rollout":
                if kind not in ROLLOUT_KINDS:
                    out.append(f"`kubectl rollout` does not act on a {kind}")
                elif name in self.objs.owned:
                    out.append(f"Deployment {name!r} is scaled down by Rollout {self.objs.owned[name]!r} (workloadRef): "
                               "use `kubectl argo rollouts`")
            if verb == "top" and kind not in ("Pod",):
                out.append(f"`kubectl top` reports pods or nodes, not {kind}")
            if verb == "logs" and kind not in ("Pod", "Job", "Deployment"):
                out.append(f"`kubectl logs` does not read a {kind}")
        if verb in ("rollout", "logs", "describe", "delete", "patch") and not refs and "-l" not in vals:
            out.append(f"{verb} names no object")
        return out

    def refs(self, pos: list[str]) -> list[tuple[str, str | None]] | str:
        """`kind/name ...`, `kind name ...`, `kind1,kind2`, or `<pod>` (a pod)."""
        if not pos:
            return []
        if all("/" in p for p in pos):
            out = []
            for p in pos:
                t, name = p.split("/", 1)
                if t not in RESOURCES:
                    return f"unknown resource type {t!r}"
                out.append((RESOURCES[t], None if _placeholder(name) else name))
            return out
        if _placeholder(pos[0]):
            return [("Pod", None)]
        types = pos[0].split(",")
        if any(t not in RESOURCES for t in types):
            return f"unknown resource type {pos[0]!r}"
        names = [None if _placeholder(n) else n for n in pos[1:]] or [None]
        return [(RESOURCES[t], n) for t in types for n in names]

    def port_forward(self, pos: list[str], ns: str | None) -> list[str]:
        if len(pos) < 2 or "/" not in pos[0]:
            return ["port-forward needs <type>/<name> and a port"]
        t, name = pos[0].split("/", 1)
        kind = RESOURCES.get(t)
        if kind not in PORT_FORWARD_KINDS:
            return [f"port-forward does not reach a {t!r}"]
        out = self.ref(kind, name, ns)
        if out:
            return out
        if kind == "Deployment" and name in self.objs.owned:
            return [f"Deployment {name!r} is scaled down by Rollout {self.objs.owned[name]!r}: forward to its Service"]
        ports = self.objs.ports.get((kind, name), set())
        for p in pos[1:]:
            remote = p.rsplit(":", 1)[-1]
            if not remote.isdigit() or int(remote) not in ports:
                out.append(f"{kind} {name!r} exposes no port {remote} (it has {sorted(ports)})")
        return out

    def argo(self, rest: list[str], loop: tuple[str, ...]) -> list[str]:
        pos, vals, unknown = _split(rest, ARGO_FLAGS)
        out = [f"argo rollouts takes no flag {u}" for u in unknown]
        if not pos or pos[0] not in ARGO_VERBS:
            return out + [f"argo rollouts verb {pos[0] if pos else ''!r} is not one this checker knows"]
        verb, args = pos[0], pos[1:]
        if ARGO_VERBS[verb] == 2:  # `get rollout NAME`, `retry rollout NAME`
            if not args or RESOURCES.get(args[0]) != "Rollout":
                return out + [f"argo rollouts {verb} takes `rollout <name>`"]
            args = args[1:]
        out += self.namespace(vals.get("-n"), loop)
        if not args:
            return out + [f"argo rollouts {verb} names no Rollout"]
        return out + self.ref("Rollout", args[0], vals.get("-n"))


def check_runbook(rel: str, text: str, objs: Objects, several_envs: bool) -> list[Finding]:
    cmds, ns_set, loops = commands(text)
    findings = [Finding(rel, f"NS={n}: not a namespace the package deploys to", None)
                for n in ns_set if n not in objs.namespaces]
    chk = _Check(objs, several_envs, bool(ns_set), ns_set)
    for c in cmds:
        try:
            words = _words(c.text)
        except ValueError as err:
            findings.append(Finding(rel, f"`{c.text}`: does not parse as a shell command ({err})", c.line))
            continue
        for problem in chk.kubectl(words, c.in_loop):
            findings.append(Finding(rel, f"`{c.text}`: {problem}", c.line))
    return findings


@checker
class RunbookCommands:
    """Every kubectl command of every runbook against the objects the overlays build."""

    name = "runbook-commands"
    tool = "kubectl"
    slow = False

    def applies(self, pkg: Package) -> bool:
        return (pkg.root / RUNBOOKS).is_dir() and (pkg.root / OVERLAYS).is_dir()

    def run(self, pkg: Package) -> list[Finding]:
        objs, findings = package_objects(pkg)
        if findings:
            return findings
        several = len({n for n in objs.namespaces}) > 1
        for path in sorted((pkg.root / RUNBOOKS).glob("*.md")):
            findings += check_runbook(pkg.rel(path), path.read_text(encoding="utf-8"), objs, several)
        return findings


def check_files(root: Path) -> list[Finding]:
    """For tests: the checker on a package directory."""
    return RunbookCommands().run(Package.load(root))
