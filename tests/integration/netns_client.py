"""Runs inside a network namespace (`ip netns exec NS python3 netns_client.py`): reads a JSON list
of requests on stdin, sends each from its own source address, prints a JSON list of answers.

A request: {"host", "port", "source" (optional), "method", "path", "headers": [[name, value], ...]
(repeats kept, in order), "body" (optional text)}. An answer: {"status", "body"} or {"error"}."""
import http.client
import json
import sys


def send(req):
    source = (req["source"], 0) if req.get("source") else None
    conn = http.client.HTTPConnection(req["host"], req["port"], timeout=20, source_address=source)
    try:
        body = req.get("body")
        body = body.encode() if body is not None else None
        conn.putrequest(req.get("method", "GET"), req["path"])
        for name, value in req.get("headers", []):
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return {"status": resp.status, "body": resp.read().decode("utf-8", "replace")}
    except OSError as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}
    finally:
        conn.close()


json.dump([send(r) for r in json.load(sys.stdin)], sys.stdout)
