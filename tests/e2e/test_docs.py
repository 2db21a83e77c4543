"""Docs stay true to the package: docs/OBSERVABILITY.md names every metric of the contract and its
PromQL examples parse (promtool check rules); docs/RUNBOOK.md has a section for every alert, each with
its tier (page / ticket / info, matching the alert's severity; burn alerts name both), links to dashboard
panels that exist under that title, and a "Verify fixed" PromQL query that parses; monitoring/README.md
lists every file of monitoring/ that users copy. Every docker, docker compose, kubectl, systemctl and
journalctl command the docs show names things that exist: the compose file's container, service and
networks, the Dockerfile, the Kubernetes objects, labels and kustomize directories of deploy/kubernetes
and monitoring/kubernetes, the systemd unit (doc_commands.py)."""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import doc_commands  # noqa: E402
import kronos_e2e as k  # noqa: E402

OBS = os.path.join(k.ROOT, "docs/OBSERVABILITY.md")
README = os.path.join(k.MON, "README.md")


def promql_examples(markdown):
    """Expressions of ```promql blocks; continuation lines start with spaces or '/ '; '#' starts a comment."""
    exprs = []
    for block in re.findall(r"```promql\n(.*?)```", markdown, re.S):
        current = []
        for line in block.splitlines():
            line = "" if line.lstrip().startswith("#") else re.sub(r"\s+#.*$", "", line)
            if not line.strip():
                if current:
                    exprs.append(" ".join(current))
                current = []
            elif line.startswith(("  ", "/ ")) and current:
                current.append(line.strip())
            else:
                if current:
                    exprs.append(" ".join(current))
                current = [line.strip()]
        if current:
            exprs.append(" ".join(current))
    return exprs


def main():
    fails = k.Failures()
    with open(OBS) as f:
        obs = f.read()
    for name in k.METRICS:
        fails.check(f"`{name}`" in obs or (name.startswith("process_") and name in obs),
                    f"OBSERVABILITY.md does not document {name}")
    exprs = promql_examples(obs)
    fails.check(len(exprs) >= 10, f"only {len(exprs)} PromQL examples found")
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        k.yaml.safe_dump({"groups": [{"name": "doc", "rules": [
            {"record": f"doc:example{i}", "expr": e} for i, e in enumerate(exprs)]}]}, f)
    try:
        rc, out = k.run(["promtool", "check", "rules", f.name])
        fails.check(rc == 0, f"PromQL examples of OBSERVABILITY.md do not parse:\n{out}")
    finally:
        os.unlink(f.name)
    recorded = {r["record"] for r in k.rules(k.SLO_RULES) if "record" in r}
    for i, e in enumerate(exprs):
        k.check_against_contract(e, f"OBSERVABILITY.md example {i + 1}", fails, recorded=recorded)
    with open(k.RUNBOOK) as f:
        runbook = f.read()
    bodies = dict(re.findall(r"^## (\w+)\n(.*?)(?=^## |\Z)", runbook, re.M | re.S))
    sections = set(bodies)
    alert_rules = [r for path in (k.ALERTS, k.SLO_RULES) for r in k.rules(path) if "alert" in r]
    alerts = {r["alert"] for r in alert_rules}
    for a in sorted(alerts - sections):
        fails.check(False, f"RUNBOOK.md has no section for {a}")
    titles = {p["id"]: p.get("title") for p in k.dashboard_panels(k.dashboard())}
    verify = []
    for name in sorted(alerts & sections):
        body = bodies[name]
        severities = {r["labels"]["severity"] for r in alert_rules if r["alert"] == name}
        tier = re.search(r"\*\*Tier\.\*\* (.*)", body)
        if fails.check(tier, f"RUNBOOK {name}: no **Tier.**"):
            words = {"critical": "page", "warning": "ticket", "info": "info"}
            for sev in severities:
                fails.check(words[sev] in tier.group(1).lower(), f"RUNBOOK {name}: tier does not say {words[sev]} ({sev})")
        links = re.findall(r"\[([^\]]+)\]\([^)]*/d/kronosd-overview\?viewPanel=(\d+)\)", body)
        fails.check(links, f"RUNBOOK {name}: no dashboard panel link")
        for text, pid in links:
            fails.check(titles.get(int(pid)) == text, f"RUNBOOK {name}: panel {pid} is {titles.get(int(pid))!r}, "
                                                      f"the link says {text!r}")
        m = re.search(r"\*\*Verify fixed\.\*\*.*?```promql\n(.*?)```", body, re.S)
        if fails.check(m, f"RUNBOOK {name}: no **Verify fixed.** PromQL"):
            verify += [(name, q.strip()) for q in m.group(1).splitlines() if q.strip()]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        k.yaml.safe_dump({"groups": [{"name": "verify", "rules": [
            {"record": f"verify:{i}", "expr": q} for i, (_, q) in enumerate(verify)]}]}, f)
    try:
        rc, out = k.run(["promtool", "check", "rules", f.name])
        fails.check(rc == 0, f"RUNBOOK verify-fixed queries do not parse:\n{out}")
    finally:
        os.unlink(f.name)
    for name, q in verify:
        k.check_against_contract(q, f"RUNBOOK {name} verify", fails, recorded=recorded)
    with open(README) as f:
        readme = f.read()
    for dirpath, _, files in os.walk(k.MON):
        for name in files:
            if name != "README.md":
                fails.check(name in readme, f"monitoring/README.md does not mention {name}")
    for value in sorted(k.LABEL_VALUES["endpoint"]):
        fails.check(f'endpoint="{value}"' in obs, f"OBSERVABILITY.md does not show endpoint=\"{value}\"")
    # The README's first screen: exactly two set-up commands for a new machine.
    with open(os.path.join(k.ROOT, "README.md")) as f:
        top = f.read()
    setup = top.split("## Set up on a new Debian machine", 1)[-1].split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in setup.splitlines()[1:] if line.strip()]
    fails.check(commands == ["make run", "make test"],
                f"README's set-up block has exactly make run and make test: {commands}")
    n_commands = doc_commands.check(k.ROOT, fails)
    print(f"{n_commands} docker/kubectl/systemctl commands in the docs name things that exist")
    print(f"{len(k.METRICS)} metrics, {len(exprs)} PromQL examples, {len(alerts)} runbook sections, "
          f"{len(verify)} verify-fixed queries")
    fails.finish("docs")


if __name__ == "__main__":
    main()
