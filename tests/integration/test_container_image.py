"""deploy/container (issue 11): what can be checked of the image and the compose file without a
container engine (none runs on these machines; docs/DEPLOYMENT.md says the image was not built).

- Build stage: its RUN steps are the commands CI and a user run (scripts/install-deps.sh run, then
  `make install`), and they work on exactly the files the build context holds (the repository
  minus .dockerignore): run here in a copy of that context, the staged binary answers --version.
- Runtime stage: bookworm-slim; a Debian runtime package installed for every shared library `ldd`
  says the staged binary needs (mapped with dpkg -S); no -dev package; numeric non-root USER 1000;
  ENTRYPOINT where make install put the binary; STOPSIGNAL SIGTERM; its KRONOS_* settings are the
  binary's and point the model under /models.
- HEALTHCHECK: its command, run as written against the real kronosd started with the image's
  environment (/models laid out as scripts/fetch-weights.sh writes it, from the tiny reference
  model), exits 0; against a port nobody listens on, non-zero. Its path is a GET route.
- compose.yaml: parses, builds this Dockerfile, container kronos-api (the name the runbook uses),
  port, environment, healthcheck (compose-interpolated) agree with the image and the binary, stop
  grace above drain delay + shutdown grace, the kronos-internal network and the external monitoring
  network of the old service's guide, the Docker discovery label.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile

import yaml

from deploy_checks import (ROOT, dockerfile_stages, fake_models, help_settings, ldd_packages,
                           routes, seconds)
from harness import BIN, Checker, Kronosd, have_tiny_model

c = Checker()
DOCKERFILE = os.path.join(ROOT, "deploy", "container", "Dockerfile")
COMPOSE = os.path.join(ROOT, "deploy", "container", "compose.yaml")
SETTINGS = help_settings()
ROUTES = routes()
c.check("KRONOS_PORT" in SETTINGS and "KRONOS_DRAIN_DELAY" in SETTINGS,
        "kronosd --help lists its settings (%d found)" % len(SETTINGS))

stages = dockerfile_stages(DOCKERFILE)
c.eq(len(stages), 2, "Dockerfile stages (build, runtime)")
(build_base, build_name, build), (run_base, _, runtime) = stages[0], stages[-1]


def args(stage, op):
    return [a for o, a in stage if o == op]


# --- build stage: CI's commands --------------------------------------------------------------
with open("/etc/os-release") as f:
    codename = re.search(r"^VERSION_CODENAME=(\S+)", f.read(), re.M).group(1)
c.eq(build_base, "debian:%s" % codename,
     "build stage base: the Debian release CI builds on (ldd's packages below are its names)")
c.eq(run_base, "debian:%s-slim" % codename, "runtime stage base")
build_runs = args(build, "RUN")
c.eq(build_runs, ["bash scripts/install-deps.sh run", "make install PREFIX=/usr/local DESTDIR=/staging"],
     "build stage RUN steps")
with open(os.path.join(ROOT, ".ci", "run")) as f:
    ci = f.read()
c.check(re.search(r"^bash scripts/install-deps\.sh ", ci, re.M),
        ".ci/run installs its packages with scripts/install-deps.sh")
with open(os.path.join(ROOT, "Makefile")) as f:
    makefile = f.read()
install_rule = re.search(r"^install:\n((?:\t.*\n)+)", makefile, re.M)
c.check(install_rule and "-DCMAKE_BUILD_TYPE=Release" in install_rule.group(1)
        and "cmake --install" in install_rule.group(1),
        "`make install` is the CMake release build and its install rules")
c.eq(args(build, "COPY"), [". ."], "build stage copies the whole context")


def ignore_patterns():
    pats = []
    with open(os.path.join(ROOT, ".dockerignore")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                c.check(not line.startswith("!"), ".dockerignore: no exceptions (this check has none)")
                pats.append(line.strip("/"))
    return pats


def ignored(rel, pats):
    """Docker's rule, for the patterns used here: a pattern matching a path or one of its parent
    folders leaves it out; ** matches any number of folders."""
    parts = rel.split("/")
    for pat in pats:
        rx = "^" + re.escape(pat).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*") + "$"
        for i in range(1, len(parts) + 1):
            if re.match(rx, "/".join(parts[:i])):
                return True
    return False


def context_copy(dest):
    """The repository as `docker build` sends it: every file but those .dockerignore leaves out."""
    pats = ignore_patterns()
    n = 0
    for dirpath, dirnames, filenames in os.walk(ROOT):
        rel_dir = os.path.relpath(dirpath, ROOT)
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = [d for d in dirnames if not ignored(rel_dir + d, pats)]
        for name in filenames:
            rel = rel_dir + name
            if ignored(rel, pats):
                continue
            os.makedirs(os.path.join(dest, rel_dir), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, rel), os.path.join(dest, rel), follow_symlinks=False)
            n += 1
    return n


tmp = tempfile.mkdtemp(prefix="kronos-image-")
try:
    ctx = os.path.join(tmp, "src")
    n = context_copy(ctx)
    c.check(not os.path.exists(os.path.join(ctx, ".git")) and not os.path.exists(os.path.join(ctx, "build")),
            ".dockerignore leaves out .git and build/")
    print("build context: %d files" % n, flush=True)
    staging = os.path.join(tmp, "staging")
    for step in build_runs:
        # The build stage's WORKDIR is the context; DESTDIR points into this test's folder.
        cmd = step.replace("DESTDIR=/staging", "DESTDIR=%s JOBS=2" % staging)
        p = subprocess.run(["bash", "-c", cmd], cwd=ctx, capture_output=True, text=True, timeout=540)
        c.check(p.returncode == 0, "build step `%s` in the build context: exit %d\n%s"
                % (step, p.returncode, (p.stdout + p.stderr)[-3000:]))
    staged = os.path.join(staging, "usr", "local", "bin", "kronosd")
    p = subprocess.run([staged, "--version"], capture_output=True, text=True, timeout=10)
    c.check(p.returncode == 0 and p.stdout.startswith("kronosd "),
            "the staged /usr/local/bin/kronosd answers --version (%r)" % (p.stdout + p.stderr)[:200])
    # The libraries of the binary the image would hold (a sanitized binary under test needs more).
    needed = ldd_packages(staged if p.returncode == 0 else BIN)
finally:
    shutil.rmtree(tmp, ignore_errors=True)

# --- runtime stage ---------------------------------------------------------------------------
runtime_runs = " ".join(args(runtime, "RUN"))
installs = re.findall(r"apt-get install ([^&;|]*)", runtime_runs)
c.eq(len(installs), 1, "runtime stage: one apt-get install")
packages = set(w for w in " ".join(installs).split() if not w.startswith("-"))
c.check(len(needed) >= 3, "ldd lists the binary's libraries: %r" % needed)
for lib, pkg in sorted(needed.items()):
    c.check(pkg is not None, "dpkg -S finds the package of %s" % lib)
    if pkg:
        c.check(pkg in packages, "runtime stage installs %s (for %s); it installs %s"
                % (pkg, lib, sorted(packages)))
print("libraries -> packages: %s" % ", ".join("%s=%s" % (os.path.basename(k), v)
                                              for k, v in sorted(needed.items())))
c.check(not [p for p in packages if p.endswith("-dev")], "no -dev package in the runtime stage")
c.check("--no-install-recommends" in installs[0] if installs else False, "--no-install-recommends")
c.check("rm -rf /var/lib/apt/lists" in runtime_runs, "apt lists removed from the image")
c.eq(args(runtime, "COPY"), ["--from=build /staging/usr/local/ /usr/local/"], "runtime COPY of the install")
c.eq(args(runtime, "ENTRYPOINT"), ['["/usr/local/bin/kronosd"]'], "ENTRYPOINT (make install's bin dir)")
user = args(runtime, "USER")
c.eq(user, ["1000:1000"], "USER: the old service's uid, numeric (runAsNonRoot can check it)")
c.check(re.search(r"useradd [^&]*--uid 1000", runtime_runs), "a passwd entry for uid 1000")
c.eq(args(runtime, "STOPSIGNAL"), ["SIGTERM"], "STOPSIGNAL")
env = {}
for a in args(runtime, "ENV"):
    for word in shlex.split(a):
        k, _, v = word.partition("=")
        env[k] = v
for k in env:
    c.check(k in SETTINGS, "ENV %s is a setting of kronosd" % k)
c.check(env.get("KRONOS_MODEL_PATH", "").startswith("/models/"), "KRONOS_MODEL_PATH under /models")
c.eq(args(runtime, "EXPOSE"), [env.get("KRONOS_PORT", SETTINGS.get("KRONOS_PORT"))], "EXPOSE = KRONOS_PORT")
c.eq(env.get("KRONOS_PORT"), SETTINGS.get("KRONOS_PORT"), "the image's port is the binary's default")

hc = args(runtime, "HEALTHCHECK")
c.eq(len(hc), 1, "one HEALTHCHECK")
hc_opts = dict(re.findall(r"--([a-z-]+)=(\S+)", hc[0])) if hc else {}
hc_cmd = json.loads(hc[0].split(" CMD ", 1)[1]) if hc and " CMD " in hc[0] else []
c.check(hc_cmd and hc_cmd[0] == "bash", "HEALTHCHECK CMD in exec form with bash: %r" % hc_cmd)
c.check("curl" not in " ".join(hc_cmd) or "curl" in packages, "the health check's tools are in the image")
hc_paths = re.findall(r"GET (/\S*) HTTP", " ".join(hc_cmd))
c.eq(hc_paths, ["/v1/healthz"], "HEALTHCHECK path")
for path in hc_paths:
    c.eq(ROUTES.get(path), "GET", "%s is a GET route of src/api/routes.c" % path)


def healthcheck(port):
    e = dict(os.environ, KRONOS_PORT=str(port))
    return subprocess.run(hc_cmd, env=e, capture_output=True, timeout=10).returncode


if have_tiny_model("the image's environment against the real kronosd"):
    tmp = tempfile.mkdtemp(prefix="kronos-models-")
    try:
        models = fake_models(tmp)
        # The harness's loopback address and free port in place of the image's 0.0.0.0:8000.
        image_env = {k: v.replace("/models", models, 1) if v.startswith("/models") else v
                     for k, v in env.items() if k not in ("KRONOS_HOST", "KRONOS_PORT")}
        with Kronosd(env=image_env, wait_ready=True) as k:
            c.eq(healthcheck(k.port), 0, "the HEALTHCHECK command against the running kronosd")
            c.eq(k.get("/v1/healthz").status, 200, "GET /v1/healthz")
            ready = k.get("/v1/readyz").json()
            c.eq(ready.get("model_loaded"), True, "the image's KRONOS_MODEL_PATH layout loads")
        c.check(healthcheck(k.port) != 0, "the HEALTHCHECK command fails once kronosd is gone")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

# --- compose.yaml ----------------------------------------------------------------------------
with open(COMPOSE) as f:
    compose = yaml.safe_load(f)


def interpolate(value):
    """Compose's interpolation with an empty environment: $$ is $, ${VAR:-default} its default."""
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if not isinstance(value, str):
        return value
    out = re.sub(r"\$\{([A-Z_][A-Z0-9_]*)(?::?-([^}]*))?\}|\$\$",
                 lambda m: "$" if m.group(0) == "$$" else (m.group(2) or ""), value)
    return out


svc = compose.get("services", {}).get("kronos-api", {})
c.check(svc, "compose.yaml has the service kronos-api")
build_cfg = svc.get("build", {})
c.eq(os.path.normpath(os.path.join(os.path.dirname(COMPOSE), build_cfg.get("context", ""),
                                   build_cfg.get("dockerfile", "Dockerfile"))),
     DOCKERFILE, "compose builds deploy/container/Dockerfile")
c.eq(os.path.normpath(os.path.join(os.path.dirname(COMPOSE), build_cfg.get("context", ""))), ROOT,
     "compose's build context is the repository root (where .dockerignore is)")
c.eq(svc.get("container_name"), "kronos-api", "container_name (docs/RUNBOOK.md: docker logs kronos-api)")
c.eq(svc.get("user"), "1000:1000", "compose user = the image's USER")
cenv = {k: interpolate(str(v)) for k, v in (svc.get("environment") or {}).items()}
for k in cenv:
    c.check(k in SETTINGS, "compose environment %s is a setting of kronosd" % k)
port = cenv.get("KRONOS_PORT", env.get("KRONOS_PORT"))
c.eq([p.split(":")[-1] for p in svc.get("ports", [])], [port], "compose publishes KRONOS_PORT")
c.eq(cenv.get("KRONOS_MODEL_PATH", env.get("KRONOS_MODEL_PATH")), env.get("KRONOS_MODEL_PATH"),
     "compose and the image name the same model folder")
vols = [interpolate(v) for v in svc.get("volumes", [])]
c.check(any(v.endswith(":/models:ro") for v in vols), "weights mounted read-only at /models: %r" % vols)
hc_compose = svc.get("healthcheck", {})
c.eq(interpolate(hc_compose.get("test")), ["CMD"] + hc_cmd,
     "compose's healthcheck (after compose interpolation) = the image's HEALTHCHECK")
for key in ("interval", "timeout", "start_period", "retries"):
    c.eq(str(hc_compose.get(key)), hc_opts.get(key.replace("_", "-")), "healthcheck %s" % key)
c.eq(svc.get("stop_signal"), "SIGTERM", "compose stop_signal")
drain = float(cenv.get("KRONOS_DRAIN_DELAY", SETTINGS["KRONOS_DRAIN_DELAY"]))
grace = float(cenv.get("KRONOS_SHUTDOWN_GRACE", SETTINGS["KRONOS_SHUTDOWN_GRACE"]))
c.check(drain == float(SETTINGS["KRONOS_DRAIN_DELAY"]) and grace == float(SETTINGS["KRONOS_SHUTDOWN_GRACE"]),
        "compose's drain delay and grace are the binary's defaults (%s, %s)" % (drain, grace))
c.check(seconds(svc.get("stop_grace_period", "10s")) > drain + grace,
        "stop_grace_period %s > KRONOS_DRAIN_DELAY + KRONOS_SHUTDOWN_GRACE (%g s)"
        % (svc.get("stop_grace_period"), drain + grace))
c.eq(sorted(svc.get("networks", [])), ["kronos-internal", "monitoring"], "service networks")
nets = compose.get("networks", {})
c.eq(nets.get("monitoring", {}).get("external"), True, "monitoring is the existing external network")
c.eq(nets.get("kronos-internal", {}).get("driver"), "bridge", "kronos-internal is a bridge network")
with open(os.path.join(ROOT, "monitoring", "prometheus", "scrape", "kronos-docker-sd.yml")) as f:
    sd = yaml.safe_load(f)[0]
wanted = [v for flt in sd["docker_sd_configs"][0].get("filters", []) if flt["name"] == "label"
          for v in flt["values"]]
labels = svc.get("labels", {})
for want in wanted:
    key, _, val = want.partition("=")
    c.eq(str(labels.get(key)), val, "compose label for Docker discovery (%s)" % want)
c.check(svc.get("read_only") is True and svc.get("cap_drop") == ["ALL"],
        "compose: read-only root filesystem, no capabilities")

# The image's and compose's settings together are a configuration kronosd accepts.
if have_tiny_model("--check-config on the compose environment"):
    tmp = tempfile.mkdtemp(prefix="kronos-models-")
    try:
        models = fake_models(tmp)
        merged = dict(env, **cenv)
        merged = {k: v.replace("/models", models, 1) if v.startswith("/models") else v
                  for k, v in merged.items()}
        p = subprocess.run([BIN, "--check-config"], env=dict(os.environ, **merged),
                           capture_output=True, text=True, timeout=30)
        c.eq(p.returncode, 0, "kronosd --check-config with the image's and compose's environment: %s"
             % p.stderr[-500:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

c.done()
