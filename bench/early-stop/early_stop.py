#!/usr/bin/env python3
"""Early-stop driver, run by bench/early-stop/run against a running `aviary serve --prometheus`.

Two Rollouts of the sample app, each a canary at 10% then 33% with an analysis after each step
and SMI traffic routing, each under 50 requests a second of its own: `fixed` runs the seed's
success-rate template as written, scaled to `aviary demo --fast` timings (first measurement
after 12 s, then every 3 s, three of them, none may fail); `early` runs the same metric with
the aviary.dev/early-stop annotation of examples/early-stop.yaml (a sequential test on the
error rate, looked at every 2 s, alpha 0.01). For each: the time from `set image` of a `bad-`
image (20% errors) to the router sending 100% to stable, and how many healthy canaries were
aborted.
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from aviary_http import Client, canary_share, free_port, sample_app_rollout  # noqa: E402

ROLLOUTS = ("fixed", "early")


def template(name, prometheus, early):
    annotation = ""
    if early:
        annotation = """
  annotations:
    aviary.dev/early-stop: |
      success-rate:
        errors: sum(response_status{app="{{args.app}}",role="canary",status!~"2.."})
        total: sum(response_status{app="{{args.app}}",role="canary"})
        maxErrorRate: 0.05
        alpha: 0.01
        interval: 2s"""
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: {name}{annotation}
spec:
  args:
  - name: app
  metrics:
  - name: success-rate
    initialDelay: 12s
    interval: 3s
    count: 3
    failureLimit: 0
    successCondition: result[0] >= 0.95
    provider:
      prometheus:
        address: {prometheus}
        query: sum(response_status{{app="{{{{args.app}}}}",role="canary",status=~"2.*"}})/sum(response_status{{app="{{{{args.app}}}}",role="canary"}})
"""


def rollout(name, sample_app, template_name, ports):
    analysis = f"""
      - analysis:
          templates: [{{templateName: {template_name}}}]
          args: [{{name: app, value: {name}}}]"""
    return sample_app_rollout(
        name, 4, sample_app, f"{name}-canary", f"{name}-stable",
        f"""      canaryMetadata: {{labels: {{role: canary}}}}
      stableMetadata: {{labels: {{role: stable}}}}
      trafficRouting:
        smi: {{rootService: {name}}}
      steps:
      - setWeight: 10{analysis}
      - setWeight: 33{analysis}
""", ports)


class Traffic(threading.Thread):
    """About `rate` requests a second to one root Service, for as long as the bench runs."""

    def __init__(self, port, rate):
        super().__init__(daemon=True)
        self.port, self.rate = port, rate
        self.stopped = threading.Event()

    def run(self):
        client = Client(f"127.0.0.1:{self.port}", timeout=5)
        period = 1 / self.rate
        next_at = time.time()
        while not self.stopped.is_set():
            try:
                client.request("GET", "/")
            except OSError:
                pass
            next_at += period
            time.sleep(max(0, next_at - time.time()))


class Bench:
    def __init__(self, api, router_admin):
        self.api = Client(api)
        self.router = Client(router_admin)

    def status(self, name):
        return self.api.json("GET", f"/api/v1/rollouts/{name}").get("status", {})

    def canary_share(self, name, root_port):
        """The canary's percentage of the root listener's traffic (None: no listener yet)."""
        return canary_share(self.router, f"127.0.0.1:{root_port}", f"{name}-stable")

    def wait(self, what, predicate, timeout=300, step=0.05):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(step)
        raise TimeoutError(f"timed out after {timeout} s waiting for {what}")

    def set_image(self, name, image):
        self.api.json("POST", f"/api/v1/rollouts/{name}/image", json.dumps({"container": "app", "image": image}))

    def healthy_on(self, name, image):
        status = self.status(name)
        return status.get("phase") == "Healthy" and status.get("stableRS") == status.get("currentPodHash")

    def bad_run(self, name, root_port, image, stable_image):
        """Seconds from `set image` of a bad image to the router at 100% stable."""
        sent = time.time()
        self.set_image(name, image)
        self.wait(f"{name}: the canary to take traffic", lambda: (self.canary_share(name, root_port) or 0) > 0, step=0.01)
        self.wait(f"{name}: the router at 100% stable", lambda: self.canary_share(name, root_port) == 0.0, step=0.01)
        took = time.time() - sent
        message = self.status(name).get("message", "")
        # Back to the stable image: Argo's quick rollback, no steps.
        self.set_image(name, stable_image)
        self.wait(f"{name}: Healthy again", lambda: self.status(name).get("phase") == "Healthy")
        self.wait_for_old_pods(name)
        return took, message

    def wait_for_old_pods(self, name):
        """Until only the stable ReplicaSet has pods: an aborted canary's pods keep serving (and
        keep their `role: canary` counters in Prometheus) for abortScaleDownDelaySeconds (30 s),
        and the seed's query, which selects by role, would count them in the next canary."""

        def only_stable():
            status = self.status(name)
            sets = self.api.json("GET", f"/api/v1/replicasets?rollout={name}").get("replicaSets", [])
            others = [s for s in sets if s.get("replicas", 0) > 0 and s.get("podTemplateHash") != status.get("stableRS")]
            return not others

        self.wait(f"{name}: the aborted canary's pods gone", only_stable, timeout=120, step=0.5)
        time.sleep(6)  # one more scrape: Prometheus marks the gone pods' series stale

    def healthy_run(self, name, image):
        """Whether a healthy canary was promoted (True) or aborted (False)."""
        self.set_image(name, image)
        time.sleep(1)
        phase = self.wait(
            f"{name}: {image} promoted or aborted",
            lambda: {"Healthy": "promoted", "Degraded": "aborted"}.get(self.status(name).get("phase")),
            timeout=600)
        if phase == "aborted":
            message = self.status(name).get("message", "")
            print(f"  {name}: healthy {image} ABORTED: {message}", flush=True)
            self.set_image(name, "sample-app:v0")
            self.wait(f"{name}: Healthy again", lambda: self.status(name).get("phase") == "Healthy")
            self.wait_for_old_pods(name)
            return False
        return True


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", required=True)
    parser.add_argument("--router-admin", required=True)
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--sample-app", required=True)
    parser.add_argument("--healthy", type=int, default=20)
    parser.add_argument("--bad", type=int, default=5)
    parser.add_argument("--rate", type=float, default=50)
    options = parser.parse_args()

    bench = Bench(options.api, options.router_admin)
    ports = {}
    text = template("seed-fast", options.prometheus, early=False) + "---" + template(
        "seed-fast-early-stop", options.prometheus, early=True)
    for name, template_name in zip(ROLLOUTS, ("seed-fast", "seed-fast-early-stop")):
        ports[name] = {name: free_port(), f"{name}-stable": free_port(), f"{name}-canary": free_port()}
        text += rollout(name, options.sample_app, template_name, ports[name])
    bench.api.json("POST", "/api/v1/apply", text.encode(), "application/yaml")
    for name in ROLLOUTS:
        bench.wait(f"{name}: the first revision Healthy", lambda: bench.status(name).get("phase") == "Healthy")

    results = {}
    for name in ROLLOUTS:
        traffic = Traffic(ports[name][name], options.rate)
        traffic.start()
        time.sleep(15)  # Prometheus finds the stable pods and has a rate to go on.
        bad, aborted_healthy = [], 0
        for index in range(1, options.bad + 1):
            took, message = bench.bad_run(name, ports[name][name], f"sample-app:bad-{name}{index}", "sample-app:v0")
            bad.append(took)
            print(f"{name}: bad canary {index}: set image -> 100% stable in {took:.1f} s ({message})", flush=True)
        stable_image = "sample-app:v0"
        for index in range(1, options.healthy + 1):
            image = f"sample-app:good-{name}{index}"
            promoted = bench.healthy_run(name, image)
            aborted_healthy += 0 if promoted else 1
            print(f"{name}: healthy canary {index}: {'promoted' if promoted else 'aborted'}", flush=True)
        traffic.stopped.set()
        results[name] = (bad, aborted_healthy)

    print()
    for name in ROLLOUTS:
        bad, aborted = results[name]
        label = "seed template (--fast)" if name == "fixed" else "same metric + early stop"
        print(
            f"{label:26s} bad canary -> 100% stable: median {statistics.median(bad):.1f} s "
            f"(min {min(bad):.1f}, max {max(bad):.1f}, {len(bad)} runs); "
            f"healthy canaries aborted: {aborted} of {options.healthy}")
    fixed, early = statistics.median(results["fixed"][0]), statistics.median(results["early"][0])
    print(f"speed-up of the median: {fixed / early:.2f}x")


if __name__ == "__main__":
    try:
        main()
    except (TimeoutError, RuntimeError) as error:
        print(f"bench/early-stop: {error}", file=sys.stderr)
        sys.exit(1)
