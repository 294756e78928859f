"""`make bench-app`: the chain gateway -> customer -> order -> account under gunicorn (the images'
settings), against a one-hop baseline under the same settings, on 127.0.0.1.

customer, order and account keep their data in PostgreSQL, as from level 2 on: one database each
on a throwaway local server (workshop.postgres_local; `make postgres-for-tests` installs it).
`--database sqlite` measures the SQLite files instead (level 1's compose).

Prints throughput, p50/p99, errors and peak RSS per service, then one line:
bench-app: requests=N errors=E chain_rps=X single_hop_rps=Y ratio=R p99_ms=P rss_max_mb=M database=D
where ratio = (single_hop_rps / chain_rps) / 4: 1.0 means a 4-hop request costs exactly 4 single hops,
rss_max_mb is the largest service (the database server is printed on its own line).
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "services"
sys.path[:0] = [str(SERVICES / "common"), str(SERVICES / "loadgen"), str(REPO)]
from loadgen import traffic  # noqa: E402
from workshop.postgres_local import LocalPostgres  # noqa: E402

SUMMARY = "/api/customers/1/summary"
BASELINE = '''from flask import Flask
app = Flask("baseline")
@app.get("/ping")
def ping():
    return {"ok": True}
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name: str, app: str, pythonpath: list[Path], env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "python:servicekit.gunicorn_conf", "--bind",
         f"127.0.0.1:{port}", app],
        env={**os.environ, **env, "PORT": str(port), "PYTHONPATH": os.pathsep.join(map(str, pythonpath)),
             "POD_NAME": f"bench-{name}"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz" if name != "baseline" else url + "/ping", timeout=1).ok:
                return proc, url
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"bench-app: {name} did not start on {url}")


def family(pid: int) -> list[int]:
    """A gunicorn master and its workers."""
    return [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def cpu_seconds(pid: int) -> float:
    ticks = 0
    for p in family(pid):
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """RSS of a gunicorn master and its workers together."""
    pids = family(pid)
    total = 0
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


class PeakRss(threading.Thread):
    def __init__(self, procs: dict):
        super().__init__(daemon=True)
        self.procs, self.peak, self.stop = procs, dict.fromkeys(procs, 0.0), threading.Event()

    def run(self):
        while not self.stop.is_set():
            for name, proc in self.procs.items():
                try:
                    self.peak[name] = max(self.peak[name], rss_mb(proc.pid))
                except (OSError, ValueError):
                    pass
            self.stop.wait(0.2)


def merge(parts: list[traffic.Stats]) -> traffic.Stats:
    """One Stats from several slices; elapsed time is the slices' busy time only."""
    total = traffic.Stats()
    total.finished = total.started
    for part in parts:
        total.latencies_ms += part.latencies_ms
        total.statuses.update(part.statuses)
        total.finished += part.finished - part.started
    return total


def report(label: str, stats: traffic.Stats) -> None:
    s = stats.summary()
    print(f"{label:<11} requests={s['sent']} errors={s['errors']} rps={s['rps']} "
          f"p50_ms={s['p50_ms']} p99_ms={s['p99_ms']} statuses={s['statuses']}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--rounds", type=int, default=4, help="interleaved slices of each measurement")
    p.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    a = p.parse_args(argv)
    procs: dict[str, subprocess.Popen] = {}
    postgres = LocalPostgres() if a.database == "postgres" else None
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        try:
            def store(service: str) -> dict:
                if postgres is None:
                    return {"DATA_DIR": tmp}
                return {"DATA_DIR": tmp, "DATABASE_URL": postgres.create_database(service)}

            if postgres is not None:
                postgres.start()
                procs["postgres"] = postgres.proc
            procs["account"], account = start("account", "account:create_app()", [SERVICES / "common", SERVICES / "account"], store("account"))
            procs["order"], order = start("order", "order:create_app()", [SERVICES / "common", SERVICES / "order"], {**store("order"), "ACCOUNT_URL": account})
            procs["customer"], customer = start("customer", "customer:create_app()", [SERVICES / "common", SERVICES / "customer"], {**store("customer"), "ORDER_URL": order})
            procs["gateway"], gateway = start("gateway", "gateway:create_app()", [SERVICES / "common", SERVICES / "gateway"], {"CUSTOMER_URL": customer})
            Path(tmp, "baseline.py").write_text(BASELINE)
            procs["baseline"], baseline = start("baseline", "baseline:app", [SERVICES / "common", Path(tmp)], {})
            peak = PeakRss(procs)
            peak.start()
            print(f"bench-app: {a.requests} requests at concurrency {a.concurrency}, gunicorn gevent "
                  f"(workers={os.environ.get('WEB_CONCURRENCY', '1')}, "
                  f"worker_connections={os.environ.get('WORKER_CONNECTIONS', '1000')}), "
                  f"{os.cpu_count()} CPUs shared by {len(procs)} servers and the client, database: {a.database}")
            for url, path in ((baseline, "/ping"), (gateway, SUMMARY)):
                traffic.burst(url, [path], 100, a.concurrency)  # warm up connections and caches
            cpu_before = {n: cpu_seconds(p.pid) for n, p in procs.items()}
            # Interleaved slices: on a shared machine both measurements see the same background load.
            single_parts, chain_parts = [], []
            for _ in range(a.rounds):
                single_parts.append(traffic.burst(baseline, ["/ping"], a.requests // a.rounds, a.concurrency))
                chain_parts.append(traffic.burst(gateway, [SUMMARY], a.requests // a.rounds, a.concurrency))
            single, chain = merge(single_parts), merge(chain_parts)
            report("single-hop", single)
            report("chain", chain)
            # Where the CPU went, per request (the load client's share is the rest of the machine).
            for name, proc in procs.items():
                used = 1000 * (cpu_seconds(proc.pid) - cpu_before[name])
                print(f"cpu {name:<9} {used / chain.sent:.2f} ms per request" if name != "baseline"
                      else f"cpu {name:<9} {used / single.sent:.2f} ms per single-hop request")
            peak.stop.set()
            peak.join()
            for name, mb in peak.peak.items():
                print(f"rss {name:<9} peak={mb:.1f} MB")
        finally:
            for name, proc in procs.items():
                if name != "postgres":
                    proc.terminate()
            for name, proc in procs.items():
                if name != "postgres":
                    proc.wait(15)
            if postgres is not None:
                postgres.stop()
    cs, ss = chain.summary(), single.summary()
    ratio = (ss["rps"] / cs["rps"]) / 4 if cs["rps"] else float("inf")
    rss_max = max(mb for name, mb in peak.peak.items() if name not in ("baseline", "postgres"))
    print(f"bench-app: requests={cs['sent']} errors={cs['errors'] + ss['errors']} chain_rps={cs['rps']} "
          f"single_hop_rps={ss['rps']} ratio={ratio:.2f} p99_ms={cs['p99_ms']} rss_max_mb={rss_max:.1f} "
          f"database={a.database}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
