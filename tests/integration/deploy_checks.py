"""What the deployment tests (test_container_image.py, test_kubernetes_deploy.py) read from the
repository and from the shipped binary: its settings and defaults (`kronosd --help`), its route
table (src/api/routes.c), a Dockerfile's stages, durations as compose and Kubernetes write them, and
a /models folder laid out as scripts/fetch-weights.sh writes it, made of the tiny reference model."""
import os
import re
import subprocess

from harness import BIN, TINY

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def help_settings():
    """{KRONOS_VAR: default text or None} for every setting `kronosd --help` lists."""
    out = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=10).stdout
    settings = {}
    for m in re.finditer(r"^\s+--\S+\s+(KRONOS_[A-Z0-9_]+)\s.*\n(?:\s+default: ([^;\n]*))?", out, re.M):
        default = m.group(2)
        settings[m.group(1)] = None if default in (None, "(unset)") else default
    return settings


def routes():
    """{path: method} of the route table kronosd serves (src/api/routes.c)."""
    with open(os.path.join(ROOT, "src", "api", "routes.c")) as f:
        text = f.read()
    return {m.group(1): m.group(2) for m in re.finditer(r'\{"(/[^"]*)", METHOD_([A-Z]+),', text)}


def seconds(text):
    """Seconds of a duration as compose ("45s", "1m30s") or a bare number writes it."""
    if isinstance(text, (int, float)):
        return float(text)
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?", str(text).strip())
    if not m or not any(m.groups()):
        return float(text)
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def dockerfile_stages(path):
    """[(base image, stage name, [(INSTRUCTION, argument text)])] of a Dockerfile; continuation
    lines joined, comments dropped."""
    with open(path) as f:
        raw = f.read().split("\n")
    logical, cur = [], ""
    for line in raw:
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if cur and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        logical.append(cur + line)
        cur = ""
    stages = []
    for line in logical:
        op, _, arg = line.strip().partition(" ")
        op, arg = op.upper(), arg.strip()
        if op == "FROM":
            words = arg.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append((words[0], name, []))
        elif stages:
            stages[-1][2].append((op, re.sub(r"\s+", " ", arg)))
    return stages


def fake_models(tmp):
    """A /models folder as `scripts/fetch-weights.sh small DEST` lays it out (DEST/Kronos-small
    with its tokenizer linked as Kronos-small/tokenizer), built of the tiny reference model."""
    models = os.path.join(tmp, "models")
    small = os.path.join(models, "Kronos-small")
    tok = os.path.join(models, "Kronos-Tokenizer-base")
    os.makedirs(small)
    os.symlink(os.path.join(TINY, "tokenizer"), tok)
    for name in ("config.json", "model.safetensors"):
        os.symlink(os.path.join(TINY, "model", name), os.path.join(small, name))
    os.symlink("../Kronos-Tokenizer-base", os.path.join(small, "tokenizer"))
    return models


def ldd_packages(binary):
    """{shared library path: Debian package} for every library `ldd binary` resolves (sanitizer
    runtimes left out: they are not in a release build); the package is None when dpkg knows no
    file of that name."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30).stdout
    found = {}
    for m in re.finditer(r"^\s*(\S+) => (/\S+)", out, re.M):
        if re.match(r"lib(a|t|ub|l)san\.", m.group(1)):
            continue
        path = m.group(2)
        real = os.path.realpath(path)
        candidates = []
        for p in (path, real):  # merged /usr: dpkg may list either spelling
            candidates += [p, re.sub(r"^/usr/lib/", "/lib/", p), re.sub(r"^/lib/", "/usr/lib/", p)]
        pkg = None
        for p in dict.fromkeys(candidates):
            r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
            if r.returncode == 0:
                pkg = r.stdout.split(":", 1)[0].strip()
                break
        found[path] = pkg
    return found
