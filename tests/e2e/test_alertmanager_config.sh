# Alertmanager example: amtool check-config, and each severity routed to its receiver
# (critical -> pager, warning -> chat, info -> email), grouped by alertname and instance.
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
expect_route pager alertname=KronosServiceDown severity=critical instance=k1:8000
expect_route chat alertname=KronosHighLatency severity=warning instance=k1:8000
expect_route email alertname=KronosSecurityEvents severity=info instance=k1:8000
expect_route pager alertname=KronosAvailabilityBudgetBurn severity=critical slo=availability
expect_route chat alertname=SomethingElse

# grouping and the inhibition of warnings by KronosServiceDown are part of the contract of this file
/usr/bin/python3 - "$cfg" <<'PY' || fail=1
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
grouped = set(cfg["route"].get("group_by", [])) == {"alertname", "instance"}
print("ok: grouped by alertname, instance" if grouped else "FAIL: route must group by alertname, instance")
ok = grouped and any('alertname="KronosServiceDown"' in r.get("source_matchers", []) and
         any("warning" in m for m in r.get("target_matchers", [])) and "instance" in r.get("equal", [])
         for r in cfg.get("inhibit_rules", []))
print("ok: warnings inhibited per instance while KronosServiceDown fires" if ok else
      "FAIL: no inhibit rule muting warnings while KronosServiceDown fires")
sys.exit(0 if ok else 1)
PY

[ $fail -eq 0 ] && echo "alertmanager config: ok"
exit $fail
