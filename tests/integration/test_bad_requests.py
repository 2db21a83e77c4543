"""The catalogue of malformed requests (tests/integration/bad_requests) through the real binary:
each gets its status, the error envelope and the field path; the server stays healthy."""
import os

from harness import Checker, Kronosd

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad_requests")
c = Checker()

cases = []
with open(os.path.join(HERE, "expected.tsv")) as f:
    for line in f:
        if line.startswith("#") or not line.strip():
            continue
        name, route, ctype, status, code, field = line.rstrip("\n").split("\t")
        cases.append((name, route, ctype, int(status), code, field))
c.check(len(cases) >= 60, "catalogue has at least 60 requests (%d)" % len(cases))

with Kronosd(env={"KRONOS_RATE_LIMIT_ENABLED": "false"}, wait_ready=True) as k:
    for name, route, ctype, status, code, field in cases:
        with open(os.path.join(HERE, name), "rb") as f:
            body = f.read()
        headers = {} if ctype == "-" else {"Content-Type": ctype}
        r = k.post("/v1/predict/" + route, body, headers=headers)
        c.eq(r.status, status, "%s status" % name)
        if status >= 400:
            try:
                env = r.json()
            except ValueError:
                c.check(False, "%s: envelope is JSON" % name)
                continue
            c.eq(env["error"]["code"], code, "%s code" % name)
            if status == 422:
                # FastAPI's list beside the SPEC envelope: one entry per listed violation.
                detail = env["detail"]
                c.check(isinstance(detail, list) and
                        len(detail) == len(env["error"]["details"]) and
                        all(d["loc"][0] == "body" and d["type"] and d["msg"] for d in detail),
                        "%s: detail is FastAPI's list %r" % (name, detail[:2]))
            else:
                c.eq(env["detail"], env["error"]["message"], "%s detail" % name)
            fields = [d.get("field") for d in env["error"]["details"]]
            if field != "-":
                c.check(field in fields, "%s: field %s in %s" % (name, field, fields[:5]))
        c.check(r.status != 500, "%s: never a 500" % name)
    c.eq(k.get("/v1/healthz").status, 200, "healthy after the catalogue")
    c.eq(k.get("/v1/readyz").status, 200, "still ready after the catalogue")
c.eq(k.proc.returncode, 0, "clean exit after the catalogue")
c.done()
