"""GET /openapi.json, /docs and /redoc through the real binary: the document is the committed
contract (src/api/openapi.json) and passes Redocly's linter, its examples are real (each request
example answers 200, each example validates against its schema), the pages load their assets
from KRONOS_DOCS_ASSETS_URL, and KRONOS_DOCS_ENABLED=false removes the three routes."""
import os
import subprocess

import contract
from harness import BIN, Checker, Kronosd

c = Checker()
HERE = os.path.dirname(os.path.abspath(__file__))
JS = os.path.join(HERE, "..", "js")
REDOCLY = os.path.join(JS, "node_modules", ".bin", "redocly")

# The linter (npm @redocly/cli pinned in tests/js, installed by scripts/install-deps.sh test).
c.check(os.path.exists(REDOCLY), "redocly installed (run scripts/install-deps.sh test)")
if os.path.exists(REDOCLY):
    lint = subprocess.run([REDOCLY, "lint", "--config", os.path.join(JS, "redocly.yaml"),
                           contract.DOC_PATH], capture_output=True, text=True, timeout=120)
    c.eq(lint.returncode, 0, "redocly lint passes (recommended-strict): %s" % lint.stdout[-800:])

# Every example in the document matches the schema beside it.
examples = 0
for path, item in contract.DOC["paths"].items():
    for method, op in item.items():
        media = [("request", m) for m in op.get("requestBody", {}).get("content", {}).values()]
        for status, resp in op["responses"].items():
            media += [(status, m) for m in resp.get("content", {}).values()]
        for where, m in media:
            if "example" in m:
                examples += 1
                errs = list(contract.validator(m["schema"]).iter_errors(m["example"]))
                c.check(not errs, "%s %s %s example: %s" % (method, path, where, errs[:1]))
c.check(examples >= 10, "an example per route (%d)" % examples)
names = set(contract.DOC["components"]["schemas"])
for name in ("PredictSingleRequest", "PredictBatchRequest", "PredictBatchItem", "Candle",
             "PredictionOverrides", "PredictResponse", "PredictionPoint", "HTTPValidationError"):
    c.check(name in names, "schema %s named as the FastAPI service named it" % name)

version = subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout
with Kronosd(env={"KRONOS_RATE_LIMIT_ENABLED": "false"}, wait_ready=True) as k:
    r = k.get("/openapi.json")
    c.eq(r.status, 200, "/openapi.json")
    served = r.json()
    c.eq(served["openapi"], "3.1.0", "OpenAPI 3.1")
    c.check(served["info"]["version"] in version, "info.version is the build's (%s)" %
            served["info"]["version"])
    committed = dict(contract.DOC, info=dict(contract.DOC["info"], version=served["info"]["version"]))
    c.eq(served, committed, "served document is the committed file")
    c.eq(set(served["paths"]), {"/", "/v1/healthz", "/v1/readyz", "/v1/healthz/detailed",
                                "/v1/predict/single", "/v1/predict/batch", "/v1/metrics",
                                "/openapi.json", "/docs", "/redoc"}, "every route documented")
    # Request examples are real requests: each answers 200 (the contract check validates it).
    for path, item in served["paths"].items():
        for method, op in item.items():
            for m in op.get("requestBody", {}).get("content", {}).values():
                r = k.request(method.upper(), path, body=m["example"])
                c.eq(r.status, 200, "%s %s example answers 200" % (method, path))
    r = k.get("/docs")
    page = r.body.decode()
    c.eq(r.header("Content-Type"), "text/html; charset=utf-8", "/docs is HTML")
    c.check("https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js" in page and
            "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css" in page,
            "/docs loads Swagger UI from FastAPI's CDN by default")
    r = k.get("/redoc")
    c.check(r.status == 200 and
            "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js" in r.body.decode(),
            "/redoc loads ReDoc from FastAPI's CDN by default")
    c.eq(k.request("HEAD", "/docs").status, 200, "HEAD /docs")
    c.eq(k.post("/docs", {}).status, 405, "POST /docs is 405")
    metrics = k.get("/v1/metrics").body.decode()
    c.check('kronos_requests_total{route="/docs",status="success"} 2' in metrics,
            "the /docs route has its own metric label (GET and HEAD)")

with Kronosd(env={"KRONOS_DOCS_ASSETS_URL": "http://assets.internal:8080/static/"}) as k:
    page = k.get("/docs").body.decode()
    c.check('src="http://assets.internal:8080/static/swagger-ui-dist@5/swagger-ui-bundle.js"'
            in page, "/docs follows KRONOS_DOCS_ASSETS_URL (trailing slash dropped)")
    c.check('http://assets.internal:8080/static/redoc@2/bundles/redoc.standalone.js' in
            k.get("/redoc").body.decode(), "/redoc follows KRONOS_DOCS_ASSETS_URL")

with Kronosd(env={"KRONOS_DOCS_ENABLED": "false"}) as k:
    for path in ("/openapi.json", "/docs", "/redoc"):
        c.eq(k.get(path).status, 404, "%s gone when KRONOS_DOCS_ENABLED=false" % path)
        c.eq(k.post(path, {}).status, 404, "POST %s is 404 too (not 405)" % path)
    c.eq(k.get("/v1/healthz").status, 200, "other routes stay")

for bad in ('javascript:alert(1)', 'http://x/"><script>', 'http://a b'):
    p = subprocess.run([BIN], env=dict(os.environ, KRONOS_DOCS_ASSETS_URL=bad, KRONOS_PORT="1"),
                       capture_output=True, text=True, timeout=30)
    c.check(p.returncode == 2 and "KRONOS_DOCS_ASSETS_URL" in p.stderr,
            "KRONOS_DOCS_ASSETS_URL=%r refused with exit 2" % bad)
c.done()
