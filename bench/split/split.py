#!/usr/bin/env python3
"""Split accuracy client, run by bench/split/run against a running `aviary router`.

For each canary weight, replaces the router's table (PUT /table) and sends the requests over
keep-alive connections, counting answers from the canary (the sample app names its image in
every answer). Prints the observed share per weight and the largest error in points.
"""

import argparse
import http.client
import json
import sys
import threading

WEIGHTS = [1, 5, 10, 33, 50]
CONNECTIONS = 4


def put_table(admin, listener, stable, canary, weight):
    table = {
        "services": {"stable": {"endpoints": [stable]}, "canary": {"endpoints": [canary]}},
        "listeners": [
            {
                "address": listener,
                "routes": [
                    {
                        "backends": [
                            {"service": "stable", "weight": 100 - weight},
                            {"service": "canary", "weight": weight},
                        ]
                    }
                ],
            }
        ],
    }
    host, port = admin.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("PUT", "/table", body=json.dumps(table), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"PUT /table refused the table at weight {weight}: {body.decode(errors='replace')}")


def send(listener, count, totals, lock):
    """Sends `count` GETs over one keep-alive connection; adds (canary, other, errors) to totals."""
    host, port = listener.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    canary = other = errors = 0
    for _ in range(count):
        connection.request("GET", "/")
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            errors += 1
        elif b"split:canary" in body:
            canary += 1
        else:
            other += 1
    connection.close()
    with lock:
        totals[0] += canary
        totals[1] += other
        totals[2] += errors


def measure(listener, requests):
    totals, lock = [0, 0, 0], threading.Lock()
    shares = [requests // CONNECTIONS + (1 if index < requests % CONNECTIONS else 0) for index in range(CONNECTIONS)]
    threads = [threading.Thread(target=send, args=(listener, share, totals, lock)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return totals


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listener", required=True)
    parser.add_argument("--admin", required=True)
    parser.add_argument("--stable", required=True)
    parser.add_argument("--canary", required=True)
    parser.add_argument("--requests", type=int, default=10000)
    options = parser.parse_args()

    worst = 0.0
    for weight in WEIGHTS:
        put_table(options.admin, options.listener, options.stable, options.canary, weight)
        canary, other, errors = measure(options.listener, options.requests)
        answered = canary + other
        share = 100.0 * canary / answered if answered else 0.0
        error = abs(share - weight)
        worst = max(worst, error)
        print(
            f"weight {weight:2d}%: canary {canary:5d} of {answered} answers = {share:6.2f}%"
            f"  (error {error:.2f} points, {errors} non-200)",
            flush=True,
        )
    print(f"largest error: {worst:.2f} percentage points (target: within 0.5)")


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, OSError, http.client.HTTPException) as error:
        print(f"bench/split: {error}", file=sys.stderr)
        sys.exit(1)
