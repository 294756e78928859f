"""What compose has made on the container engine, to prove a container page's cleanup.

    >>> before = take(env)            # doctest: +SKIP
    >>> ... run the page ...
    >>> difference(before, env)       # doctest: +SKIP   None, or what was left behind

snapshot.py proves a cluster page's cleanup; a page whose level grades the container engine
instead (``target: container-engine`` in its checks/level.yaml, as level 1) makes containers,
volumes, networks and, with podman-compose, a pod. Only what compose made is looked at (the
``com.docker.compose.project`` label both Docker Compose and podman-compose set, and
podman-compose's ``pod_<project>`` pods): other containers on the machine, another test's,
are neither compared nor removed. Commands go through the page's own `docker` (the runner's
shim when the engine is podman), so the engine the page used is the one looked at.
"""

from __future__ import annotations

import subprocess

LABEL = "label=com.docker.compose.project"
# kind -> (the list command, the remove command): removed in this order, containers first.
KINDS = {
    "container": (["ps", "-a", "--filter", LABEL, "--format", "{{.Names}}"], ["rm", "-f"]),
    "pod": (["pod", "ls", "--filter", "name=^pod_", "--format", "{{.Name}}"], ["pod", "rm", "-f"]),
    "volume": (["volume", "ls", "-q", "--filter", LABEL], ["volume", "rm", "-f"]),
    "network": (["network", "ls", "--filter", LABEL, "--format", "{{.Name}}"], ["network", "rm"]),
}

Key = tuple[str, str]  # (kind, name)


def _docker(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        return subprocess.CompletedProcess(args, 1, "", str(error))


def take(env: dict[str, str]) -> set[Key]:
    """Every (kind, name) compose made; a kind the engine cannot list (Docker has no pods) is empty."""
    found: set[Key] = set()
    for kind, (listing, _) in KINDS.items():
        done = _docker(listing, env)
        if done.returncode == 0:
            found.update((kind, name) for name in done.stdout.split())
    return found


def difference(before: set[Key], env: dict[str, str]) -> str | None:
    """None when the engine holds what it held before the page; else what the page left behind."""
    added = take(env) - before
    if not added:
        return None
    return ("the cleanup did not leave the container engine as found: left behind: "
            + ", ".join(f"{kind} {name}" for kind, name in sorted(added, key=_order)))


def remove_left(before: set[Key], env: dict[str, str]) -> list[str]:
    """Remove what is there now and was not before: after a page that failed, so that the next
    page or test finds the engine (and port 8080) as it was. Returns what was removed."""
    removed = []
    for kind, name in sorted(take(env) - before, key=_order):
        if _docker([*KINDS[kind][1], name], env).returncode == 0:
            removed.append(f"{kind} {name}")
    return removed


def _order(key: Key) -> tuple[int, str]:
    return list(KINDS).index(key[0]), key[1]
