#!/usr/bin/python3
"""Make a time-compressed test copy of a Prometheus rule file.

Every duration is divided by FACTOR (default 60, so minutes become seconds): the `for` of each rule,
range selectors (`[5m]`) and offsets (`offset 1d`) in each expression; every group gets
`interval: <eval>`. Everything else (names, labels, annotations, thresholds) is kept, so the live
tests exercise the real rules, only faster.

Usage: fast_rules.py IN OUT [--factor 60] [--eval-interval 1s]
"""
import argparse
import re
import sys

import yaml

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
DURATION = r"((?:\d+(?:ms|[smhdwy]))+)"


def seconds(text):
    return sum(int(n) * UNITS[u] for n, u in re.findall(r"(\d+)(ms|[smhdwy])", text))


def scaled(text, factor):
    ms = max(1000, round(seconds(text) * 1000 / factor))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def compress_expr(expr, factor):
    expr = re.sub(r"\[" + DURATION + r"\]", lambda m: f"[{scaled(m.group(1), factor)}]", expr)
    return re.sub(r"\boffset\s+" + DURATION, lambda m: f"offset {scaled(m.group(1), factor)}", expr)


def compress(doc, factor, eval_interval):
    for group in doc["groups"]:
        group["interval"] = eval_interval
        for rule in group["rules"]:
            rule["expr"] = compress_expr(rule["expr"], factor)
            if "for" in rule:
                rule["for"] = scaled(str(rule["for"]), factor)
    return doc


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--factor", type=float, default=60)
    ap.add_argument("--eval-interval", default="1s")
    args = ap.parse_args(argv[1:])
    with open(args.input) as f:
        doc = yaml.safe_load(f)
    with open(args.output, "w") as f:
        f.write(f"# Test copy of {args.input}, durations divided by {args.factor:g} (tests/e2e/lib/fast_rules.py)\n")
        yaml.safe_dump(compress(doc, args.factor, args.eval_interval), f, sort_keys=False, width=1000)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
