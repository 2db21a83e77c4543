"""Checks every #include "..." in src/ against the layer table: a folder may include its own
files and those of strictly lower layers only (so folders form no cycle). Exit 1 on a violation.

    python3 tests/style/check_layers.py [SRC_DIR]
"""
import os
import re
import sys

# util below obs; obs below security and engine (they report into metrics and logs); those below
# http (and config); http below api; api below main.
LAYERS = {
    "util": 0, "version.h": 0,
    "obs": 1,
    "security": 2, "engine": 2,
    "http": 3, "config": 3,
    "api": 4,
    "main": 5,
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def unit_of(path):
    """The layer unit of a path relative to src/: its top folder, or config/main/version.h."""
    top = path.split("/", 1)[0]
    if "/" in path:
        return top
    if top.startswith("config."):
        return "config"
    if top.startswith("main."):
        return "main"
    return top


def violations(src):
    found = []
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith((".c", ".h")):
                continue
            rel = os.path.relpath(os.path.join(root, name), src)
            me = unit_of(rel)
            if me not in LAYERS:
                found.append("%s: folder %s is not in the layer table" % (rel, me))
                continue
            with open(os.path.join(root, name), encoding="utf-8") as f:
                text = f.read()
            for inc in INCLUDE.findall(text):
                other = unit_of(inc)
                if other not in LAYERS:
                    found.append("%s: includes %s, not in the layer table" % (rel, inc))
                elif other != me and LAYERS[other] >= LAYERS[me]:
                    found.append("%s (%s, layer %d) includes %s (%s, layer %d)" %
                                 (rel, me, LAYERS[me], inc, other, LAYERS[other]))
    return found


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../src")
    found = violations(src)
    for v in found:
        print("layer violation: " + v)
    print("%d include(s) against the layer table: %s" % (len(found), "FAIL" if found else "ok"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
