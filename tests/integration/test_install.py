"""make install (issue 11): the CMake install rules of the build under test, run into a staging
DESTDIR, put the binary, its man page and --help text, the docs, the monitoring files and the systemd unit where
they belong, and the installed binary runs (--version, --check-config, serve + healthz)."""
import os
import shutil
import subprocess
import tempfile

from harness import BIN, Checker, free_port, wait_healthz

c = Checker()
build = os.path.dirname(os.path.abspath(BIN))
cache = open(os.path.join(build, "CMakeCache.txt")).read()
prefix = [l.split("=", 1)[1] for l in cache.splitlines()
          if l.startswith("CMAKE_INSTALL_PREFIX:")][0]
stage = tempfile.mkdtemp(prefix="kronos-install-")
try:
    p = subprocess.run(["cmake", "--install", build], env=dict(os.environ, DESTDIR=stage),
                       capture_output=True, text=True, timeout=120)
    c.eq(p.returncode, 0, "cmake --install into DESTDIR (%s)" % p.stderr[-300:])
    root = stage + prefix
    binary = os.path.join(root, "bin", "kronosd")
    for rel in ("bin/kronosd", "lib/systemd/system/kronosd.service",
                "share/man/man1/kronosd.1",
                "share/doc/kronosd/kronosd.help.txt", "share/doc/kronosd/DEPLOYMENT.md",
                "share/doc/kronosd/examples/kronosd.env",
                "share/kronosd/monitoring/README.md"):
        c.check(os.path.isfile(os.path.join(root, rel)), "installed: %s/%s" % (prefix, rel))
    c.check(os.access(binary, os.X_OK), "the installed binary is executable")
    mon = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "monitoring")
    shipped = sorted(os.path.relpath(os.path.join(d, f), mon)
                     for d, _, fs in os.walk(mon) for f in fs)
    installed = sorted(os.path.relpath(os.path.join(d, f), os.path.join(root, "share/kronosd/monitoring"))
                       for d, _, fs in os.walk(os.path.join(root, "share/kronosd/monitoring"))
                       for f in fs)
    c.eq(installed, shipped, "every monitoring file is installed")
    with open(os.path.join(root, "lib/systemd/system/kronosd.service")) as f:
        c.check("ExecStart=%s/bin/kronosd\n" % prefix in f.read(),
                "the installed unit starts the installed binary")
    with open(os.path.join(root, "share/doc/kronosd/kronosd.help.txt")) as f:
        helptext = f.read()
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10).stdout
    c.check(helptext == out and "KRONOS_DRAIN_DELAY" in helptext,
            "the installed help text is the binary's --help")

    # The installed man page is docs/kronosd.1 and man(1) finds it under the prefix.
    page = os.path.join(root, "share/man/man1/kronosd.1")
    src_page = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                            "kronosd.1")
    if os.path.isfile(page):
        c.check(open(page, "rb").read() == open(src_page, "rb").read(),
                "the installed man page is docs/kronosd.1")
        if shutil.which("man"):
            m = subprocess.run(["man", "-M", os.path.join(root, "share/man"), "kronosd"],
                               env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80"),
                               capture_output=True, text=True, timeout=60)
            c.check(m.returncode == 0 and "KRONOS_SIMD" in m.stdout,
                    "man -M <prefix>/share/man kronosd shows it (%r)" % m.stderr[-200:])

    # The installed binary runs.
    v = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    c.check(v.returncode == 0 and v.stdout.startswith("kronosd"), "--version: %r" % v.stdout)
    env = {k: val for k, val in os.environ.items() if not k.startswith("KRONOS_")}
    cc = subprocess.run([binary, "--check-config"], env=env, capture_output=True, text=True,
                        timeout=60)
    c.check(cc.returncode == 0 and '"valid":true' in cc.stdout, "--check-config: valid")
    port = free_port()
    proc = subprocess.Popen([binary], env=dict(env, KRONOS_HOST="127.0.0.1", KRONOS_PORT=str(port),
                                               KRONOS_DRAIN_DELAY="0"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    status = wait_healthz(port, proc, 30)
    c.eq(status, 200, "the installed kronosd serves /v1/healthz")
    proc.terminate()
    c.eq(proc.wait(30), 0, "the installed kronosd stops cleanly")
finally:
    shutil.rmtree(stage, ignore_errors=True)

c.done()
