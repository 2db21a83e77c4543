"""Docs stay true to the package: docs/OBSERVABILITY.md names every metric of the contract and its
PromQL examples parse (promtool check rules), docs/RUNBOOK.md has a section for every alert, and
monitoring/README.md lists every file of monitoring/ that users copy."""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
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
    for i, e in enumerate(exprs):
        k.check_against_contract(e, f"OBSERVABILITY.md example {i + 1}", fails,
                                 recorded={"kronos:slo_burn:rate1h"})
    with open(k.RUNBOOK) as f:
        sections = set(re.findall(r"^## (\w+)", f.read(), re.M))
    alerts = {r["alert"] for path in (k.ALERTS, k.SLO_RULES) for r in k.rules(path) if "alert" in r}
    for a in sorted(alerts - sections):
        fails.check(False, f"RUNBOOK.md has no section for {a}")
    with open(README) as f:
        readme = f.read()
    for dirpath, _, files in os.walk(k.MON):
        for name in files:
            if name != "README.md":
                fails.check(name in readme, f"monitoring/README.md does not mention {name}")
    print(f"{len(k.METRICS)} metrics, {len(exprs)} PromQL examples, {len(alerts)} runbook sections")
    fails.finish("docs")


if __name__ == "__main__":
    main()
