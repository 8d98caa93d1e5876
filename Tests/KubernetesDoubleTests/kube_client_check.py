"""Drives aviary-test-apiserver with the official Python `kubernetes` client.

Usage: python3 kube_client_check.py KUBECONFIG NAMESPACE
Prints one `CHECK name: detail` line per check and `ALL CHECKS PASSED` at the end; exits 1 with
`FAILED name: detail` on the first check that does not hold. The Swift test
(KubernetesDoubleTests) runs it and reads that output.
"""
import json
import sys
import urllib.request

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


def fail(name, detail):
    print(f"FAILED {name}: {detail}", flush=True)
    sys.exit(1)


def check(name, condition, detail):
    if not condition:
        fail(name, detail)
    print(f"CHECK {name}: {detail}", flush=True)


def control(host, path):
    request = urllib.request.Request(host + path, data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def config_map(name):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels={"app": "check"}), data={"k": name})


def main():
    kubeconfig, namespace = sys.argv[1], sys.argv[2]
    config.load_kube_config(config_file=kubeconfig)
    host = client.Configuration.get_default_copy().host
    core = client.CoreV1Api()
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    names = [f"cm-{index}" for index in range(7)]
    for name in names:
        core.create_namespaced_config_map(namespace, config_map(name))

    # Pagination: limit + continue, every item exactly once, the first page's resourceVersion on all pages.
    seen, pages, token, versions = [], 0, None, set()
    while True:
        page = core.list_namespaced_config_map(namespace, limit=3, _continue=token, label_selector="app=check")
        pages += 1
        seen += [item.metadata.name for item in page.items]
        versions.add(page.metadata.resource_version)
        token = page.metadata._continue
        if not token:
            break
    check("pagination", sorted(seen) == sorted(names) and len(seen) == len(set(seen)) and pages == 3,
          f"{len(seen)} items in {pages} pages of 3, each once")
    check("pagination-resource-version", len(versions) == 1, f"one list resourceVersion {versions}")

    # Watch from a resourceVersion: the changes after it, none before.
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, config_map("after-1"))
    core.patch_namespaced_config_map("after-1", namespace, {"data": {"k": "patched"}})
    core.delete_namespaced_config_map("cm-0", namespace)
    events = []
    stream = watch.Watch()
    for event in stream.stream(core.list_namespaced_config_map, namespace, resource_version=start,
                               timeout_seconds=5):
        events.append((event["type"], event["object"].metadata.name))
        if len(events) == 3:
            stream.stop()
    expected = [("ADDED", "after-1"), ("MODIFIED", "after-1"), ("DELETED", "cm-0")]
    check("watch-from-resource-version", events == expected, f"events after {start}: {events}")

    # A list page token from before a compaction is too old: 410.
    first = core.list_namespaced_config_map(namespace, limit=2)
    old_version = first.metadata.resource_version
    control(host, "/_double/compact")
    try:
        core.list_namespaced_config_map(namespace, limit=2, _continue=first.metadata._continue)
        fail("continue-after-compaction", "the list continued from a compacted resourceVersion")
    except ApiException as error:
        check("continue-after-compaction", error.status == 410, f"ApiException status {error.status}")

    # A watch from a compacted resourceVersion: ERROR event with a 410 Status, raised as ApiException.
    try:
        for event in watch.Watch().stream(core.list_namespaced_config_map, namespace,
                                          resource_version=old_version, timeout_seconds=5):
            fail("watch-after-compaction", f"got {event['type']} instead of 410")
        fail("watch-after-compaction", "the watch ended without an error")
    except ApiException as error:
        check("watch-after-compaction", error.status == 410, f"ApiException status {error.status}: {error.reason}")

    # After a fresh list the client can watch again.
    fresh = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, config_map("after-compaction"))
    events = []
    stream = watch.Watch()
    for event in stream.stream(core.list_namespaced_config_map, namespace, resource_version=fresh,
                               timeout_seconds=5):
        events.append((event["type"], event["object"].metadata.name))
        stream.stop()
    check("watch-after-relist", events == [("ADDED", "after-compaction")], f"events {events}")
    print("ALL CHECKS PASSED", flush=True)


if __name__ == "__main__":
    main()
