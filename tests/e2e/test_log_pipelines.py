"""The log shipping examples of monitoring/logs/ parse real kronosd output, and their LogQL finds things.

No collector is packaged in Debian (Promtail, Grafana Alloy, Fluent Bit, Vector) and there is no network
here, so each example's parsing rules are read from the example file itself and run with the
collector's documented semantics, on real lines: two real kronosd processes (one healthy, one whose
model fails to load) get a request with a known X-Request-ID and traceparent, a batch, invalid input, a
caller outside the whitelist, a rate-limited flood and predictions answered 503; their stdout is wrapped
the way containerd (CRI) and Docker (json-file) write it, then:
- Promtail: the cri and docker stages, the json stage's expressions, the labels and timestamp stages;
- Alloy: stage.json, stage.labels and stage.timestamp of loki.process;
- Fluent Bit: the tail input's cri parser (key `log`), the parser filter with the kronosd_json parser
  (Format json, Time_Key, Time_Format, Reserve_Data), the labels the Loki output builds;
- Vector: the remap program (parse_json of .message merged into the event, parse_timestamp "%+") and the
  labels its Loki sink templates.
Every kronosd line must come out with level, logger, message, request fields where the line has them,
labels only from the bounded set (service, namespace, pod, level, logger) with bounded values, and the
event time equal to kronosd's `timestamp`. Each LogQL query of monitoring/logs/README.md must parse
(a small LogQL subset: selector, json, label filters, line_format, unwrap, count/quantile_over_time),
use only those labels and fields that exist, and the queries for a request id, a trace id, 5xx answers
and security events must find their lines.
"""
import datetime
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kronos_e2e as k  # noqa: E402
import live  # noqa: E402

LOGS = os.path.join(k.MON, "logs")
REQUEST_ID = "my-req-1"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
LABELS = {"service", "namespace", "pod", "level", "logger"}
POD = {"namespace": "kronos-e2e", "pod": "kronosd-0"}


# ---------------------------------------------------------------- real kronosd output
def request_body(n=4):
    ts = [f"2025-10-14T10:{5 * i:02d}:00Z" for i in range(n + 2)]
    return {"series_id": "BTC-USDT", "candles": [{"open": 100, "high": 101, "low": 99, "close": 100.5}] * n,
            "timestamps": ts[:n], "prediction_timestamps": ts[n:]}


def kronosd_lines():
    with live.Stack() as stack:
        _, port = stack.kronosd({"KRONOS_CONTAINER_WHITELIST": "localhost,caller-a",
                                 "KRONOS_RATE_LIMIT_PER_MINUTE": "6", "KRONOS_RATE_LIMIT_BURST": "2"},
                                name="kronosd-good")
        broken = stack.path("broken-model")
        os.makedirs(broken)
        _, bport = stack.kronosd({"KRONOS_MODEL_PATH": broken}, name="kronosd-broken")
        js = {"Content-Type": "application/json"}

        def post(p, path, body, **headers):
            return live.http_request(p, "POST", path, body=json.dumps(body).encode(), headers=dict(js, **headers))[0]
        statuses = [
            post(port, "/v1/predict/single", request_body(), **{"X-Request-ID": REQUEST_ID,
                 "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}),
            post(port, "/v1/predict/batch", {"items": [dict(request_body(), series_id=s) for s in "AB"]}),
            post(port, "/v1/predict/single", {"candles": []}),
            post(port, "/v1/predict/single", request_body(), **{"X-Container-Name": "intruder"}),
            live.http_request(port, "GET", "/nope")[0],
        ]
        statuses += [post(port, "/v1/predict/single", {}, **{"X-Container-Name": "caller-a"}) for _ in range(5)]
        statuses += [post(bport, "/v1/predict/single", request_body()) for _ in range(2)]
        time.sleep(0.3)
        lines = []
        for name, proc, log in stack.procs:
            stack.stop(proc)
            with open(log) as f:
                lines += [line.rstrip("\n") for line in f if line.startswith("{")]
    return statuses, lines


def cri(line, ts):
    return f"{ts} stdout F {line}"


def docker(line, ts):
    return json.dumps({"log": line + "\n", "stream": "stdout", "time": ts})


def parse_rfc3339(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))


# ---------------------------------------------------------------- collectors' semantics
def simple_path(expr, where, fails):
    """JMESPath / Alloy expressions kept to plain field names (what the examples need)."""
    fails.check(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", expr), f"{where}: expression {expr!r} is not a plain field")
    return expr


def promtail_run(stages, raw, fails):
    out, extracted, labels, ts = raw, {}, {}, None
    for stage in stages:
        (kind, cfg), = stage.items()
        cfg = cfg or {}
        if kind == "cri":
            m = re.match(r"^(\S+?) (stdout|stderr) (\S+?) (.*)$", out)
            if not m:
                return None
            out = m.group(4)
        elif kind == "docker":
            try:
                out = json.loads(out)["log"].rstrip("\n")
            except (ValueError, KeyError):
                return None
        elif kind == "json":
            try:
                doc = json.loads(out)
            except ValueError:
                continue
            for name, expr in cfg["expressions"].items():
                key = simple_path(expr or name, f"promtail json {name}", fails)
                if key in doc:
                    extracted[name] = doc[key]
        elif kind == "labels":
            for name, source in cfg.items():
                if (source or name) in extracted:
                    labels[name] = str(extracted[source or name])
        elif kind == "timestamp":
            fails.check(cfg.get("format") == "RFC3339Nano", f"promtail timestamp format {cfg.get('format')}")
            if cfg["source"] in extracted:
                ts = parse_rfc3339(extracted[cfg["source"]])
        else:
            fails.check(False, f"promtail stage {kind} not understood by this test")
    return out, extracted, labels, ts


def river_map(text, block):
    m = re.search(block + r"\s*\{\s*(?:expressions|values)\s*=\s*\{(.*?)\}\s*\}", text, re.S)
    return dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', m.group(1))) if m else {}


def alloy_run(text, content, fails):
    expressions, label_map = river_map(text, r"stage\.json"), river_map(text, r"stage\.labels")
    ts_block = re.search(r'stage\.timestamp\s*\{\s*source\s*=\s*"([^"]+)"\s*format\s*=\s*"([^"]+)"', text)
    extracted, labels, ts = {}, {}, None
    doc = json.loads(content)
    for name, expr in expressions.items():
        key = simple_path(expr or name, f"alloy stage.json {name}", fails)
        if key in doc:
            extracted[name] = doc[key]
    for name, source in label_map.items():
        if (source or name) in extracted:
            labels[name] = str(extracted[source or name])
    if fails.check(ts_block and ts_block.group(2) == "RFC3339Nano", "alloy stage.timestamp missing or not RFC3339Nano"):
        ts = parse_rfc3339(extracted[ts_block.group(1)])
    return extracted, labels, ts


def fluentbit_sections(path):
    sections = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.fullmatch(r"\[(\w+)\]", line)
            if m:
                sections.append((m.group(1).upper(), {}))
            else:
                key, _, value = line.partition(" ")
                sections[-1][1][key.strip().lower()] = value.strip()
    return sections


def fluentbit_run(conf, parsers, raw, fails):
    inp = next(s for n, s in conf if n == "INPUT")
    fails.check(inp.get("name") == "tail" and "cri" in inp.get("multiline.parser", ""), "fluent-bit: tail + cri parser")
    m = re.match(r"^(?P<time>.+?) (?P<stream>stdout|stderr) (?P<_p>F|P) (?P<log>.*)$", raw)
    record = {"time": m.group("time"), "stream": m.group("stream"), "log": m.group("log")}
    filt = next(s for n, s in conf if n == "FILTER" and s.get("name") == "parser")
    parser = next((s for n, s in parsers if n == "PARSER" and s.get("name") == filt.get("parser")), None)
    if not fails.check(parser and parser.get("format") == "json", "fluent-bit: the filter's parser is not a json parser"):
        return None
    fails.check(filt.get("key_name") in record, f"fluent-bit: parser filter reads key {filt.get('key_name')}, "
                                                 f"the cri parser writes {sorted(record)}")
    doc = json.loads(record[filt["key_name"]])
    fmt = parser["time_format"].replace("%L", "%f")
    try:
        ts = datetime.datetime.strptime(doc[parser["time_key"]], fmt).replace(tzinfo=datetime.timezone.utc)
    except (KeyError, ValueError) as e:
        fails.check(False, f"fluent-bit: Time_Key/Time_Format do not read kronosd's timestamp: {e}")
        ts = None
    if parser.get("time_keep", "").lower() != "on":
        del doc[parser["time_key"]]
    if filt.get("reserve_data", "").lower() == "on":
        doc = dict(record, **doc)
        del doc[filt["key_name"]]
    doc["kubernetes"] = {"namespace_name": POD["namespace"], "pod_name": POD["pod"]}
    out = next(s for n, s in conf if n == "OUTPUT")
    labels = {}
    for pair in out.get("labels", "").split(","):
        name, _, value = pair.strip().partition("=")
        if value.startswith("$"):
            keys = re.findall(r"\['([^']+)'\]", value)
            base = re.match(r"\$(\w+)", value).group(1)
            v = doc.get(base)
            for key in keys:
                v = v.get(key) if isinstance(v, dict) else None
            if v is not None:
                labels[name] = str(v)
        else:
            labels[name] = value
    return doc, labels, ts


def vector_run(cfg, content, fails):
    transform = next(iter(cfg["transforms"].values()))
    src = " ".join(transform["source"].split())
    for needed in ("parse_json(.message)", "merge!(., parsed)", 'parse_timestamp(.timestamp, format: "%+")'):
        fails.check(needed in src, f"vector remap: {needed} missing (this test runs exactly that program)")
    event = {"message": content, "kubernetes": {"pod_namespace": POD["namespace"], "pod_name": POD["pod"]}}
    try:
        parsed = json.loads(event["message"])
    except ValueError:
        return event, {}, None
    event.update(parsed)
    ts = parse_rfc3339(event["timestamp"])
    labels = {}
    for name, template in next(iter(cfg["sinks"].values()))["labels"].items():
        m = re.fullmatch(r"\{\{\s*([\w.]+)\s*\}\}", template)
        if m:
            v = event
            for part in m.group(1).split("."):
                v = v.get(part) if isinstance(v, dict) else None
            fails.check(v is not None, f"vector label {name}: {template} is empty for {content[:80]}")
            if v is not None:
                labels[name] = str(v)
        else:
            labels[name] = template
    return event, labels, ts


# ---------------------------------------------------------------- LogQL subset
def parse_logql(q):
    """(stream selector dict, stages, metric info) or raises ValueError."""
    metric = None
    m = re.fullmatch(r"sum by \(([\w, ]+)\) \(count_over_time\((.*) \[(\d+[smh])\]\)\)", q)
    if m:
        metric, q = {"by": [x.strip() for x in m.group(1).split(",")]}, m.group(2)
    m = re.fullmatch(r"quantile_over_time\(([\d.]+), (.*) \[(\d+[smh])\]\) by \(([\w, ]+)\)", q)
    if m:
        metric, q = {"by": [x.strip() for x in m.group(4).split(",")], "quantile": float(m.group(1))}, m.group(2)
    m = re.fullmatch(r"\{([^}]*)\}(.*)", q)
    if not m:
        raise ValueError("no stream selector")
    selector = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
    if not selector:
        raise ValueError("empty stream selector")
    stages = []
    for part in [p.strip() for p in re.split(r'\|(?=(?:[^"]*"[^"]*")*[^"]*$)', m.group(2)) if p.strip()]:
        if part == "json":
            stages.append(("json",))
        elif part.startswith("line_format "):
            stages.append(("line_format", re.findall(r"\{\{\s*\.(\w+)\s*\}\}", part)))
        elif part.startswith("unwrap "):
            stages.append(("unwrap", part.split()[1]))
        else:
            f = re.fullmatch(r'(\w+)\s*(=|!=|>=|<=|>|<)\s*("([^"]*)"|[\d.]+)', part)
            if not f:
                raise ValueError(f"stage {part!r} not understood")
            value = f.group(4) if f.group(3).startswith('"') else float(f.group(3))
            stages.append(("filter", f.group(1), f.group(2), value))
    return selector, stages, metric


OPS = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
       "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


def run_logql(selector, stages, records):
    hits = []
    for labels, fields in records:
        if any(labels.get(key) != v for key, v in selector.items()):
            continue
        ok = True
        for st in stages:
            if st[0] == "filter":
                _, name, op, value = st
                got = fields.get(name)
                if isinstance(value, float):
                    ok = isinstance(got, (int, float)) and OPS[op](float(got), value)
                else:
                    ok = OPS[op]("" if got is None else str(got), value)
            elif st[0] == "unwrap":
                ok = isinstance(fields.get(st[1]), (int, float))
            if not ok:
                break
        if ok:
            hits.append(fields)
    return hits


# ---------------------------------------------------------------- the test
def check_record(what, line, fields, labels, ts, fails):
    doc = json.loads(line)
    where = f"{what}: {doc.get('message')!r} ({doc.get('logger')})"
    for key in ("level", "logger", "message", "timestamp"):
        fails.check(fields.get(key) == doc[key], f"{where}: field {key} not extracted")
    for key in ("request_id", "trace_id", "endpoint", "status_code", "latency_ms"):
        if key in doc:
            fails.check(fields.get(key) == doc[key], f"{where}: field {key} not extracted")
    fails.check(set(labels) <= LABELS, f"{where}: labels {sorted(labels)} outside {sorted(LABELS)}")
    fails.check(labels.get("level") in LEVELS and str(labels.get("logger", "")).startswith("kronosd"),
                f"{where}: level/logger labels {labels}")
    fails.check(ts == parse_rfc3339(doc["timestamp"]), f"{where}: event time {ts} is not kronosd's {doc['timestamp']}")


def main():
    fails = k.Failures()
    statuses, lines = kronosd_lines()
    fails.check({200, 422, 403, 404, 429, 503} <= set(statuses), f"traffic answers {statuses}")
    fails.check(len(lines) >= 20, f"only {len(lines)} log lines")
    runtime_ts = "2026-11-22T03:15:06.419283741Z"

    promtail = k.load_yaml(os.path.join(LOGS, "promtail.yml"))
    job = promtail["scrape_configs"][0]
    fails.check(any(r.get("target_label") == "service" and r.get("replacement") == "kronosd"
                    for r in job["relabel_configs"]), "promtail: no service=kronosd label")
    records = []
    for line in lines:
        # Kubernetes (cri, as shipped) and Docker (the documented swap of the first stage)
        for wrap, first in ((cri, "cri"), (docker, "docker")):
            stages = [{first: {}}] + [s for s in job["pipeline_stages"] if "cri" not in s and "docker" not in s]
            res = promtail_run(stages, wrap(line, runtime_ts), fails)
            if fails.check(res and res[0] == line, f"promtail {first}: line not recovered"):
                out, extracted, labels, ts = res
                check_record(f"promtail/{first}", line, extracted, labels, ts, fails)
                if first == "cri":
                    records.append((dict(labels, service="kronosd", **POD), json.loads(out)))

    with open(os.path.join(LOGS, "alloy.river")) as f:
        alloy = f.read()
    fails.check(re.search(r'target_label\s*=\s*"service"\s*replacement\s*=\s*"kronosd"', alloy),
                "alloy: no service=kronosd label")
    for line in lines:
        extracted, labels, ts = alloy_run(alloy, line, fails)
        check_record("alloy", line, extracted, labels, ts, fails)

    conf = fluentbit_sections(os.path.join(LOGS, "fluent-bit.conf"))
    parsers = fluentbit_sections(os.path.join(LOGS, "parsers-kronosd.conf"))
    service = next(s for n, s in conf if n == "SERVICE")
    fails.check(service.get("parsers_file") == "parsers-kronosd.conf", "fluent-bit: Parsers_File")
    for line in lines:
        res = fluentbit_run(conf, parsers, cri(line, runtime_ts), fails)
        if res:
            doc, labels, ts = res
            fails.check(labels.get("service") == "kronosd" and labels.get("namespace") == POD["namespace"],
                        f"fluent-bit labels {labels}")
            check_record("fluent-bit", line, doc, {k_: v for k_, v in labels.items()}, ts, fails)

    vector = k.load_yaml(os.path.join(LOGS, "vector.yaml"))
    for line in lines:
        event, labels, ts = vector_run(vector, line, fails)
        check_record("vector", line, event, labels, ts, fails)
    event, _, _ = vector_run(vector, "kronosd: invalid configuration: KRONOS_PORT", fails)
    fails.check(event["message"].startswith("kronosd: invalid"), "vector: a non-JSON line is not passed through")

    with open(os.path.join(LOGS, "README.md")) as f:
        readme = f.read()
    queries = [q.strip() for block in re.findall(r"```logql\n(.*?)```", readme, re.S)
               for q in block.splitlines() if q.strip() and not q.lstrip().startswith("#")]
    fails.check(len(queries) >= 8, f"only {len(queries)} LogQL examples")
    all_fields = {key for _, f in records for key in f}
    for q in queries:
        try:
            selector, stages, metric = parse_logql(q)
        except ValueError as e:
            fails.check(False, f"LogQL {q!r}: {e}")
            continue
        fails.check(set(selector) <= LABELS, f"LogQL {q!r}: selector labels outside {sorted(LABELS)}")
        fails.check(("json",) in stages, f"LogQL {q!r}: fields need | json")
        for st in stages:
            names = [st[1]] if st[0] in ("filter", "unwrap") else st[1] if st[0] == "line_format" else []
            for name in names:
                fails.check(name in all_fields, f"LogQL {q!r}: field {name} is in no kronosd line")
        if metric:
            fails.check(set(metric["by"]) <= LABELS, f"LogQL {q!r}: grouped by a label that is not set")
        hits = run_logql(selector, stages, records)
        must = (REQUEST_ID in q or TRACE_ID in q or "status_code >= 500" in q or "kronosd.security" in q)
        if must:
            fails.check(hits, f"LogQL {q!r} finds nothing in the real output")
        if REQUEST_ID in q:
            fails.check({h.get("logger") for h in hits} >= {"kronosd.http", "kronosd.predict"},
                        f"LogQL {q!r}: the request's http and predict lines expected, got {len(hits)}")
    print(f"{len(lines)} kronosd lines through promtail (cri, docker), alloy, fluent-bit and vector; "
          f"{len(queries)} LogQL queries")
    fails.finish("log pipelines")


if __name__ == "__main__":
    main()
