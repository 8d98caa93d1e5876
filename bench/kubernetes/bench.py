"""The measurements of bench/kubernetes/run (see its header); run through it."""
import argparse
import concurrent.futures
import glob
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from kubernetes import client, config

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "rollouts"
LEASE_VERBS = ("get leases", "update leases", "create leases")


TRAFFIC_SPLIT_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: trafficsplits.split.smi-spec.io}
spec:
  group: split.smi-spec.io
  scope: Namespaced
  names: {kind: TrafficSplit, listKind: TrafficSplitList, plural: trafficsplits, singular: trafficsplit}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


def rollout(index, image):
    name = f"r{index:05d}"
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Rollout",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "app", "image": image}]}},
            "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}},
        },
    }


def http(method, url):
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) // 1024
    return fields["VmRSS"], fields["VmHWM"]


class Double:
    def __init__(self, bin_dir, work):
        self.kubeconfig = os.path.join(work, "kubeconfig")
        self.log = open(os.path.join(work, "apiserver.log"), "w")
        self.process = subprocess.Popen(
            [os.path.join(bin_dir, "aviary-test-apiserver"), "--port", "0", "--kubeconfig-out", self.kubeconfig],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not os.path.exists(self.kubeconfig) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        with open(self.kubeconfig) as text:
            self.server = next(line.split("server:")[1].strip() for line in text if "server:" in line)

    def counts(self):
        return json.loads(http("GET", self.server + "/_double/requests")[1])["counts"]

    def reset(self):
        http("DELETE", self.server + "/_double/requests")

    def stop(self):
        self.process.kill()
        self.process.wait()


def healthy_gauge(address):
    status, text = http("GET", address + "/metrics")
    for line in text.splitlines() if status == 200 else []:
        if line.startswith('aviary_rollouts{phase="Healthy"}'):
            return int(float(line.split()[-1]))
    return 0


def all_healthy(api, count, image=None):
    items = api.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)["items"]
    healthy = 0
    for item in items:
        status = item.get("status") or {}
        if status.get("phase") != "Healthy":
            continue
        if str(status.get("observedGeneration")) != str(item["metadata"].get("generation")):
            continue
        healthy += 1
    return healthy == count


def run_one(count, args, work):
    double = Double(args.bin, work)
    controller = None
    try:
        for crd in sorted(glob.glob(os.path.join(args.crds, "*.yaml"))):
            subprocess.run(["kubectl", "--kubeconfig", double.kubeconfig, "--cache-dir", work + "/cache",
                            "create", "-f", crd], check=True, stdout=subprocess.DEVNULL)
        # SMI's TrafficSplit CRD, as on the seed's Linkerd cluster. Without it the controller's
        # TrafficSplit informer retries its list every 20 to 30 s, as client-go's reflector does.
        subprocess.run(["kubectl", "--kubeconfig", double.kubeconfig, "--cache-dir", work + "/cache",
                        "create", "-f", "-"], input=TRAFFIC_SPLIT_CRD.encode(), check=True, stdout=subprocess.DEVNULL)
        config.load_kube_config(config_file=double.kubeconfig)
        configuration = client.Configuration.get_default_copy()
        configuration.connection_pool_maxsize = 16
        api = client.CustomObjectsApi(client.ApiClient(configuration))
        time.sleep(1)  # the CRDs become servable
        started = time.time()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: api.create_namespaced_custom_object(
                GROUP, VERSION, "default", PLURAL, rollout(i, "app:v1")), range(count)))
        print(f"  created {count} Rollouts in {time.time() - started:.1f} s", flush=True)

        log = open(os.path.join(work, f"controller-{count}.log"), "w")
        started = time.time()
        controller = subprocess.Popen(
            [os.path.join(args.bin, "aviary"), "serve", "--platform", "kubernetes", "--kubeconfig", double.kubeconfig,
             "--lease-namespace", "default", "--listen", "127.0.0.1:0", "--qps", str(args.qps), "--burst", str(args.qps * 2)],
            stdout=log, stderr=subprocess.STDOUT)
        address = None
        while address is None and time.time() - started < 600:
            with open(log.name) as text:
                for line in text:
                    if "/metrics on " in line:
                        address = line.split("/metrics on ")[1].strip()
            time.sleep(0.05)
        while http("GET", address + "/readyz")[0] != 200:
            time.sleep(0.05)
        synced = time.time() - started
        # A new rollout costs about seven writes, so at --qps 40 about 6 rollouts a second become
        # Healthy (10,000 in 1,833 s): the wait grows with the count.
        deadline = time.time() + max(1800, count * 0.4)
        reported = time.time()
        # The controller's own gauge is read every 5 s; the list (10,000 Rollouts are megabytes the
        # double must write) only once the gauge says they are all Healthy.
        while not (healthy_gauge(address) >= count and all_healthy(api, count)):
            if time.time() > deadline:
                raise SystemExit(f"bench/kubernetes: not all {count} rollouts became Healthy; see {log.name}")
            if time.time() - reported >= 60:
                reported = time.time()
                rss, _ = memory(controller.pid)
                print(f"  ... {healthy_gauge(address)} Healthy after {time.time() - started:.0f} s, controller RSS {rss} MB",
                      flush=True)
            time.sleep(5)
        healthy = time.time() - started
        rss, peak = memory(controller.pid)
        print(f"  initial sync: caches listed in {synced:.2f} s, all {count} Healthy after {healthy:.1f} s", flush=True)
        print(f"  controller RSS {rss} MB, peak {peak} MB", flush=True)

        # Steady state: nothing changes; count what the controller asks of the API server.
        time.sleep(10)
        double.reset()
        cpu_before = cpu_seconds(controller.pid)
        time.sleep(args.steady)
        counts = double.counts()
        cpu_at_rest = (cpu_seconds(controller.pid) - cpu_before) / args.steady
        minutes = args.steady / 60
        writes = {k: v for k, v in counts.items()
                  if k.split()[0] in ("create", "update", "patch", "delete", "deletecollection") and k not in LEASE_VERBS}
        lists = {k: v for k, v in counts.items() if k.startswith("list ")}
        per_minute = ", ".join(f"{k} {v / minutes:.1f}" for k, v in sorted(counts.items())) or "none"
        print(f"  steady state over {args.steady} s, requests per minute: {per_minute}", flush=True)
        print(f"  steady state: {sum(writes.values())} writes, {sum(lists.values())} lists "
              f"({'goal met' if not writes and not lists else 'GOAL MISSED: ' + json.dumps({**writes, **lists})})",
              flush=True)
        print(f"  controller CPU at rest: {cpu_at_rest * 100:.1f}% of a core", flush=True)

        # Latency: one rollout's image changes; how soon the controller acts, and the first step is done.
        acted, stepped = [], []
        for index in range(10):
            name = f"r{index * max(1, count // 10):05d}"
            before = api.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, name)["status"]["currentPodHash"]
            patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": f"app:v2-{index}"}]}}}}
            changed = time.time()
            api.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, name, patch)
            acted_at = None
            while time.time() - changed < 60:
                status = api.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, name).get("status") or {}
                if acted_at is None and status.get("currentPodHash") not in (None, before):
                    acted_at = time.time() - changed
                if acted_at is not None and (status.get("currentStepIndex") or 0) >= 1:
                    stepped.append(time.time() - changed)
                    break
                time.sleep(0.01)
            if acted_at is not None:
                acted.append(acted_at)
        rss_after, peak_after = memory(controller.pid)
        print(f"  image change to the controller acting (new ReplicaSet, status on its hash): "
              f"median {statistics.median(acted) * 1000:.0f} ms, max {max(acted) * 1000:.0f} ms "
              f"({len(acted)} of 10)", flush=True)
        if stepped:
            print(f"  image change to the first step done (setWeight 20, its pod ready in the double): "
                  f"median {statistics.median(stepped) * 1000:.0f} ms, max {max(stepped) * 1000:.0f} ms "
                  f"({len(stepped)} of 10)", flush=True)
        print(f"  controller RSS after the updates {rss_after} MB, peak {peak_after} MB", flush=True)
        return rss, peak_after, acted, bool(writes or lists)
    finally:
        if controller is not None:
            controller.send_signal(signal.SIGTERM)
            try:
                controller.wait(timeout=20)
            except subprocess.TimeoutExpired:
                controller.kill()
        double.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--crds", required=True)
    parser.add_argument("--rollouts", default="1000,10000")
    parser.add_argument("--steady", type=float, default=300)
    parser.add_argument("--qps", type=int, default=200)
    args = parser.parse_args()
    print(f"bench/kubernetes: aviary serve --platform kubernetes --qps {args.qps} --burst {args.qps * 2} from {args.bin}, "
          "against aviary-test-apiserver")
    missed = False
    for count in [int(n) for n in args.rollouts.split(",")]:
        print(f"{count} rollouts:", flush=True)
        with tempfile.TemporaryDirectory() as work:
            _, peak, acted, steady_missed = run_one(count, args, work)
        missed |= steady_missed
        if count >= 10000 and peak > 300:
            print(f"  GOAL MISSED: peak RSS {peak} MB > 300 MB")
            missed = True
        if acted and max(acted) > 1:
            print(f"  GOAL MISSED: the controller took {max(acted):.2f} s > 1 s to act on an image change")
            missed = True
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
