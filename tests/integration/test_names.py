"""Issue 9, crashes from names: model, tokenizer and working-directory names that are not valid
UTF-8 (or are cut mid-character) never crash the service, and every answer and log line it
emits is valid UTF-8 JSON; names carry U+FFFD where their bytes were not UTF-8."""
import json
import os
import shutil
import sys
import tempfile
import time

from prometheus_client.parser import text_string_to_metric_families

import harness
from harness import GOLDEN, Checker, Kronosd

c = Checker()
if not GOLDEN or not os.path.isdir(GOLDEN):
    print("SKIP: no golden data")
    sys.exit(0)
TINY = os.path.join(GOLDEN, "tiny")
REQ = json.load(open(os.path.join(TINY, "cases", "a_noslide", "request.json")))
harness.BIN = os.path.abspath(harness.BIN)  # the tests below change the working directory
BAD = b"\xff\xfe"
FFFD = "\ufffd"


def fs(raw):
    """A str the os module maps back to exactly these bytes (surrogateescape)."""
    return os.fsdecode(raw)


def strict_json(body, what):
    try:
        return json.loads(body.decode("utf-8", errors="strict"))
    except (UnicodeDecodeError, ValueError) as e:
        c.check(False, "%s: not valid UTF-8 JSON (%s): %r" % (what, e, body[:200]))
        return None


def ask(k, what, method, path, body=None):
    try:
        return k.request(method, path, body=body)
    except OSError as e:
        c.check(False, "%s: %s %s: no answer (%s)" % (what, method, path, e))
        return None


def check_every_route(k, what, expect_ready):
    """Every route answers; every JSON answer is strict UTF-8 JSON; metrics parse."""
    out = {}
    for path in ["/", "/v1/healthz", "/v1/readyz", "/v1/healthz/detailed", "/openapi.json",
                 "/nope"]:
        r = ask(k, what, "GET", path)
        if r:
            out[path] = strict_json(r.body, "%s: GET %s" % (what, path))
            c.check(r.status < 500 or path in ("/v1/readyz", "/v1/healthz/detailed") and
                not expect_ready,
                    "%s: GET %s status %d" % (what, path, r.status))
    for path, body in [("/v1/predict/single", REQ),
                       ("/v1/predict/batch", {"items": [dict(REQ, series_id="a")]}),
                       ("/v1/healthz", {})]:
        r = ask(k, what, "POST", path, body)
        if r:
            out["POST " + path] = strict_json(r.body, "%s: POST %s" % (what, path))
            if path.startswith("/v1/predict"):
                c.eq(r.status, 200 if expect_ready else 503, "%s: POST %s status" % (what, path))
    r = ask(k, what, "GET", "/v1/metrics")
    try:
        text = r.body.decode("utf-8", errors="strict")
        fams = {f.name: f for f in text_string_to_metric_families(text)}
        info = fams["kronos_model_info"].samples
        c.eq(len(info), 1, "%s: one kronos_model_info series" % what)
        out["model_info"] = info[0].labels if info else {}
    except Exception as e:  # noqa: BLE001 - any parse error (or no answer) is the failure
        c.check(False, "%s: /v1/metrics does not parse: %s" % (what, e))
    c.check(k.proc.poll() is None, "%s: kronosd alive (exit %s)" % (what, k.proc.poll()))
    return out


def check_logs(k, what):
    """Read after stop: every stdout line is UTF-8 JSON (the harness reader decodes strictly
    and would stop at the first bad line, so the last line must be the stop line)."""
    ok = True
    for line in k.lines:
        try:
            json.loads(line)
        except ValueError:
            ok = False
    c.check(ok and k.lines and json.loads(k.lines[-1]).get("message") == "kronosd stopped",
            "%s: every log line is UTF-8 JSON up to the stop line" % what)
    c.eq(k.proc.returncode, 0, "%s: clean exit" % what)


def wait_settled(k):
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            st = json.loads(k.get("/v1/readyz").body.decode("utf-8", errors="replace"))["status"]
        except (OSError, ValueError, KeyError):
            st = "?"
        if st not in ("loading", "?"):
            return st
        time.sleep(0.05)
    return "timeout"


tmp = tempfile.mkdtemp(prefix="kronos-names-")
try:
    base = os.fsencode(tmp)
    model = base + b"/Kronos-" + BAD
    tok = base + b"/Tok-" + BAD + b"-\xc3\x28"
    shutil.copytree(os.path.join(TINY, "model"), fs(model))
    shutil.copytree(os.path.join(TINY, "tokenizer"), fs(tok))
    env = {"KRONOS_MODEL_PATH": fs(model), "KRONOS_TOKENIZER_PATH": fs(tok),
           "KRONOS_MAX_CONTEXT": "16", "KRONOS_RATE_LIMIT_ENABLED": "false"}

    # Model and tokenizer folders whose names are not UTF-8, and the process's cwd in one too.
    cwd = base + b"/cwd-" + BAD
    os.mkdir(fs(cwd))
    os.chdir(fs(cwd))
    with Kronosd(env=env) as k:
        c.eq(wait_settled(k), "ready", "bad-byte folders: model loads")
        out = check_every_route(k, "bad-byte folders", True)
        want_model, want_tok = "Kronos-" + FFFD * 2, "Tok-" + FFFD * 2 + "-" + FFFD + "("
        ready = out.get("/v1/readyz") or {}
        c.eq((ready.get("model"), ready.get("tokenizer")), (want_model, want_tok),
             "readyz names carry U+FFFD")
        single_ = out.get("POST /v1/predict/single") or {}
        c.eq((single_.get("model_version"), single_.get("tokenizer_version")),
             (want_model, want_tok), "predict names carry U+FFFD")
        detailed = out.get("/v1/healthz/detailed") or {}
        disk = detailed.get("checks", {}).get("disk", {})
        c.eq(disk.get("path"), os.fsdecode(cwd).encode("utf-8", "surrogateescape")
             .decode("utf-8", "replace"), "detailed health: cwd path with U+FFFD")
        c.eq(detailed.get("checks", {}).get("model", {}).get("model"), want_model,
             "detailed health: model name with U+FFFD")
        info = out.get("model_info", {})
        c.eq((info.get("model"), info.get("tokenizer")), (want_model, want_tok),
             "kronos_model_info labels with U+FFFD")
    check_logs(k, "bad-byte folders")
    os.chdir("/")

    # A broken model in such a folder: the failure reason names the path, and stays valid.
    os.unlink(fs(model + b"/config.json"))
    with Kronosd(env=env) as k:
        c.eq(wait_settled(k), "failed", "broken model in a bad-byte folder: failed")
        out = check_every_route(k, "broken model", False)
        reason = (out.get("/v1/readyz") or {}).get("reason", "")
        c.check("config.json" in reason and FFFD in reason, "readyz reason kept: %r" % reason)
        reason = ((out.get("/v1/healthz/detailed") or {}).get("checks", {}).get("model", {})
                  .get("reason", ""))
        c.check("config.json" in reason, "detailed health reason kept: %r" % reason)
    check_logs(k, "broken model")

    # A long name of two-byte characters: names are cut to the engine's 127 bytes on a
    # character boundary, never in the middle of one.
    long_model = base + b"/" + ("\u00e9" * 100).encode()
    shutil.copytree(os.path.join(TINY, "model"), fs(long_model))
    env["KRONOS_MODEL_PATH"] = fs(long_model)
    with Kronosd(env=env) as k:
        c.eq(wait_settled(k), "ready", "long name: model loads")
        out = check_every_route(k, "long name", True)
        name = (out.get("/v1/readyz") or {}).get("model", "")
        c.check(name and set(name) == {"\u00e9"} and len(name.encode()) <= 127,
                "long name cut on a character boundary: %r" % name)
    check_logs(k, "long name")
finally:
    os.chdir("/")
    shutil.rmtree(tmp)
c.done()
