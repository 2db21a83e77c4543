"""Scrape configs: every snippet under monitoring/prometheus/scrape/ is a valid scrape job for
kronos-api on /v1/metrics (checked by promtool inside a complete config), or the synthetic job
kronos-synthetic probing through the blackbox exporter with a module that exists in
monitoring/blackbox/kronos-blackbox.yml (which the exporter itself accepts); the file_sd target file has
the file_sd format, and the example prometheus.yml with both rule files passes promtool check config."""
import glob
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kronos_e2e as k  # noqa: E402

PROM = os.path.join(k.MON, "prometheus")


def main():
    fails = k.Failures()
    tmp = tempfile.mkdtemp(prefix="kronos-promcfg-")
    try:
        for name in ("prometheus.example.yml", "kronos-alerts.yml", "kronos-slo-rules.yml"):
            shutil.copy(os.path.join(PROM, name), tmp)
        rc, out = k.run(["promtool", "check", "config", "prometheus.example.yml"], cwd=tmp)
        fails.check(rc == 0, f"promtool check config prometheus.example.yml:\n{out}")
        snippets = sorted(glob.glob(os.path.join(PROM, "scrape", "*.yml")))
        fails.check(len(snippets) >= 3, "static, file_sd and docker_sd snippets expected")
        kinds, synthetic = set(), []
        for path in snippets:
            jobs = k.load_yaml(path)
            name = os.path.basename(path)
            if not fails.check(isinstance(jobs, list) and jobs, f"{name}: must be a list of scrape jobs"):
                continue
            for job in jobs:
                if job.get("job_name") == "kronos-synthetic":
                    synthetic.append((name, job))
                    continue
                fails.check(job.get("job_name") == "kronos-api", f"{name}: job_name must be kronos-api")
                fails.check(job.get("metrics_path") == "/v1/metrics", f"{name}: metrics_path must be /v1/metrics")
                kinds.update(key for key in job if key.endswith("_configs") and key != "relabel_configs")
            cfg = os.path.join(tmp, "check-" + name)
            with open(cfg, "w") as f:
                k.yaml.safe_dump({"global": {"scrape_interval": "15s"}, "scrape_configs": jobs}, f)
            rc, out = k.run(["promtool", "check", "config", cfg])
            fails.check(rc == 0, f"promtool check config with {name}:\n{out}")
        fails.check(len(synthetic) == 1, "one synthetic (blackbox) scrape job expected")
        modules = k.load_yaml(os.path.join(k.MON, "blackbox/kronos-blackbox.yml"))["modules"]
        for name, job in synthetic:
            fails.check(job.get("metrics_path") == "/probe", f"{name}: the blackbox exporter answers on /probe")
            for module in job.get("params", {}).get("module", []):
                fails.check(module in modules, f"{name}: module {module} is not in kronos-blackbox.yml")
            fails.check(any(r.get("target_label") == "__param_target" for r in job.get("relabel_configs", [])),
                        f"{name}: the target URL must become the probe's target parameter")
        exporter = shutil.which("prometheus-blackbox-exporter")
        if fails.check(exporter, "prometheus-blackbox-exporter is not installed"):
            rc, out = k.run([exporter, "--config.check",
                             "--config.file=" + os.path.join(k.MON, "blackbox/kronos-blackbox.yml")])
            fails.check(rc == 0 and "level=warn" not in out, f"blackbox exporter rejects or warns about the module:\n{out}")
        fails.check({"static_configs", "file_sd_configs", "docker_sd_configs"} <= kinds,
                    f"discovery kinds covered: {sorted(kinds)}")
        with open(os.path.join(PROM, "scrape", "kronos-targets.json")) as f:
            groups = json.load(f)
        fails.check(isinstance(groups, list) and all(isinstance(g.get("targets"), list) and
                    all(isinstance(t, str) and ":" in t for t in g["targets"]) for g in groups),
                    "kronos-targets.json must be a list of {targets: [host:port], labels: {}}")
    finally:
        shutil.rmtree(tmp)
    fails.finish("prometheus config")


if __name__ == "__main__":
    main()
