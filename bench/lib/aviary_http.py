"""What the bench drivers share: a keep-alive HTTP client for the daemon's API and the router's
admin endpoint, a free loopback port, the sample app as a canary Rollout with its Services, and
the canary's share of a root listener's traffic as the router's table says it."""

import http.client
import json
import socket


class Client:
    """One keep-alive HTTP connection; reconnects once if the server closed it."""

    def __init__(self, address, timeout=30):
        host, port = address.rsplit(":", 1)
        self.host, self.port, self.timeout = host, int(port), timeout
        self.connection = None

    def request(self, method, path, body=None, content_type="application/json"):
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                headers = {"Content-Type": content_type} if body is not None else {}
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = None
                if attempt == 1:
                    raise

    def json(self, method, path, body=None, content_type="application/json"):
        status, data = self.request(method, path, body, content_type)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {data.decode(errors='replace')}")
        return json.loads(data)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def canary_share(router, root_address, stable_service):
    """The percentage of the root listener's default route that reaches a pod which is not a
    stable pod (None: no such listener yet). Counting endpoints rather than the canary service's
    weight also sees an abort's first effect, the canary service pointed back at the stable pods."""
    _, data = router.request("GET", "/table")
    table = json.loads(data)
    services = table.get("services", {})

    def endpoints(name):
        return set(services.get(name, {}).get("endpoints", []))

    stable = endpoints(stable_service)
    for listener in table.get("listeners", []):
        if listener.get("address") != root_address:
            continue
        backends = listener["routes"][-1]["backends"]
        total = sum(b.get("weight", 1) for b in backends)
        canary = sum(b.get("weight", 1) for b in backends if endpoints(b["service"]) - stable)
        return 100.0 * canary / total if total else None
    return None


def sample_app_rollout(name, replicas, sample_app, canary_service, stable_service, strategy, ports):
    """A canary Rollout of the sample app at `sample-app:v0` (readiness checked every second),
    `strategy` being the YAML lines under `canary:` after the two Services, then one Service per
    entry of `ports` (name -> port) selecting its pods."""
    services = "".join(
        f"""---
apiVersion: v1
kind: Service
metadata: {{name: {service}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: {port}}}]
"""
        for service, port in ports.items()
    )
    return f"""---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: app
        image: sample-app:v0
        command: ["{sample_app}"]
        ports: [{{name: http, containerPort: 8080}}]
        readinessProbe: {{httpGet: {{path: /healthz, port: http}}, periodSeconds: 1}}
  strategy:
    canary:
      canaryService: {canary_service}
      stableService: {stable_service}
{strategy}{services}"""
