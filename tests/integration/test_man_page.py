"""docs/kronosd.1 (issue 11, "Install and packages"): the man page is written by hand, so this
checks it against the code. Every KRONOS_* variable src/config.c accepts (its option table, and the
binary's --help printed from it) has an entry with its flag and --help's default; the page names no
variable kronosd does not know; every OTEL_* variable src/obs/otel_config.c reads is in
ENVIRONMENT too; every route of src/api/routes.c and the three plain flags are
there; groff renders it without a warning."""
import os
import re
import shutil
import subprocess

from harness import BIN, Checker

c = Checker()
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PAGE = os.path.join(ROOT, "docs", "kronosd.1")
with open(PAGE, encoding="utf-8") as f:
    roff = f.read()
with open(os.path.join(ROOT, "src", "config.c")) as f:
    accepted = set(re.findall(r'^\s*\{"(KRONOS_[A-Z0-9_]+)",', f.read(), re.M))
c.check(len(accepted) > 30, "config.c's option table read (%d variables)" % len(accepted))

helptext = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=10).stdout
helped = {}
for flag, var, default in re.findall(
        r"^  (--\S+)\s+(KRONOS_\S+)\s+.*\n\s+default: (.*?); allowed:", helptext, re.M):
    helped[var] = (flag, default)
c.eq(set(helped), accepted, "--help lists exactly the variables of config.c's table")


def plain(text):
    """Roff source to words: requests' arguments kept, quotes, font escapes and \\- undone."""
    out = []
    for line in text.splitlines():
        if line.startswith(".\\\""):
            continue
        if line.startswith("."):
            line = line.split(" ", 1)[1] if " " in line else ""
            line = line.replace('"', "")
        out.append(line)
    s = " ".join(out).replace("\\-", "-").replace("\\~", " ").replace("\\e", "\\")
    s = re.sub(r"\\f[BIRP]", "", s)
    return re.sub(r"\s+", " ", s)


env_section = roff.split("\n.SH ENVIRONMENT\n", 1)[1].split("\n.SH ", 1)[0]
entries = {}
for chunk in re.split(r"(?:^|\n)\.TP\n", env_section)[1:]:
    head, _, body = chunk.partition("\n")
    m = re.match(r'\.BR? (KRONOS_[A-Z0-9_]+) " \(" (\S+) \)', head)
    if m:
        entries[m.group(1)] = (m.group(2).replace("\\-", "-"), plain(body))
for var in sorted(accepted):
    if not c.check(var in entries, "%s has an entry in ENVIRONMENT" % var):
        continue
    flag, body = entries[var]
    want_flag, want_default = helped.get(var, ("?", "?"))
    c.eq(flag, want_flag, "%s: its flag" % var)
    c.check("Default: %s;" % want_default in body,
            "%s: the default --help gives (%r) is in the entry: %r" % (var, want_default, body))
with open(os.path.join(ROOT, "src", "obs", "otel_config.c")) as f:
    otel = set(re.findall(r'"(OTEL_[A-Z0-9_]+)"', f.read()))
c.check(len(otel) > 10, "otel_config.c's variables read (%d)" % len(otel))
env_words = plain(env_section)
for var in sorted(otel):
    c.check(re.search(r"\b%s\b" % var, env_words), "%s is in ENVIRONMENT" % var)
c.eq(sorted(set(re.findall(r"\bOTEL_[A-Z0-9_]+", roff)) - otel), [],
     "every OTEL_* variable the page names is read by otel_config.c")
named = set(re.findall(r"\bKRONOS_[A-Z0-9_]+", roff))
c.eq(sorted(named - accepted), [], "every KRONOS_* variable the page names exists")

with open(os.path.join(ROOT, "src", "api", "routes.c")) as f:
    routes = re.findall(r'^\s*\{"(/[^"]*)", METHOD_', f.read(), re.M)
routes_section = plain(roff.split("\n.SH ROUTES\n", 1)[1].split("\n.SH ", 1)[0])
for route in routes:
    c.check(re.search(r"(^|[ ,])%s($|[ ,])" % re.escape(route), routes_section),
            "route %s is in ROUTES" % route)
for section in ("NAME", "SYNOPSIS", "OPTIONS", "ENVIRONMENT", "ROUTES", "SIGNALS", "EXIT STATUS",
                "FILES"):
    c.check("\n.SH %s\n" % section in roff, "section %s" % section)
for flag in ("--help", "--version", "--check-config"):
    c.check(".B %s\n" % flag.replace("-", "\\-") in roff, "flag %s in OPTIONS" % flag)

# groff (Debian groff-base, which man-db uses) renders it; -ww turns every warning on.
if shutil.which("groff"):
    p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", PAGE], capture_output=True,
                       text=True, timeout=30)
    c.check(p.returncode == 0 and p.stderr == "", "groff -man -ww: no warning: %r" % p.stderr)
    out = subprocess.run(["groff", "-man", "-Tascii", "-P-cbou", PAGE], capture_output=True,
                         text=True, timeout=30).stdout
    c.check("KRONOS_SIMD (--simd)" in out and "EXIT STATUS" in out, "groff renders the page")
else:
    c.check(False, "groff installed (Debian groff-base, scripts/install-deps.sh test)")
c.done()
