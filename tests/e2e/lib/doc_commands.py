"""The docker, docker compose, kubectl, systemctl and journalctl commands the docs show must name
things that exist: a container, compose service or network of deploy/container/compose.yaml; a
Kubernetes object, label, namespace, manifest or kustomize directory of deploy/kubernetes and
monitoring/kubernetes; a unit of deploy/systemd. Placeholders such as <pod> or <namespace> pass.

Read from the Markdown docs (inline code and code blocks) and from the comments of the deploy files
(their usage lines)."""
import glob
import os
import re
import shlex

import yaml

TOOLS = ("docker", "kubectl", "systemctl", "journalctl")
KIND_ALIASES = {
    "po": "pod", "pods": "pod", "deploy": "deployment", "deployments": "deployment",
    "svc": "service", "services": "service", "pvc": "persistentvolumeclaim",
    "persistentvolumeclaims": "persistentvolumeclaim", "hpa": "horizontalpodautoscaler",
    "horizontalpodautoscalers": "horizontalpodautoscaler", "pdb": "poddisruptionbudget",
    "poddisruptionbudgets": "poddisruptionbudget", "servicemonitors": "servicemonitor",
    "podmonitors": "podmonitor", "prometheusrules": "prometheusrule", "scaledobjects": "scaledobject",
    "so": "scaledobject", "ns": "namespace", "namespaces": "namespace", "cm": "configmap",
    "configmaps": "configmap", "rs": "replicaset", "replicasets": "replicaset", "ep": "endpoints",
    "endpointslices": "endpointslice",
}
# kubectl options that take a value (the value is not a positional argument).
KUBECTL_VALUE_OPTS = {"-n", "--namespace", "-l", "--selector", "-f", "--filename", "-k", "--kustomize",
                      "-o", "--output", "-c", "--container", "--tail", "--since", "--replicas",
                      "--field-selector", "--context", "--timeout", "-L"}
DOCKER_VALUE_OPTS = {"-t", "--time", "--tail", "-n", "--since", "-u", "--user", "-w", "--workdir", "-e",
                     "--env", "--format", "-f", "--file", "--filter", "-s", "--signal", "-p",
                     "--project-name"}


def snippets(root):
    """(file, text) of every code span, code-block line and deploy-file comment line."""
    out = []
    docs = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md"))) + \
        sorted(glob.glob(os.path.join(root, "monitoring", "**", "*.md"), recursive=True))
    for path in docs:
        with open(path) as f:
            text = f.read()
        in_block, prose = False, []
        for line in text.split("\n"):
            if line.lstrip().startswith("```"):
                in_block = not in_block
                continue
            if in_block:
                out.append((path, line))
            else:
                prose.append(line)
        # A code span may run over a line break.
        out += [(path, m.replace("\n", " ")) for m in re.findall(r"`([^`]+)`", "\n".join(prose))]
    deploy = [p for p in glob.glob(os.path.join(root, "deploy", "**", "*"), recursive=True)
              if os.path.isfile(p)] + glob.glob(os.path.join(root, "monitoring", "kubernetes", "*.yaml"))
    for path in sorted(deploy):
        with open(path, errors="replace") as f:
            for line in f:
                if line.lstrip().startswith("#"):
                    out.append((path, line.lstrip()[1:]))
    return out


def commands(text):
    """The tool invocations in a snippet, split at pipes, && and ; and cut at a comment."""
    text = re.sub(r"\s#.*$", "", text)
    for part in re.split(r"\|\|?|&&|;", text):
        m = re.search(r"(?:^|[\s($])(%s)(\s.*)?$" % "|".join(TOOLS), part)
        if m:
            try:
                words = shlex.split(m.group(1) + (m.group(2) or ""))
            except ValueError:
                words = (m.group(1) + (m.group(2) or "")).split()
            yield [w.rstrip(".,:") for w in words]


class Names:
    def __init__(self, root):
        self.root = root
        compose_path = os.path.join(root, "deploy", "container", "compose.yaml")
        with open(compose_path) as f:
            compose = yaml.safe_load(f)
        self.dockerfiles = {os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "deploy", "**",
                                                                                      "Dockerfile"), recursive=True)}
        self.containers = set()
        self.services = set(compose.get("services", {}))
        for svc in compose.get("services", {}).values():
            if svc.get("container_name"):
                self.containers.add(svc["container_name"])
        self.networks = set()
        for key, net in (compose.get("networks") or {}).items():
            self.networks.add((net or {}).get("name") or key)
        self.objects, self.labels, self.namespaces = set(), set(), set()
        for path in glob.glob(os.path.join(root, "deploy", "kubernetes", "**", "*.yaml"), recursive=True) + \
                glob.glob(os.path.join(root, "monitoring", "kubernetes", "*.yaml")):
            with open(path) as f:
                for doc in yaml.safe_load_all(f):
                    if isinstance(doc, dict):
                        self._walk_k8s(doc)
        self.units = {os.path.basename(p)[:-len(".service")]
                      for p in glob.glob(os.path.join(root, "deploy", "systemd", "*.service"))}

    def _walk_k8s(self, doc):
        kind, meta = str(doc.get("kind", "")).lower(), doc.get("metadata") or {}
        if kind == "kustomization" and doc.get("namespace"):
            self.namespaces.add(doc["namespace"])
        if meta.get("name"):
            self.objects.add((kind, meta["name"]))
        self.labels |= {"%s=%s" % kv for kv in (meta.get("labels") or {}).items()}

        def visit(node):
            if isinstance(node, dict):
                if isinstance(node.get("persistentVolumeClaim"), dict):
                    self.objects.add(("persistentvolumeclaim", node["persistentVolumeClaim"].get("claimName")))
                for key, val in node.items():
                    if key == "labels" and isinstance(val, dict):
                        self.labels |= {"%s=%s" % kv for kv in val.items()}
                    visit(val)
            elif isinstance(node, list):
                for v in node:
                    visit(v)
        visit(doc)

    def path(self, value, doc_path, want):
        for base in (os.path.dirname(doc_path), self.root):
            p = os.path.normpath(os.path.join(base, value))
            if want == "dir" and os.path.isfile(os.path.join(p, "kustomization.yaml")):
                return True
            if want == "file" and os.path.isfile(p):
                return True
        return False


def placeholder(word):
    return "<" in word or "$" in word or "…" in word or "..." in word


def split_opts(words, value_opts):
    """(options as [(name, value)], positional words) of a command's arguments."""
    opts, pos, i = [], [], 0
    while i < len(words):
        w = words[i]
        if w == "--":
            break
        if w.startswith("-") and len(w) > 1:
            if "=" in w:
                opts.append(tuple(w.split("=", 1)))
            elif w in value_opts and i + 1 < len(words):
                opts.append((w, words[i + 1]))
                i += 1
            else:
                opts.append((w, None))
        else:
            pos.append(w)
        i += 1
    return opts, pos


def check_kubectl(args, names, where, fails):
    doc, where = where, os.path.relpath(where, names.root)
    if not args:
        return
    verb, rest = args[0], args[1:]
    opts, pos = split_opts(rest, KUBECTL_VALUE_OPTS)
    for name, value in opts:
        if value is None or placeholder(value):
            continue
        if name in ("-l", "--selector"):
            for sel in value.split(","):
                fails.check("=" not in sel or sel.replace("==", "=") in names.labels,
                            f"{where}: kubectl label selector {sel} matches no label of deploy/kubernetes")
        elif name in ("-f", "--filename"):
            fails.check(names.path(value, doc, "file"), f"{where}: kubectl -f {value}: no such file")
        elif name in ("-k", "--kustomize"):
            fails.check(names.path(value, doc, "dir"), f"{where}: kubectl -k {value}: no kustomization there")
        elif name in ("-n", "--namespace"):
            fails.check(value in names.namespaces, f"{where}: kubectl -n {value}: no overlay deploys there")
    if verb == "rollout" and pos:
        pos = pos[1:]
    if verb == "kustomize":
        for p in pos:
            fails.check(placeholder(p) or names.path(p, doc, "dir"), f"{where}: kubectl kustomize {p}: no kustomization")
        return
    if verb == "create" and pos[:1] in (["namespace"], ["ns"]):
        for p in pos[1:]:
            fails.check(placeholder(p) or p in names.namespaces, f"{where}: namespace {p} is no overlay's")
        return
    if verb not in ("get", "describe", "edit", "delete", "logs", "exec", "rollout", "scale", "top",
                    "port-forward", "annotate", "label", "patch"):
        return
    targets = []
    for i, p in enumerate(pos):
        if "/" in p:
            targets.append(tuple(p.split("/", 1)))
        elif verb in ("logs", "exec", "port-forward"):
            targets.append(("pod", p))
        elif i == 0 and len(pos) > 1:
            targets.append((p, pos[1]))
            break
    for kind, name in targets:
        kind = KIND_ALIASES.get(kind.lower(), kind.lower())
        if placeholder(name):
            continue
        fails.check(kind != "pod", f"{where}: kubectl names the pod {name}: pod names are generated, "
                                   "use a placeholder or deployment/<name>")
        if kind != "pod":
            fails.check((kind, name) in names.objects, f"{where}: kubectl names {kind}/{name}, which "
                                                       "deploy/kubernetes does not define")


def check_docker(args, names, where, fails):
    doc, where = where, os.path.relpath(where, names.root)
    if not args:
        return
    verb, rest = args[0], args[1:]
    if verb == "compose":
        opts, pos = split_opts(rest, DOCKER_VALUE_OPTS)
        for name, value in opts:
            if name in ("-f", "--file") and value and not placeholder(value):
                fails.check(names.path(value, doc, "file"), f"{where}: docker compose -f {value}: no such file")
        if pos and pos[0] in ("logs", "restart", "stop", "start", "exec", "ps", "kill", "top"):
            for p in pos[1:2]:
                fails.check(placeholder(p) or p in names.services, f"{where}: compose service {p} does not exist")
        return
    if verb in ("build", "buildx"):
        opts, _ = split_opts(rest, DOCKER_VALUE_OPTS)
        for name, value in opts:
            if name in ("-f", "--file") and value and not placeholder(value):
                fails.check(os.path.normpath(value) in names.dockerfiles, f"{where}: docker build -f {value}: no such Dockerfile")
        return
    if verb == "network":
        _, pos = split_opts(rest, DOCKER_VALUE_OPTS)
        if len(pos) >= 2 and pos[0] in ("create", "inspect", "connect", "rm"):
            fails.check(placeholder(pos[1]) or pos[1] in names.networks,
                        f"{where}: docker network {pos[1]} is not a network of compose.yaml")
        return
    if verb in ("logs", "inspect", "stop", "start", "restart", "exec", "kill", "rm", "top", "stats"):
        _, pos = split_opts(rest, DOCKER_VALUE_OPTS)
        for p in pos[:1]:
            fails.check(placeholder(p) or p in names.containers,
                        f"{where}: docker {verb} {p}: compose.yaml has no container named so "
                        f"(it has {sorted(names.containers)})")


def check_systemd(tool, args, names, where, fails):
    if tool == "journalctl":
        opts, _ = split_opts(args, {"-u", "--unit", "-n", "--since", "-o", "-p"})
        units = [v for n, v in opts if n in ("-u", "--unit") and v]
    else:
        if not args or args[0] not in ("status", "start", "stop", "restart", "enable", "disable", "reload",
                                        "kill", "show", "cat", "is-active"):
            return
        _, units = split_opts(args[1:], set())
    for u in units:
        u = u[:-len(".service")] if u.endswith(".service") else u
        fails.check(placeholder(u) or u in names.units, f"{where}: {tool} names the unit {u}, "
                                                         "which deploy/systemd does not ship")


def check(root, fails):
    """Checks every command; returns how many were found."""
    names = Names(root)
    n = 0
    for path, text in snippets(root):
        where = os.path.relpath(path, root)
        for words in commands(text):
            n += 1
            tool, args = words[0], words[1:]
            if tool == "kubectl":
                check_kubectl(args, names, path, fails)
            elif tool == "docker":
                check_docker(args, names, path, fails)
            else:
                check_systemd(tool, args, names, where, fails)
    return n
