"""Send traffic: paced (a rate, for a duration or a count) or as a burst (a count at a concurrency).

Each request is bounded by a timeout, each run by its count or duration: it always stops by itself.
"""

import itertools
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter


@dataclass
class Stats:
    """Results so far; thread-safe to update."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)  # "200", "503", "error"
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    def add(self, status: str, latency_ms: float) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.latencies_ms.append(latency_ms)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> int:
        """Anything but a 2xx/3xx answer counts as an error."""
        return sum(n for s, n in self.statuses.items() if not (s.isdigit() and int(s) < 400))

    def percentile(self, p: float) -> float:
        with self.lock:
            values = sorted(self.latencies_ms)
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

    def summary(self) -> dict:
        elapsed = (self.finished or time.perf_counter()) - self.started
        return {
            "sent": self.sent, "errors": self.errors, "statuses": dict(self.statuses),
            "elapsed_s": round(elapsed, 3), "rps": round(self.sent / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(self.percentile(50), 1), "p99_ms": round(self.percentile(99), 1),
        }


def session(pool: int) -> requests.Session:
    s = requests.Session()
    s.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=pool))
    return s


def hit(s: requests.Session, url: str, timeout: float, stats: Stats) -> None:
    start = time.perf_counter()
    try:
        status = str(s.get(url, timeout=timeout).status_code)
    except requests.RequestException:
        status = "error"
    stats.add(status, (time.perf_counter() - start) * 1000)


def burst(base_url: str, paths: list[str], count: int, concurrency: int, timeout: float = 5.0) -> Stats:
    """Send ``count`` requests as fast as ``concurrency`` workers allow, cycling through ``paths``."""
    stats = Stats()
    urls = itertools.islice(itertools.cycle(base_url.rstrip("/") + p for p in paths), count)
    s = session(concurrency)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for _ in pool.map(lambda u: hit(s, u, timeout, stats), urls):
            pass
    s.close()
    stats.finished = time.perf_counter()
    return stats


def paced(base_url: str, paths: list[str], rate: float, *, duration: float = 0, count: int = 0,
          concurrency: int = 4, timeout: float = 5.0, stop: threading.Event | None = None,
          stats: Stats | None = None) -> Stats:
    """Send ``rate`` requests per second until ``duration`` seconds or ``count`` requests (0 = no limit) or ``stop``."""
    stats = stats or Stats()
    stop = stop or threading.Event()
    interval = 1.0 / rate
    s = session(concurrency)
    deadline = time.perf_counter() + duration if duration else None
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for n, path in enumerate(itertools.cycle(paths)):
            if (count and n >= count) or (deadline and time.perf_counter() >= deadline) or stop.is_set():
                break
            pool.submit(hit, s, base_url.rstrip("/") + path, timeout, stats)
            # Schedule against the start time, so slow answers do not lower the rate.
            stop.wait(max(0.0, stats.started + (n + 1) * interval - time.perf_counter()))
    s.close()
    stats.finished = time.perf_counter()
    return stats


def who_answers(url: str, count: int, timeout: float = 5.0) -> list[dict]:
    """GET ``url`` ``count`` times, one after another: each answer's status and the pod that gave it.

    The pod is the answer's ``X-Pod`` header (every service sets it; in level 7 it reads
    ``<cluster>/<pod>``), so a mesh's routing is seen from the client's side.
    """
    answers = []
    s = session(1)
    for _ in range(count):
        try:
            response = s.get(url, timeout=timeout)
            answers.append({"status": response.status_code, "pod": response.headers.get("X-Pod")})
        except requests.RequestException as error:
            answers.append({"status": None, "pod": None, "error": type(error).__name__})
    s.close()
    return answers

