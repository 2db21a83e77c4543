#!/usr/bin/python3
"""Soak test: runs the real kronosd on loopback for a fixed time under a mix of valid, invalid,
slow and disconnecting requests, samples its resident memory and open file descriptors every few
seconds, and prints the RSS slope (KB/min) and the fd range at the end. Not part of CI.

    /usr/bin/python3 bench/soak/soak.py --bin build/release/kronosd --minutes 10

Exit code 1 when kronosd died, answered a 5xx other than 503, or stopped uncleanly."""
import argparse
import csv
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def series(n, seed):
    rnd = random.Random(seed)
    p, candles, stamps = 100.0, [], []
    for i in range(n):
        o = p
        c = o * (1 + rnd.gauss(0.0005, 0.01))
        candles.append({"open": round(o, 4), "high": round(max(o, c) * 1.002, 4),
                        "low": round(min(o, c) * 0.998, 4), "close": round(c, 4),
                        "volume": round(rnd.uniform(10, 100), 2)})
        stamps.append("2025-10-%02dT%02d:%02d:00Z" % (1 + i // 288, (i // 12) % 24, (i % 12) * 5))
        p = c
    return candles, stamps


def predict_body(n, pred, seed):
    candles, stamps = series(n + pred, seed)
    return json.dumps({"series_id": "SOAK-%d" % seed, "candles": candles[:n],
                       "timestamps": stamps[:n], "prediction_timestamps": stamps[n:n + pred],
                       "overrides": {"sample_count": 2, "seed": seed}}).encode()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}

    def add(self, key):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1


def request(port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


def raw(port, data, then_close=True, pause=0.0, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if pause:
            time.sleep(pause)
        if not then_close:
            s.recv(65536)
    finally:
        s.close()


JSON = {"Content-Type": "application/json"}


# Each action returns a label for the counters. Valid, invalid, slow and disconnecting requests.
def valid_single(port, rnd):
    return "single %d" % request(port, "POST", "/v1/predict/single",
                                 predict_body(rnd.randint(32, 256), rnd.randint(1, 16),
                                              rnd.randint(1, 10**6)), JSON)


def valid_batch(port, rnd):
    items = [json.loads(predict_body(64, 4, rnd.randint(1, 10**6))) for _ in range(rnd.randint(2, 8))]
    return "batch %d" % request(port, "POST", "/v1/predict/batch",
                                json.dumps({"items": items}).encode(), JSON)


def probes(port, rnd):
    path = rnd.choice(["/v1/healthz", "/v1/readyz", "/v1/metrics", "/v1/healthz/detailed", "/"])
    return "probe %d" % request(port, "GET", path)


def invalid(port, rnd):
    kind = rnd.randrange(7)
    if kind == 0:
        return "bad-json %d" % request(port, "POST", "/v1/predict/single", b"{not json", JSON)
    if kind == 1:
        body = json.loads(predict_body(32, 4, 1))
        body["candles"][3]["high"] = -1
        return "invalid %d" % request(port, "POST", "/v1/predict/single", json.dumps(body).encode(),
                                      JSON)
    if kind == 2:
        return "not-found %d" % request(port, "GET", "/v1/nope/%d" % rnd.randint(0, 10**9))
    if kind == 3:
        return "method %d" % request(port, "DELETE", "/v1/predict/single")
    if kind == 4:
        return "content-type %d" % request(port, "POST", "/v1/predict/single", b"{}",
                                           {"Content-Type": "text/plain"})
    if kind == 5:
        return "deep-json %d" % request(port, "POST", "/v1/predict/single", b"[" * 65536, JSON)
    s = socket.create_connection(("127.0.0.1", port), timeout=30)  # over the 1 MiB limit
    try:
        s.sendall(b"POST /v1/predict/single HTTP/1.1\r\nHost: soak\r\nContent-Type: "
                  b"application/json\r\nContent-Length: 2000000\r\n\r\n")
        return "too-large " + s.recv(64).split(b"\r\n")[0].decode(errors="replace")[9:12]
    finally:
        s.close()


def slow_upload(port, rnd):
    body = predict_body(64, 4, rnd.randint(1, 10**6))
    head = ("POST /v1/predict/single HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(head)
        chunks = 10
        step = (len(body) + chunks - 1) // chunks
        for i in range(0, len(body), step):
            s.sendall(body[i:i + step])
            time.sleep(rnd.uniform(0.05, 0.25))
        line = s.recv(64).split(b"\r\n")[0]
        return "slow-upload " + line.decode(errors="replace")[9:12]
    finally:
        s.close()


def slow_reader(port, rnd):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        s.sendall(b"GET /v1/metrics HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
        got = 0
        while True:
            data = s.recv(512)
            if not data:
                break
            got += len(data)
            time.sleep(0.01)
        return "slow-reader"
    finally:
        s.close()


def disconnect(port, rnd):
    body = predict_body(128, 8, rnd.randint(1, 10**6))
    kind = rnd.randrange(5)
    if kind == 0:  # connect, say nothing, leave
        raw(port, b"")
    elif kind == 1:  # half a request line
        raw(port, b"GET /v1/hea")
    elif kind == 2:  # headers promise a body that never comes
        raw(port, b"POST /v1/predict/single HTTP/1.1\r\nHost: soak\r\nContent-Type: "
                  b"application/json\r\nContent-Length: 5000\r\n\r\n{\"candles\":")
    elif kind == 3:  # a whole forecast request, then hang up before the answer
        raw(port, b"POST /v1/predict/single HTTP/1.1\r\nHost: soak\r\nContent-Type: "
                  b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body, pause=0.01)
    else:  # half-close after the request, then read the answer
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        try:
            s.sendall(b"GET /v1/healthz HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            s.recv(1024)
        finally:
            s.close()
    return "disconnect %d" % kind


ACTIONS = [(valid_single, 30), (valid_batch, 5), (probes, 20), (invalid, 20), (slow_upload, 5),
           (slow_reader, 3), (disconnect, 17)]


def worker(port, seed, stop, stats):
    rnd = random.Random(seed)
    funcs = [f for f, w in ACTIONS for _ in range(w)]
    while not stop.is_set():
        f = rnd.choice(funcs)
        try:
            stats.add(f(port, rnd))
        except (OSError, http.client.HTTPException) as e:
            stats.add("%s error %s" % (f.__name__, type(e).__name__))


def sample(pid):
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def slope_kb_per_min(points):
    """Least-squares slope of (seconds, KB) points, in KB per minute."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    cov = sum((t - mx) * (v - my) for t, v in points)
    return cov / var * 60 if var else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/release/kronosd"))
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--interval", type=float, default=5, help="seconds between samples")
    ap.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    ap.add_argument("--warmup", type=float, default=60,
                    help="seconds excluded from the RSS slope (allocator and caches settle)")
    ap.add_argument("--model", help="KRONOS_MODEL_PATH (default: the baseline engine)")
    ap.add_argument("--csv", help="write the samples (seconds, rss_kb, fds) to this file")
    args = ap.parse_args()

    env = dict(os.environ, KRONOS_HOST="127.0.0.1", KRONOS_PORT=str(free_port()),
               KRONOS_INSTANCE="soak", KRONOS_DRAIN_DELAY="0", KRONOS_RATE_LIMIT_ENABLED="false", KRONOS_LOG_LEVEL="WARNING",
               KRONOS_MAX_REQUEST_SIZE_MB="1", KRONOS_CONNECTION_TIMEOUT="5")
    if args.model:
        env["KRONOS_MODEL_PATH"] = args.model
    port = int(env["KRONOS_PORT"])
    proc = subprocess.Popen([args.bin], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("kronosd exited at start: %s" % proc.stderr.read().decode())
        try:
            if request(port, "GET", "/v1/readyz", timeout=2) == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    else:
        proc.kill()
        sys.exit("kronosd did not become ready")

    stats, stop = Stats(), threading.Event()
    threads = [threading.Thread(target=worker, args=(port, i, stop, stats), daemon=True)
               for i in range(args.clients)]
    t0 = time.time()
    for t in threads:
        t.start()
    samples = []
    end = t0 + args.minutes * 60
    print("soak: kronosd pid %d on 127.0.0.1:%d, %d clients, %.1f min" %
          (proc.pid, port, args.clients, args.minutes), flush=True)
    while time.time() < end and proc.poll() is None:
        rss, fds = sample(proc.pid)
        samples.append((time.time() - t0, rss, fds))
        print("  t=%5.0fs rss=%7d KB fds=%4d" % samples[-1], flush=True)
        time.sleep(min(args.interval, max(0, end - time.time())))
    alive = proc.poll() is None
    if alive:
        samples.append((time.time() - t0,) + sample(proc.pid))
    stop.set()
    for t in threads:
        t.join(60)

    rc = None
    if alive:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()

    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["seconds", "rss_kb", "fds"])
            w.writerows(samples)
    steady = [(t, r) for t, r, _ in samples if t >= args.warmup] or [(t, r) for t, r, _ in samples]
    fds = [f for _, _, f in samples]
    total = sum(stats.counts.values())
    print("\nrequests: %d in %.1f min (%.0f/s)" % (total, (time.time() - t0) / 60,
                                                    total / max(1, time.time() - t0)))
    for k in sorted(stats.counts):
        print("  %-32s %d" % (k, stats.counts[k]))
    server_errors = sum(v for k, v in stats.counts.items()
                        if k.split()[-1].isdigit() and k.split()[-1].startswith("5")
                        and k.split()[-1] != "503")
    print("\nRSS: first %d KB, last %d KB, slope %.1f KB/min (least squares after %.0f s warm-up, "
          "%d samples)" % (samples[0][1], samples[-1][1], slope_kb_per_min(steady), args.warmup,
                           len(steady)))
    print("open fds: min %d, max %d, last %d" % (min(fds), max(fds), fds[-1]))
    print("5xx other than 503: %d; kronosd %s; exit code after SIGTERM: %s" %
          (server_errors, "alive to the end" if alive else "DIED", rc))
    sys.exit(0 if alive and rc == 0 and server_errors == 0 else 1)


if __name__ == "__main__":
    main()
