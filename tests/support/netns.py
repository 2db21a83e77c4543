"""Network namespaces for the tests' own hosts (ip netns + veth). Each suite names its namespaces
<prefix><its pid>-..., so a run that was killed can be cleaned up by the next one."""
import os
import signal
import subprocess


def ip(*args, check=True):
    p = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {p.stderr.strip()}")
    return p


def remove_stale_namespaces(prefix):
    """Namespaces named <prefix><pid>-... whose creating process is gone, with what still runs
    in them."""
    for line in ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith(prefix):
            continue
        try:
            os.kill(int(name[len(prefix):].split("-")[0]), 0)
        except ProcessLookupError:
            for pid in ip("netns", "pids", name, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)  # a kronosd that run left behind
                except ProcessLookupError:
                    pass
            ip("netns", "del", name, check=False)
        except (ValueError, PermissionError):
            pass
