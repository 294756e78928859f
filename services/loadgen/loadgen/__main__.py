"""Command line: `python -m loadgen --url http://127.0.0.1:8080 --rate 5 --duration 30` or `--burst 200`."""

import argparse
import json
import sys

from loadgen import DEFAULT_PATHS, traffic


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="loadgen", description=__doc__)
    p.add_argument("--url", default="http://127.0.0.1:8080", help="base URL of the gateway")
    p.add_argument("--paths", default=DEFAULT_PATHS, help="comma-separated paths to cycle through")
    p.add_argument("--rate", type=float, default=2.0, help="requests per second (paced mode)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds to run (paced mode)")
    p.add_argument("--count", type=int, default=0, help="stop after this many requests (0 = no limit)")
    p.add_argument("--burst", type=int, default=0, help="send this many requests as fast as possible instead")
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight at once")
    a = p.parse_args(argv)
    paths = [x for x in a.paths.split(",") if x]
    if a.rate <= 0 or a.concurrency < 1 or a.burst < 0 or a.count < 0 or a.duration < 0:
        p.error("--rate and --concurrency must be positive; --burst, --count and --duration not negative")
    if a.burst:
        stats = traffic.burst(a.url, paths, a.burst, a.concurrency)
    else:
        stats = traffic.paced(a.url, paths, a.rate, duration=a.duration, count=a.count, concurrency=a.concurrency)
    print(json.dumps(stats.summary()))
    return 0 if stats.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
