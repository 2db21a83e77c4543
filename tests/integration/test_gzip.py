"""gzip both ways (issue 10): request bodies sent with Content-Encoding: gzip are inflated with the
size limit applied to the inflated body while inflating (a small bomb is refused early), and
prediction answers are gzipped when Accept-Encoding allows."""
import gzip
import json
import socket
import time

import predict_data
from harness import Checker, Kronosd

c = Checker()


def post_raw(port, path, body, headers):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % (path, len(body))
    for k, v in headers.items():
        head += "%s: %s\r\n" % (k, v)
    s.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else None
    hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    return status, hdrs, payload


ENV = {"KRONOS_RATE_LIMIT_ENABLED": "false", "KRONOS_MAX_REQUEST_SIZE_MB": "1",
       "KRONOS_MAX_DECOMPRESSED_MB": "8"}
with Kronosd(env=ENV) as k:
    req = predict_data.single(n=200, pred=64, overrides={"seed": 7})
    raw = json.dumps(req).encode()
    # a gzipped upload is inflated and served like the plain one
    st, h, body = post_raw(k.port, "/v1/predict/single", gzip.compress(raw),
                           {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    c.eq(st, 200, "gzipped request body served")
    c.eq(len(json.loads(body)["prediction"]), 64, "and forecast in full")
    # the answer is gzipped when asked for, with Vary; the same forecast as plain
    st, h, zbody = post_raw(k.port, "/v1/predict/single", raw,
                            {"Content-Type": "application/json", "Accept-Encoding": "gzip, br"})
    c.eq((st, h.get("content-encoding"), h.get("vary")), (200, "gzip", "Accept-Encoding"),
         "gzipped answer with Content-Encoding and Vary")
    plain = json.loads(body)
    unz = json.loads(gzip.decompress(zbody))
    c.check(unz["prediction"] == plain["prediction"], "the gzipped answer holds the same forecast")
    c.check(len(zbody) < len(json.dumps(unz)) / 2, "and is smaller (%d bytes)" % len(zbody))
    st, h, _ = post_raw(k.port, "/v1/predict/single", raw,
                        {"Content-Type": "application/json", "Accept-Encoding": "gzip;q=0"})
    c.eq(h.get("content-encoding"), None, "q=0 means not gzip")
    # a bomb: 60 KB on the wire, 60 MB inflated: 413 at 8 MB, decided while inflating
    bomb = gzip.compress(b'{"candles":[' + b" " * (60 << 20), 9)
    t0 = time.time()
    st, h, body = post_raw(k.port, "/v1/predict/single", bomb,
                           {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    c.eq((st, json.loads(body)["error"]["code"]), (413, "payload_too_large"),
         "a gzip bomb is 413 (%d bytes on the wire)" % len(bomb))
    c.check(time.time() - t0 < 5, "decided while inflating (%.2f s)" % (time.time() - t0))
    # corrupt, truncated and unknown encodings
    st, _, body = post_raw(k.port, "/v1/predict/single", b"not gzip at all",
                           {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    c.eq(st, 400, "corrupt gzip is 400")
    st, _, _ = post_raw(k.port, "/v1/predict/single", gzip.compress(raw)[:-20],
                        {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    c.eq(st, 400, "truncated gzip is 400")
    st, _, body = post_raw(k.port, "/v1/predict/single", raw,
                           {"Content-Type": "application/json", "Content-Encoding": "br"})
    c.eq((st, json.loads(body)["error"]["code"]), (415, "unsupported_media_type"),
         "Content-Encoding br is 415")
    metrics = k.get("/v1/metrics").body.decode()
    c.check('kronos_security_events_total{event="oversized",container="localhost"} 1' in metrics,
            "the bomb counts as an oversized body")

# The documented maximum batch (64 series x 2048 candles, ~18 MB of JSON) fits under the default
# 10 MiB on the wire when gzipped (it inflates within the default KRONOS_MAX_DECOMPRESSED_MB)
with Kronosd(env={"KRONOS_RATE_LIMIT_ENABLED": "false"}) as k:
    items = [predict_data.single(n=2048, pred=8, series_id="s%d" % i, seed=i) for i in range(64)]
    raw = json.dumps({"items": items}).encode()
    z = gzip.compress(raw)
    print("max batch: %.1f MB of JSON, %.1f MB gzipped" % (len(raw) / 1e6, len(z) / 1e6))
    c.check(len(raw) > 10 << 20 and len(z) < 10 << 20, "64 x 2048 needs gzip to fit 10 MiB")
    st, h, body = post_raw(k.port, "/v1/predict/batch", z,
                           {"Content-Type": "application/json", "Content-Encoding": "gzip",
                            "Accept-Encoding": "gzip"})
    c.eq(st, 200, "the maximum batch, gzipped, is served")
    if st == 200:
        c.eq(len(json.loads(gzip.decompress(body))), 64, "64 forecasts back")
c.done()
