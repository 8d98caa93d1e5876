#!/usr/bin/env python3
"""Rollback latency driver, run by bench/rollback/run against a running `aviary serve`.

Applies a canary Rollout of the sample app with SMI traffic routing and a background `web`
analysis against a metric server in this process, then alternates two kinds of runs:
(a) the metric turns bad: failing measurement's finishedAt -> router table 100% stable;
(b) abort through the API: request sent -> router table 100% stable.
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from aviary_http import Client, canary_share, free_port, sample_app_rollout  # noqa: E402

NAME = "bench"
ROOT, STABLE, CANARY = "bench", "bench-stable", "bench-canary"


class MetricHandler(BaseHTTPRequestHandler):
    """Answers {"ok": 1} while the metric is good and {"ok": 0} once it is bad."""

    protocol_version = "HTTP/1.1"
    good = True

    def do_GET(self):
        body = json.dumps({"ok": 1 if MetricHandler.good else 0}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def manifests(sample_app, metric_url, ports):
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: bench-flag}}
spec:
  metrics:
  - name: flag
    interval: 500ms
    failureLimit: 0
    successCondition: result == 1
    provider:
      web:
        url: {metric_url}
        timeoutSeconds: 5
        jsonPath: "{{$.ok}}"
""" + sample_app_rollout(
        NAME, 2, sample_app, CANARY, STABLE,
        f"""      trafficRouting:
        smi: {{rootService: {ROOT}}}
      analysis:
        startingStep: 1
        templates: [{{templateName: bench-flag}}]
      steps:
      - setWeight: 10
      - pause: {{}}
""", ports)


class Bench:
    def __init__(self, api, router_admin, root_port):
        self.api = Client(api)
        self.router_address = router_admin
        self.router = Client(router_admin)
        self.root_address = f"127.0.0.1:{root_port}"

    def canary_share(self, client=None):
        """The canary's percentage of the root listener's traffic (None: no listener yet)."""
        return canary_share(client or self.router, self.root_address, STABLE)

    def wait(self, what, predicate, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise TimeoutError(f"timed out after {timeout} s waiting for {what}")

    def rollout(self):
        return self.api.json("GET", f"/api/v1/rollouts/{NAME}")

    def running_analysis(self):
        runs = self.api.json("GET", "/api/v1/analysisruns")
        items = runs.get("items", runs) if isinstance(runs, dict) else runs
        for run in items:
            labels = run.get("metadata", {}).get("labels", {})
            if labels.get("rollout") == NAME and run.get("status", {}).get("phase") == "Running":
                return run
        return None

    def analysis(self, name):
        return self.api.json("GET", f"/api/v1/analysisruns/{name}")

    def set_image(self, image):
        self.api.json("POST", f"/api/v1/rollouts/{NAME}/image", json.dumps({"container": "app", "image": image}))

    def start_canary(self, image):
        """Sets a new image and waits until the router sends the canary 10%."""
        self.set_image(image)
        self.wait(f"{image} at 10% in the router's table", lambda: self.canary_share() == 10.0)

    def watch_until_stable(self):
        """Polls /table every millisecond on its own connection; returns a thread and a result box."""
        result = {}
        client = Client(self.router_address)

        def poll():
            deadline = time.time() + 60
            while time.time() < deadline:
                if self.canary_share(client) == 0.0:
                    result["stable"] = time.time()
                    return
                time.sleep(0.001)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        return thread, result

    def run_metric(self, index):
        MetricHandler.good = True
        self.start_canary(f"sample-app:a{index}")

        def measured_run():
            run = self.running_analysis()
            if not run:
                return None
            results = run.get("status", {}).get("metricResults") or []
            ok = any(m.get("phase") == "Successful" for r in results for m in r.get("measurements") or [])
            return run if ok else None

        run = self.wait("a Successful measurement", measured_run)
        thread, result = self.watch_until_stable()
        MetricHandler.good = False
        thread.join()
        if "stable" not in result:
            raise TimeoutError("the router did not go to 100% stable within 60 s of the metric turning bad")
        run = self.analysis(run["metadata"]["name"])
        failed = [
            m
            for r in run.get("status", {}).get("metricResults") or []
            for m in r.get("measurements") or []
            if m.get("phase") == "Failed"
        ]
        finished = datetime.fromisoformat(failed[0]["finishedAt"]).timestamp()
        MetricHandler.good = True
        return (result["stable"] - finished) * 1000

    def run_abort(self, index):
        MetricHandler.good = True
        self.start_canary(f"sample-app:b{index}")
        thread, result = self.watch_until_stable()
        sent = time.time()
        self.api.json("POST", f"/api/v1/rollouts/{NAME}/abort")
        answered = time.time()
        thread.join()
        if "stable" not in result:
            raise TimeoutError("the router did not go to 100% stable within 60 s of the abort")
        return (result["stable"] - sent) * 1000, (answered - sent) * 1000


def summary(label, samples):
    ordered = sorted(samples)
    print(f"{label}: median {statistics.median(ordered):.1f} ms, max {ordered[-1]:.1f} ms ({len(ordered)} runs)")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", required=True)
    parser.add_argument("--router-admin", required=True)
    parser.add_argument("--sample-app", required=True)
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()

    metric_server = ThreadingHTTPServer(("127.0.0.1", 0), MetricHandler)
    metric_server.daemon_threads = True
    threading.Thread(target=metric_server.serve_forever, daemon=True).start()
    metric_url = f"http://127.0.0.1:{metric_server.server_address[1]}/flag"
    ports = {ROOT: free_port(), STABLE: free_port(), CANARY: free_port()}

    bench = Bench(options.api, options.router_admin, ports[ROOT])
    bench.api.json("POST", "/api/v1/apply", manifests(options.sample_app, metric_url, ports).encode(), "application/yaml")
    bench.wait("the first revision to be Healthy", lambda: bench.rollout().get("status", {}).get("phase") == "Healthy")

    metric, abort, answered = [], [], []
    try:
        for index in range(1, options.runs + 1):
            metric.append(bench.run_metric(index))
            latency, answer = bench.run_abort(index)
            abort.append(latency)
            answered.append(answer)
            print(
                f"run {index:2d}: failing measurement -> 100% stable {metric[-1]:6.1f} ms;"
                f" abort sent -> 100% stable {abort[-1]:6.1f} ms (API answered after {answer:.1f} ms)",
                flush=True,
            )
    finally:
        metric_server.shutdown()
    summary("failing measurement recorded -> router 100% stable", metric)
    summary("abort sent -> router 100% stable", abort)
    summary("abort sent -> API answered", answered)


if __name__ == "__main__":
    try:
        main()
    except (TimeoutError, RuntimeError) as error:
        print(f"bench/rollback: {error}", file=sys.stderr)
        sys.exit(1)
