"""/docs in headless Chromium (Debian chromium, npm playwright-core): Swagger UI, loaded from a
local copy of npm swagger-ui-dist through KRONOS_DOCS_ASSETS_URL, executes "Try it out" on
POST /v1/predict/single and shows a 200 with a forecast. Labelled slow."""
import functools
import http.server
import json
import os
import subprocess
import tempfile
import threading

from harness import Checker, Kronosd

c = Checker()
HERE = os.path.dirname(os.path.abspath(__file__))
JS = os.path.join(HERE, "..", "js")
DIST = os.path.join(JS, "node_modules", "swagger-ui-dist")
SHOT = os.environ.get("KRONOS_DOCS_SCREENSHOT", os.path.join(tempfile.gettempdir(),
                                                            "kronosd-docs-try-it-out.png"))

c.check(os.path.isdir(DIST) and os.path.exists("/usr/bin/chromium"),
        "swagger-ui-dist and chromium installed (scripts/install-deps.sh test)")
assets = tempfile.mkdtemp(prefix="kronosd-assets-")
# The CDN's layout: <base>/swagger-ui-dist@5/...
os.symlink(os.path.abspath(DIST), os.path.join(assets, "swagger-ui-dist@5"))


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                         functools.partial(Quiet, directory=assets))
threading.Thread(target=server.serve_forever, daemon=True).start()
base = "http://127.0.0.1:%d" % server.server_address[1]

with Kronosd(env={"KRONOS_DOCS_ASSETS_URL": base, "KRONOS_RATE_LIMIT_ENABLED": "false"},
             wait_ready=True) as k:
    p = subprocess.run(["node", os.path.join(JS, "docs_try_it_out.js"),
                        "http://127.0.0.1:%d/docs" % k.port, SHOT],
                       capture_output=True, text=True, timeout=150, cwd=JS)
    c.eq(p.returncode, 0, "browser run: %s" % p.stderr[-1500:])
    shown = json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else {}
    c.eq(shown.get("status"), "200", "Swagger UI shows a 200")
    try:
        forecast = json.loads(shown.get("body") or "{}")
    except ValueError:
        forecast = {}
    c.check(len(forecast.get("prediction", [])) >= 1 and "open" in forecast["prediction"][0],
            "the page shows a forecast: %s" % (shown.get("body") or "")[:300])
    c.eq(shown.get("failed"), [], "every asset loaded from KRONOS_DOCS_ASSETS_URL")
    logs = k.log_records()
c.check(any(l.get("path") == "/v1/predict/single" and l.get("status_code") == 200 for l in logs),
        "kronosd served the browser's prediction")
c.check(os.path.getsize(SHOT) > 10000 if os.path.exists(SHOT) else False,
        "screenshot written to %s" % SHOT)
server.shutdown()
c.done()
