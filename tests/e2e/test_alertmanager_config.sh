# Alertmanager example: amtool check-config, and routing that is safe in a shared Alertmanager:
# kronosd alerts (service="kronosd") go to kronos-page / kronos-ticket / kronos-info by severity,
# everything else (another team's critical alert, an alert without service) to the root receiver;
# pages grouped per service/cluster/namespace (one page per incident, not per replica); every
# inhibit rule confined to kronosd alerts on both sides and matching on namespace/job, never on
# instance alone. The live half (real Alertmanager, inhibition, grouping) is e2e_live_alert.
set -u
root=${KRONOS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cfg=$root/monitoring/alertmanager/alertmanager.yml
fail=0

out=$(amtool check-config "$cfg" 2>&1) || { echo "FAIL: amtool check-config"; echo "$out"; fail=1; }

expect_route() {  # expect_route <receiver> <label=value...>
    local want=$1; shift
    local got
    # stderr carries an unrelated warning about --alertmanager.url; the answer is on stdout
    got=$(amtool config routes test --config.file="$cfg" --verify.receivers="$want" "$@" 2>/dev/null)
    if [ $? -ne 0 ] || [ "$got" != "$want" ]; then
        echo "FAIL: alert {$*} routed to '$got', want '$want'"
        fail=1
    else
        echo "ok: {$*} -> $got"
    fi
}
expect_route kronos-page alertname=KronosServiceDown service=kronosd severity=critical instance=k1:8000
expect_route kronos-ticket alertname=KronosHighLatency service=kronosd severity=warning instance=k1:8000
expect_route kronos-info alertname=KronosSecurityEvents service=kronosd severity=info instance=k1:8000
expect_route kronos-page alertname=KronosAvailabilityBudgetBurn service=kronosd severity=critical slo=availability
expect_route kronos-ticket alertname=KronosAvailabilityBudgetBurn service=kronosd severity=warning slo=availability
# other teams' alerts never reach kronosd's receivers, even with kronos-like names or the same instance
expect_route default alertname=NodeDown severity=critical instance=k1:8000
expect_route default alertname=KronosServiceDown severity=critical
expect_route default alertname=SomethingElse

/usr/bin/python3 - "$cfg" <<'PY' || fail=1
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
ok = True
def check(cond, what):
    global ok
    print(("ok: " if cond else "FAIL: ") + what)
    ok = ok and cond
kronos = [r for r in cfg["route"].get("routes", []) if 'service="kronosd"' in r.get("matchers", [])]
check(len(kronos) == 1, "one subtree for service=kronosd under the root")
page = [r for r in (kronos[0].get("routes", []) if kronos else []) if 'severity="critical"' in r.get("matchers", [])]
check(page and set(page[0].get("group_by", [])) == {"service", "cluster", "namespace"},
      "pages grouped by service, cluster, namespace (one page per incident, not per replica)")
check(kronos and "instance" not in kronos[0].get("group_by", []), "tickets not grouped per instance")
for r in cfg.get("inhibit_rules", []):
    where = f"inhibit {r.get('source_matchers')} -> {r.get('target_matchers')}"
    check('service="kronosd"' in r.get("source_matchers", []) and 'service="kronosd"' in r.get("target_matchers", []),
          where + ": both sides confined to service=kronosd")
    check({"cluster", "namespace"} <= set(r.get("equal", [])), where + ": equal includes cluster and namespace")
down = [r for r in cfg.get("inhibit_rules", []) if "KronosServiceDown" in " ".join(r.get("source_matchers", []))
        and any("warning" in m for m in r.get("target_matchers", []))]
check(down and {"job", "instance"} <= set(down[0]["equal"]), "warnings of a down instance inhibited per job and instance")
burn = [r for r in cfg.get("inhibit_rules", []) if "KronosAvailabilityBudgetBurn" in " ".join(r.get("source_matchers", []))]
check(burn and "KronosHighErrorRate" in " ".join(burn[0]["target_matchers"]),
      "the SLO page and the error-rate page do not both page")
sys.exit(0 if ok else 1)
PY

[ $fail -eq 0 ] && echo "alertmanager config: ok"
exit $fail
