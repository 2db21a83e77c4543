"""Grafana provisioning files (monitoring/grafana/provisioning/), as Grafana reads them (Grafana itself
is not packaged in Debian, so its loader's rules are checked here):
- apiVersion 1; every data source has name, uid, type, access/url; uids are unique;
- Grafana expands $VAR and ${VAR} from its environment in these files: every literal `$` is written `$$`
  (an unescaped ${__trace.traceId} would silently become empty);
- the Prometheus data source links exemplars' trace_id to a provisioned tracing data source, and the
  Loki derived field and Tempo's traces-to-logs point at provisioned uids;
- the dashboard provider reads the folder that holds the provisioned dashboard copy, whose data source
  variable starts on the provisioned Prometheus uid (no ${DS_PROMETHEUS}; e2e_dashboard_lint checks it
  equals the imported dashboard otherwise).
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kronos_e2e as k  # noqa: E402

PROV = os.path.join(k.MON, "grafana/provisioning")
DATASOURCES = os.path.join(PROV, "datasources/kronos-datasources.yml")
PROVIDERS = os.path.join(PROV, "dashboards/kronos-dashboards.yml")
DASHBOARD = os.path.join(PROV, "dashboards/kronosd/kronos-dashboard.json")


def unescaped_dollars(path):
    """Lines (not comments) with a `$` Grafana would expand: $name or ${...} not written $$."""
    bad = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            code = line.split("#", 1)[0] if line.lstrip().startswith("#") else line
            if re.search(r"(?<!\$)\$(?!\$)(\{|[A-Za-z_])", code.replace("$$", "")):
                bad.append(f"{os.path.basename(path)}:{n}: {line.strip()}")
    return bad


def main():
    fails = k.Failures()
    ds_doc = k.load_yaml(DATASOURCES)
    fails.check(ds_doc.get("apiVersion") == 1, "datasources: apiVersion must be 1")
    sources = {d.get("uid"): d for d in ds_doc.get("datasources", [])}
    fails.check(len(sources) == len(ds_doc.get("datasources", [])), "datasources: uids must be unique")
    for uid, d in sources.items():
        fails.check(d.get("name") and uid and d.get("type") and d.get("url") and d.get("access") == "proxy",
                    f"datasource {d.get('name')}: name, uid, type, url and access: proxy are needed")
    prom = sources.get("prometheus", {})
    fails.check(prom.get("type") == "prometheus", "no Prometheus data source with uid prometheus")
    links = prom.get("jsonData", {}).get("exemplarTraceIdDestinations", [])
    fails.check(any(l.get("name") == "trace_id" and l.get("datasourceUid") in sources
                    and sources[l["datasourceUid"]]["type"] in ("tempo", "jaeger", "zipkin") for l in links),
                f"exemplars' trace_id is not linked to a provisioned tracing data source: {links}")
    fails.check(re.fullmatch(r"\d+[smh]", str(prom.get("jsonData", {}).get("timeInterval", ""))),
                "Prometheus timeInterval (the scrape interval) must be set for $__rate_interval")
    for uid, d in sources.items():
        j = d.get("jsonData", {})
        for f in j.get("derivedFields", []):
            fails.check(f.get("datasourceUid") in sources, f"{d['name']}: derived field points at {f.get('datasourceUid')}")
            sample = '{"level":"INFO","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"f036f5dff8ab6385"}'
            m = re.search(f.get("matcherRegex", "^$"), sample)
            fails.check(m and m.group(1) == "4bf92f3577b34da6a3ce929d0e0e4736",
                        f"{d['name']}: derived field regex does not extract trace_id from a kronosd line")
        t2l = j.get("tracesToLogsV2")
        if t2l:
            fails.check(t2l.get("datasourceUid") in sources, f"{d['name']}: traces-to-logs points at {t2l}")
    for path in (DATASOURCES, PROVIDERS):
        for line in unescaped_dollars(path):
            fails.check(False, f"unescaped $ (Grafana would expand it from the environment): {line}")

    prov = k.load_yaml(PROVIDERS)
    fails.check(prov.get("apiVersion") == 1, "dashboard providers: apiVersion must be 1")
    providers = prov.get("providers", [])
    fails.check(len(providers) == 1 and providers[0].get("type") == "file", "one file provider expected")
    path = providers[0].get("options", {}).get("path", "") if providers else ""
    fails.check(os.path.basename(path.rstrip("/")) == os.path.basename(os.path.dirname(DASHBOARD)),
                f"provider path {path} does not end in the folder holding the provisioned dashboard")
    with open(DASHBOARD) as f:
        text = f.read()
    d = json.loads(text)
    fails.check("${DS_" not in text, "the provisioned dashboard still needs ${DS_PROMETHEUS}")
    var = next((v for v in d["templating"]["list"] if v["type"] == "datasource"), {})
    fails.check(var.get("current", {}).get("value") in sources and var.get("query") == "prometheus",
                f"the dashboard's data source variable starts on {var.get('current')}, not a provisioned uid")
    print(f"{len(sources)} data sources, provider path {path}")
    fails.finish("grafana provisioning")


if __name__ == "__main__":
    main()
