"""The generated SLO rules and PrometheusRule are fresh, and the generator does what the spec says.

scripts/gen-slo-rules.py --check must pass (CI fails when someone edits monitoring/slo/kronos-slos.yml
or kronos-alerts.yml without regenerating). The generated rules are then read back: one recording
chain per SLO and window, one burn-rate alert per SLO and tier, each alert comparing both windows of its
tier against the tier's factor and carrying the minimum-traffic guard of the spec.
"""
import copy
import importlib.util
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kronos_e2e as k  # noqa: E402

SPEC = os.path.join(k.MON, "slo/kronos-slos.yml")


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_slo_rules", os.path.join(k.ROOT, "scripts/gen-slo-rules.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def check_generator(spec, fails):
    """The generator follows the spec (not a fixed answer) and refuses a broken one."""
    gen = load_generator()
    changed = copy.deepcopy(spec)
    changed["slos"][0]["objective"] = 0.995
    latency = next(i for i, s in enumerate(changed["slos"]) if s["kind"] == "latency")
    changed["slos"][latency]["threshold_seconds"] = 2
    changed["burn_rates"][0]["factor"] = 10
    rules = [r for g in gen.slo_rules(changed)["groups"] for r in g["rules"]]
    first, last = changed["slos"][0]["name"], changed["slos"][latency]["name"]
    fails.check(any(r.get("record", "").startswith("kronos:slo_burn:") and r["labels"]["slo"] == first
                    and r["expr"].endswith("/ 0.005") for r in rules), "generator ignores a changed objective")
    fails.check(any('le=~"2|2\\\\.0"' in r.get("expr", "") for r in rules if r.get("labels", {}).get("slo") == last),
                "generator ignores a changed latency threshold")
    fails.check(any("> 10\n" in r.get("expr", "") for r in rules if "alert" in r),
                "generator ignores a changed burn-rate factor")
    for mutate, what in ((lambda s: s["slos"][0].update(objective=1.5), "objective 1.5"),
                         (lambda s: s["burn_rates"][0].update(short="2h"), "short window longer than long"),
                         (lambda s: s["slos"].append(dict(s["slos"][0])), "repeated SLO name"),
                         (lambda s: s.pop("selector"), "missing selector"),
                         (lambda s: s["slos"][0].update(errors=s["slos"][0]["errors"].replace(
                             'status=~"', 'status=~"rejected|')), "the retired status rejected"),
                         (lambda s: s["slos"][0].update(total=s["slos"][0]["total"].replace(
                             "unavailable", "success")), "bad events outside the total"),
                         (lambda s: s["slos"][latency].update(threshold_seconds=3),
                          "a latency threshold of 3 s, not a bucket boundary"),
                         (lambda s: s["slos"][latency].update(threshold_seconds=0.3),
                          "a latency threshold of 0.3 s, not a bucket boundary"),
                         (lambda s: s["slos"][latency].update(histogram="kronos_request_size_bytes"),
                          "a latency SLI on a histogram that is not a latency"),
                         (lambda s: s["slos"][0].update(kind="availability"), "an unknown kind")):
        broken = copy.deepcopy(spec)
        mutate(broken)
        try:
            gen.validate(broken)
            fails.check(False, f"generator accepts a spec with {what}")
        except gen.SpecError as e:
            if "bucket boundary" in what:
                fails.check("not a bucket boundary" in str(e), f"refusal of {what} does not say why: {e}")


def main():
    fails = k.Failures()
    rc, out = k.run([sys.executable, os.path.join(k.ROOT, "scripts/gen-slo-rules.py"), "--check"])
    fails.check(rc == 0, f"generated files are stale or the generator failed:\n{out}")
    spec = k.load_yaml(SPEC)
    rules = k.rules(k.SLO_RULES)
    records = {(r["record"], r["labels"]["slo"]) for r in rules if "record" in r}
    alerts = [r for r in rules if "alert" in r]
    windows = {w for t in spec["burn_rates"] for w in (t["long"], t["short"])}
    for slo in spec["slos"]:
        name = slo["name"]
        for w in windows:
            for rec in ("kronos:slo_requests:rate", "kronos:slo_errors:ratio_rate", "kronos:slo_burn:rate"):
                fails.check((rec + w, name) in records, f"slo {name}: recording rule {rec}{w} missing")
        mine = [a for a in alerts if a["labels"]["slo"] == name]
        fails.check(len(mine) == len(spec["burn_rates"]), f"slo {name}: {len(mine)} alerts for "
                    f"{len(spec['burn_rates'])} burn-rate tiers")
        for tier in spec["burn_rates"]:
            a = next((a for a in mine if a["labels"]["window"] == f"{tier['long']}/{tier['short']}"), None)
            if not fails.check(a is not None, f"slo {name}: no alert for tier {tier}"):
                continue
            factor = f"{tier['factor']:g}"
            for w in (tier["long"], tier["short"]):
                fails.check(f'kronos:slo_burn:rate{w}{{slo="{name}"}} > {factor}' in a["expr"],
                            f"slo {name} tier {factor}: window {w} not compared with {factor}")
            fails.check(f">= {spec['min_requests']}" in a["expr"], f"slo {name} tier {factor}: no traffic guard")
            fails.check(a["labels"]["severity"] == tier["severity"], f"slo {name} tier {factor}: severity")
        for a in mine:
            fails.check(all(a["labels"].get(key) == value for key, value in spec.get("labels", {}).items()),
                        f"slo {name}: alert lacks the spec's labels {spec.get('labels')}")
        for rec in ("kronos:slo_errors:ratio_rate30d", "kronos:slo_error_budget_remaining:ratio30d"):
            fails.check((rec, name) in records, f"slo {name}: {rec} missing")
        budget = round(1 - slo["objective"], 10)
        burn = [r for r in rules if r.get("record", "").startswith("kronos:slo_burn:") and r["labels"]["slo"] == name]
        fails.check(all(r["expr"].endswith(f"/ {budget:g}") for r in burn), f"slo {name}: burn not divided by budget {budget:g}")
    check_generator(spec, fails)
    print(f"{len(spec['slos'])} SLOs, {len(records)} recording rules, {len(alerts)} burn-rate alerts")
    fails.finish("slo rules")


if __name__ == "__main__":
    main()
