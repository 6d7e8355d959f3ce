"""Checks on the tokutei-routing chart: lint, schema, fail guards and the rendered manifests.

Run through tests/chart/run (make chart-test), which sets HELM and KUBECTL. The manifests are rendered by
`helm template` and turned into JSON by `kubectl label --local -o json`, which parses YAML the way the API server
does and needs no cluster; the Python standard library has no YAML parser. Prints one line per check and closes with
`chart: N passed, N failed`.
"""

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "tokutei-routing"
EXAMPLES = sorted((CHART / "examples").glob("*.yaml"))
HELM = os.environ.get("HELM", ".tools/bin/helm")
KUBECTL = os.environ.get("KUBECTL", ".tools/bin/kubectl")
RELEASE = "rt"
NAMESPACE = "tokutei"
FULLNAME = "rt-tokutei-routing"
PARSED_LABEL = "chart-test.tokutei.routing/parsed"
# The chart refuses to render without a way to identify agencies and, in durable mode, without an intake for each
# office kind, so "the defaults" are values.yaml plus these two files (JWT from an existing Secret; the intake URLs and
# their egress peers): see template().
IDENTITY = ROOT / "tests" / "chart" / "identity.yaml"
DELIVERY = ROOT / "tests" / "chart" / "delivery.yaml"
BASE = [IDENTITY, DELIVERY]

passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}" + (f": {detail}" if detail else ""))
    return condition


def run(args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True, cwd=ROOT)


def base_args():
    return [a for f in BASE for a in ("-f", str(f))]


def helm_args(values=(), sets=(), set_strings=(), base=None):
    """-f/--set flags. base (default: only when no values file is given) puts BASE first, so the defaults render."""
    args = []
    if base if base is not None else not values:
        args += base_args()
    for f in values:
        args += ["-f", str(f)]
    for s in sets:
        args += ["--set", s]
    for s in set_strings:
        args += ["--set-string", s]
    return args


def template(values=(), sets=(), set_strings=(), base=None, flags=()):
    """helm template; returns (returncode, manifest text, stderr). base: see helm_args; flags: more helm flags."""
    p = run([HELM, "template", RELEASE, str(CHART), "--namespace", NAMESPACE, *flags]
            + helm_args(values, sets, set_strings, base))
    return p.returncode, p.stdout, p.stderr


def to_objects(manifest):
    """The rendered YAML as JSON objects, parsed by kubectl (no cluster: --local)."""
    p = run([KUBECTL, "label", "--local", "-f", "-", "-o", "json", f"{PARSED_LABEL}=true"], stdin=manifest)
    if p.returncode != 0:
        raise RuntimeError(f"kubectl could not parse the manifests: {p.stderr.strip()}")
    decoder = json.JSONDecoder()
    text, pos, objects = p.stdout, 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        obj, pos = decoder.raw_decode(text, pos)
        objects.extend(obj["items"] if obj.get("kind") == "List" else [obj])
    for obj in objects:
        obj["metadata"]["labels"].pop(PARSED_LABEL, None)
    return objects


def render(values=(), sets=(), set_strings=(), base=None):
    code, out, err = template(values, sets, set_strings, base)
    if code != 0:
        raise RuntimeError(f"helm template failed: {err.strip()}")
    return Manifests(out, to_objects(out))


def render_fails(name, expected, values=(), sets=(), set_strings=(), base=None, flags=(), unexpected=()):
    """A check that rendering is refused, with a message containing `expected` (a string, or a list of them) and none
    of `unexpected`."""
    code, _, err = template(values, sets, set_strings, base, flags)
    wanted = [expected] if isinstance(expected, str) else expected
    check(name, code != 0 and all(w in err for w in wanted) and not any(u in err for u in unexpected),
          f"exit {code}, stderr: {err.strip()[:400]}")


def duplicate_keys(text):
    """Keys given twice in one YAML mapping (the API server refuses them; kubectl's parser keeps the last)."""
    found = []
    key_re = re.compile(r"""("[^"]*"|'[^']*'|[^\s#'"{\[\-][^:#]*?|-[^\s:#][^:#]*?):(\s|$)""")
    for doc in re.split(r"(?m)^---\s*$", text):
        stack = []  # (indent, keys) of the open mappings
        block_indent = None
        for raw in doc.splitlines():
            stripped = raw.lstrip(" ")
            indent = len(raw) - len(stripped)
            if block_indent is not None:
                if not stripped.strip() or indent > block_indent:
                    continue
                block_indent = None
            if not stripped.strip() or stripped.startswith("#"):
                continue
            if stripped == "-" or stripped.startswith("- "):
                # A new list item: mappings opened inside the previous item are closed.
                stack = [(i, k) for i, k in stack if i <= indent]
                if stripped == "-":
                    continue
                stripped = stripped[2:].lstrip(" ")
                indent = len(raw) - len(stripped)
                stack.append((indent, set()))
            m = key_re.match(stripped)
            if not m:
                continue
            key = m.group(1)
            while stack and stack[-1][0] > indent:
                stack.pop()
            if not stack or stack[-1][0] < indent:
                stack.append((indent, set()))
            if key in stack[-1][1]:
                found.append(key)
            stack[-1][1].add(key)
            rest = stripped[m.end():].strip()
            if rest[:1] in ("|", ">"):
                block_indent = indent
    return found


class Manifests:
    def __init__(self, text, objects):
        self.text = text
        self.objects = objects

    def of(self, kind, name=None):
        return [o for o in self.objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]

    def one(self, kind, name=None):
        found = self.of(kind, name)
        if len(found) != 1:
            raise AssertionError(f"expected one {kind} {name or ''}, found {len(found)}")
        return found[0]

    @property
    def deployment(self):
        return self.one("Deployment", FULLNAME)

    @property
    def server(self):
        return self.deployment["spec"]["template"]["spec"]["containers"][0]

    @property
    def settings(self):
        return self.one("ConfigMap", FULLNAME)["data"]

    def env(self):
        return {e["name"]: e for e in self.server.get("env", [])}


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def secret_ref(env_var):
    ref = env_var.get("valueFrom", {}).get("secretKeyRef", {})
    return ref.get("name"), ref.get("key")


def safe(name, fn):
    """Runs a group of checks; an exception (a missing object, say) is one failed check, not a crash."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - any error is a failed check
        check(name, False, f"{type(e).__name__}: {e}")


# ---------------------------------------------------------------------------------------------------------------
def lint_checks():
    # helm lint only logs the chart's `fail` guards (security_checks shows `helm template` refusing the bare defaults),
    # but the schema refuses the bare defaults: durable mode with no intake endpoints (delivery_checks).
    p = run([HELM, "lint", "--strict", str(CHART)])
    out = p.stdout + p.stderr
    check("lint --strict: the bare defaults fail the schema, which names the intake endpoints and delivery.allowLoopback",
          p.returncode != 0 and all(w in out for w in ("/delivery/endpoints/regionalBureau", "/delivery/endpoints/municipality",
                                                        "/delivery/allowLoopback")), out[-500:])
    p = run([HELM, "lint", "--strict", str(CHART), *base_args()])
    check("lint --strict: default values + tests/chart/identity.yaml and delivery.yaml", p.returncode == 0,
          p.stdout[-500:] + p.stderr[-500:])
    names = {f.name for f in EXAMPLES}
    check("examples: default, external Redis (standalone, Cluster, Sentinel), TLS, HPA and ServiceMonitor values files exist",
          {"default.yaml", "external-redis.yaml", "external-redis-cluster.yaml", "external-redis-sentinel.yaml",
           "tls.yaml", "hpa.yaml", "servicemonitor.yaml"} <= names, str(names))
    for f in EXAMPLES:
        p = run([HELM, "lint", "--strict", str(CHART), "-f", str(f)])
        check(f"lint --strict: examples/{f.name}", p.returncode == 0, p.stdout[-500:] + p.stderr[-500:])
    p = run([HELM, "lint", "--strict", str(CHART), *base_args(), "--set", "replicaCount=three"])
    check("lint --strict refuses a value against the schema (replicaCount: three)", p.returncode != 0)


def render_checks():
    for label, values in [("default values + tests/chart/identity.yaml and delivery.yaml", [])] + [(f"examples/{f.name}", [f]) for f in EXAMPLES]:
        code, out, err = template(values)
        if not check(f"render: {label}", code == 0, err.strip()[:300]):
            continue
        dups = duplicate_keys(out)
        check(f"render: {label}: no mapping key given twice", not dups, str(dups))
        try:
            objects = to_objects(out)
        except RuntimeError as e:
            check(f"render: {label}: kubectl parses every manifest", False, str(e))
            continue
        bad = [f"{o['kind']}/{o['metadata'].get('name')}" for o in objects
               if o["metadata"].get("namespace") != NAMESPACE and o["kind"] != "ServiceMonitor"
               or o["metadata"]["labels"].get("app.kubernetes.io/instance") != RELEASE
               or len(o["metadata"]["name"]) > 63]
        check(f"render: {label}: {len(objects)} objects, each namespaced and labelled, names within 63 characters",
              objects and not bad, str(bad))
    check("duplicate-key detector finds a planted duplicate",
          duplicate_keys("a:\n  b: 1\n  c:\n    - d: 1\n      d: 2\n") == ["d"]
          and duplicate_keys("a:\n- b: 1\n- b: 2\nc: |\n  a: 1\n  a: 1\n") == [])


def default_checks():
    m = render()
    kinds = sorted(o["kind"] for o in m.objects)
    check("default: ConfigMap x2, Deployment, NetworkPolicy x2, PodDisruptionBudget, Secret x2, Service x2, "
          "ServiceAccount, StatefulSet; no HPA or ServiceMonitor",
          kinds == sorted(["ConfigMap", "ConfigMap", "Deployment", "NetworkPolicy", "NetworkPolicy",
                           "PodDisruptionBudget", "Secret", "Secret", "Service", "Service", "ServiceAccount",
                           "StatefulSet"]), str(kinds))
    c = m.server
    for probe, service in [("startupProbe", "startup"), ("livenessProbe", "liveness"), ("readinessProbe", "readiness")]:
        p = c.get(probe, {})
        check(f"default: {probe} is a native gRPC probe of service '{service}' on the gRPC port 8080",
              p.get("grpc") == {"port": 8080, "service": service} and not {"exec", "httpGet", "tcpSocket"} & p.keys(),
              json.dumps(p))
    check("default: the startup probe allows more time than liveness (reference data load)",
          c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"]
          > c["livenessProbe"]["periodSeconds"] * c["livenessProbe"]["failureThreshold"])
    pod = m.deployment["spec"]["template"]["spec"]
    psc = pod["securityContext"]
    check("default: pod runs as non-root UID/GID 1654 (the .NET image's app user) with seccomp RuntimeDefault",
          psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 1654 and psc.get("runAsGroup") == 1654
          and psc.get("fsGroup") == 1654 and psc.get("seccompProfile") == {"type": "RuntimeDefault"}, json.dumps(psc))
    sc = c["securityContext"]
    check("default: container has a read-only root filesystem, no privilege escalation, ALL capabilities dropped",
          sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
          and sc.get("capabilities") == {"drop": ["ALL"]} and sc.get("runAsNonRoot") is True
          and sc.get("seccompProfile") == {"type": "RuntimeDefault"} and sc.get("privileged") is False, json.dumps(sc))
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {v["mountPath"]: v["name"] for v in c["volumeMounts"]}
    check("default: an emptyDir is mounted at /tmp", "emptyDir" in vols.get(mounts.get("/tmp"), {}), json.dumps(mounts))
    res = c.get("resources", {})
    check("default: container has cpu and memory requests and limits",
          all(k in res.get(s, {}) for s in ("requests", "limits") for k in ("cpu", "memory")), json.dumps(res))
    labels = m.deployment["spec"]["template"]["metadata"]["labels"]
    tsc = pod.get("topologySpreadConstraints", [])
    check("default: topology spread over zones and nodes, each selecting the server pods",
          {t["topologyKey"] for t in tsc} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
          and all(selects(t["labelSelector"]["matchLabels"], labels) for t in tsc), json.dumps(tsc))
    check("default: Deployment selector matches its pod labels; 2 replicas",
          selects(m.deployment["spec"]["selector"]["matchLabels"], labels) and m.deployment["spec"].get("replicas") == 2)
    check("default: image is tokutei-routing:<appVersion 0.1.0>, pullPolicy IfNotPresent",
          c["image"] == "tokutei-routing:0.1.0" and c["imagePullPolicy"] == "IfNotPresent", c["image"])
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    check("default: container ports grpc 8080 and admin 9090", ports == {"grpc": 8080, "admin": 9090}, str(ports))
    check("default: settings come from the ConfigMap via envFrom",
          c.get("envFrom") == [{"configMapRef": {"name": FULLNAME}}], json.dumps(c.get("envFrom")))
    s = m.settings
    expected = {
        "ASPNETCORE_URLS": "http://0.0.0.0:8080",
        "ASPNETCORE_ENVIRONMENT": "Production",
        "Admin__Port": "9090",
        "HostOptions__ShutdownTimeout": "00:00:25",
        "ConnectionStrings__Redis": f"{FULLNAME}-redis:6379,abortConnect=false",
        "Redis__Shards": "16",
        "Redis__ReplicaAcks": "0",
        "Encryption__ActiveKeyId": "k1",
        "OTEL_SERVICE_NAME": "tokutei-routing",
        "Security__Jwt__Enabled": "true",
        "Security__Jwt__Issuer": "https://idp.test.example/realms/tokutei",
        "Security__Jwt__Audience": "tokutei-routing",
        "Security__Jwt__OfficeClaim": "office_code",
        "Security__Jwt__RolesClaim": "roles",
        "Security__Jwt__ClockSkew": "00:00:30",
        "Limits__RatePerSecond": "100",
        "Limits__Burst": "200",
        "Limits__DefaultDeadline": "00:00:15",
        "Limits__MaxDeadline": "00:01:00",
        "Delivery__Endpoints__RegionalBureau": "https://case-intake.bureau.test.example",
        "Delivery__Endpoints__Municipality": "https://case-intake.municipal.test.example",
    }
    check("default: ConfigMap holds exactly the server contract (URLs, admin port, environment, shutdown, Redis, shards, "
          "replica acks 0, key id, JWT settings, limits, intake endpoints)", s == expected, json.dumps(s))
    env = m.env()
    check("default: Redis__Password comes from the generated Redis Secret (secretKeyRef)",
          secret_ref(env.get("Redis__Password", {})) == (f"{FULLNAME}-redis-auth", "redis-password"))
    check("default: Encryption__Keys__k1 comes from the generated encryption Secret (secretKeyRef)",
          secret_ref(env.get("Encryption__Keys__k1", {})) == (f"{FULLNAME}-encryption", "k1"))
    secrets = {o["metadata"]["name"]: o for o in m.of("Secret")}
    secret_values = {base64.b64decode(v).decode() for o in secrets.values() for v in o.get("data", {}).values()}
    check("default: no secret value or secret-looking key in the ConfigMap",
          not secret_values & set(s.values()) and not any(re.search("(?i)password|Keys__", k) for k in s))
    enc = secrets.get(f"{FULLNAME}-encryption", {}).get("data", {})
    key = base64.b64decode(base64.b64decode(enc.get("k1", "")))
    check("default: generated encryption key is base64 of 32 bytes", len(key) == 32, f"{len(key)} bytes")
    check("default: generated Secrets are kept on uninstall (helm.sh/resource-policy: keep)",
          all(o["metadata"].get("annotations", {}).get("helm.sh/resource-policy") == "keep" for o in secrets.values())
          and len(secrets) == 2)
    check("default: preStop sleeps 5 s with the sleep handler (no shell in the image)",
          c.get("lifecycle", {}).get("preStop") == {"sleep": {"seconds": 5}}, json.dumps(c.get("lifecycle")))
    check("default: terminationGracePeriodSeconds (35) > preStop sleep (5) + shutdown timeout (25)",
          pod["terminationGracePeriodSeconds"] == 35)
    check("default: pod mounts no service account token and gets no service links",
          pod.get("automountServiceAccountToken") is False and pod.get("enableServiceLinks") is False
          and m.one("ServiceAccount").get("automountServiceAccountToken") is False)
    check("default: pod template has a config checksum (a changed setting rolls the pods)",
          re.fullmatch(r"[0-9a-f]{64}", m.deployment["spec"]["template"]["metadata"]["annotations"].get("checksum/config", "")))
    svc = m.one("Service", FULLNAME)
    sports = {p["name"]: p for p in svc["spec"]["ports"]}
    check("default: Service port 'grpc' 8080 with appProtocol kubernetes.io/h2c",
          sports.get("grpc", {}).get("port") == 8080 and sports["grpc"].get("appProtocol") == "kubernetes.io/h2c",
          json.dumps(sports.get("grpc")))
    check("default: Service has a separate 'admin' port 9090 for metrics",
          sports.get("admin", {}).get("port") == 9090 and sports["admin"]["targetPort"] == "admin")
    redis_pod_labels = m.one("StatefulSet")["spec"]["template"]["metadata"]["labels"]
    check("default: Service selects the server pods and not the Redis pod",
          selects(svc["spec"]["selector"], labels) and not selects(svc["spec"]["selector"], redis_pod_labels))
    check("default: ClusterIP Service, no headless Service", svc["spec"]["type"] == "ClusterIP"
          and not [o for o in m.of("Service") if o["spec"].get("clusterIP") == "None"])
    pdb = m.one("PodDisruptionBudget")
    check("default: PodDisruptionBudget maxUnavailable 1 over the server pods",
          pdb["spec"].get("maxUnavailable") == 1 and "minAvailable" not in pdb["spec"]
          and selects(pdb["spec"]["selector"]["matchLabels"], labels)
          and not selects(pdb["spec"]["selector"]["matchLabels"], redis_pod_labels), json.dumps(pdb["spec"]))
    check("default: a ClusterIP warning about gRPC connection pinning is in the values comments",
          "balances connections" in (CHART / "values.yaml").read_text() and "ONE pod" in (CHART / "values.yaml").read_text())


def redis_checks():
    m = render()
    sts = m.one("StatefulSet", f"{FULLNAME}-redis")
    pod = sts["spec"]["template"]["spec"]
    c = pod["containers"][0]
    check("redis: single-node StatefulSet of the official image redis:7.2",
          sts["spec"]["replicas"] == 1 and c["image"] == "redis:7.2", c["image"])
    vct = sts["spec"].get("volumeClaimTemplates", [])
    check("redis: a PersistentVolumeClaim template 'data' (8Gi) mounted at /data",
          [v["metadata"]["name"] for v in vct] == ["data"]
          and vct[0]["spec"]["resources"]["requests"]["storage"] == "8Gi"
          and {"name": "data", "mountPath": "/data"} in c["volumeMounts"], json.dumps(vct))
    conf = m.one("ConfigMap", f"{FULLNAME}-redis")["data"]["redis.conf"]
    lines = {ln.strip() for ln in conf.splitlines() if ln.strip() and not ln.strip().startswith("#")}
    check("redis: config has appendonly yes, appendfsync always, maxmemory-policy noeviction",
          {"appendonly yes", "appendfsync always", "maxmemory-policy noeviction"} <= lines, str(sorted(lines)))
    check("redis: no other appendonly/appendfsync/maxmemory-policy line overrides them",
          sum(1 for ln in lines if re.match(r"(appendonly|appendfsync|maxmemory-policy)\s", ln)) == 3)
    check("redis: server reads that config file",
          c["args"][:2] == ["redis-server", "/etc/redis/redis.conf"]
          and {"name": "config", "mountPath": "/etc/redis", "readOnly": True} in c["volumeMounts"], json.dumps(c["args"]))
    env = {e["name"]: e for e in c["env"]}
    check("redis: password from the Secret, passed as --requirepass $(REDIS_PASSWORD) and REDISCLI_AUTH for probes",
          secret_ref(env["REDIS_PASSWORD"]) == (f"{FULLNAME}-redis-auth", "redis-password")
          and secret_ref(env["REDISCLI_AUTH"]) == secret_ref(env["REDIS_PASSWORD"])
          and c["args"][2:] == ["--requirepass", "$(REDIS_PASSWORD)"])
    sc, psc = c["securityContext"], pod["securityContext"]
    check("redis: non-root (999), read-only root filesystem, ALL capabilities dropped, seccomp RuntimeDefault",
          psc.get("runAsUser") == 999 and psc.get("runAsNonRoot") is True and sc.get("readOnlyRootFilesystem") is True
          and sc.get("allowPrivilegeEscalation") is False and sc.get("capabilities") == {"drop": ["ALL"]}
          and psc.get("seccompProfile") == {"type": "RuntimeDefault"})
    svc = m.one("Service", f"{FULLNAME}-redis")
    check("redis: its Service on 6379 selects only the Redis pod",
          svc["spec"]["ports"][0]["port"] == 6379
          and selects(svc["spec"]["selector"], sts["spec"]["template"]["metadata"]["labels"])
          and not selects(svc["spec"]["selector"], m.deployment["spec"]["template"]["metadata"]["labels"]))
    check("redis: the server's connection string names that Service",
          m.settings["ConnectionStrings__Redis"].startswith(f"{svc['metadata']['name']}:6379,"))


def network_policy_checks():
    m = render()
    np = m.one("NetworkPolicy", FULLNAME)
    spec = np["spec"]
    ingress = {r["ports"][0]["port"]: r for r in spec["ingress"]}
    check("networkpolicy: selects the server pods, Ingress and Egress",
          selects(spec["podSelector"]["matchLabels"], m.deployment["spec"]["template"]["metadata"]["labels"])
          and spec["policyTypes"] == ["Ingress", "Egress"])
    check("networkpolicy: gRPC port 8080 open to the release namespace's pods",
          ingress.get(8080, {}).get("from") == [{"podSelector": {}}], json.dumps(ingress.get(8080)))
    ns_sel = ingress.get(9090, {}).get("from", [{}])[0].get("namespaceSelector", {})
    check("networkpolicy: admin port 9090 open to the monitoring namespace only",
          ns_sel.get("matchExpressions") == [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["monitoring"]}],
          json.dumps(ingress.get(9090)))
    check("networkpolicy: no ingress rule without peers (which would admit everyone)",
          all(r.get("from") for r in spec["ingress"]))
    egress = spec["egress"]
    dns = [r for r in egress if {"port": 53, "protocol": "UDP"} in r["ports"] and {"port": 53, "protocol": "TCP"} in r["ports"]]
    check("networkpolicy: egress to DNS (53/UDP and 53/TCP) in kube-system",
          dns and dns[0]["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"})
    redis_labels = m.one("StatefulSet")["spec"]["template"]["metadata"]["labels"]
    to_redis = [r for r in egress if r["ports"] == [{"port": 6379, "protocol": "TCP"}]]
    check("networkpolicy: egress to the Redis pod on 6379",
          to_redis and selects(to_redis[0]["to"][0]["podSelector"]["matchLabels"], redis_labels))
    check("networkpolicy: no egress rule without peers", all(r.get("to") for r in egress))
    rnp = m.one("NetworkPolicy", f"{FULLNAME}-redis")["spec"]
    check("networkpolicy: Redis accepts 6379 only from the server pods and has no egress",
          len(rnp["ingress"]) == 1 and rnp["ingress"][0]["ports"] == [{"port": 6379, "protocol": "TCP"}]
          and selects(rnp["ingress"][0]["from"][0]["podSelector"]["matchLabels"],
                      m.deployment["spec"]["template"]["metadata"]["labels"])
          and rnp.get("egress", []) == [] and "Egress" in rnp["policyTypes"])
    closed = render(sets=["networkPolicy.ingress.grpc.sameNamespace=false"])
    rules = closed.one("NetworkPolicy", FULLNAME)["spec"].get("ingress") or []
    check("networkpolicy: with no gRPC peers the gRPC port has no rule (closed), the admin rule stays",
          [r["ports"][0]["port"] for r in rules] == [9090], json.dumps(rules))
    ns = render(sets=["networkPolicy.ingress.grpc.namespaces={agency-a,agency-b}"])
    rule = [r for r in ns.one("NetworkPolicy", FULLNAME)["spec"]["ingress"] if r["ports"][0]["port"] == 8080][0]
    check("networkpolicy: allowed namespaces open the gRPC port to them",
          {"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                                                        "values": ["agency-a", "agency-b"]}]}} in rule["from"])
    off = render(sets=["networkPolicy.enabled=false"])
    check("networkpolicy: networkPolicy.enabled=false renders none", not off.of("NetworkPolicy"))
    noegress = render(sets=["networkPolicy.egress.enabled=false"])
    spec = noegress.one("NetworkPolicy", FULLNAME)["spec"]
    check("networkpolicy: egress.enabled=false leaves egress open (policyTypes Ingress only)",
          spec["policyTypes"] == ["Ingress"] and "egress" not in spec)


def headless_checks():
    m = render(sets=["service.headless.enabled=true"])
    h = m.of("Service", f"{FULLNAME}-headless")
    ok = len(h) == 1
    spec = h[0]["spec"] if ok else {}
    check("headless: service.headless.enabled=true adds <fullname>-headless with clusterIP None",
          ok and spec.get("clusterIP") == "None")
    check("headless: only ready pods, the gRPC port (h2c) alone, same pods as the main Service",
          ok and spec.get("publishNotReadyAddresses") is False
          and [(p["name"], p["port"], p.get("appProtocol")) for p in spec["ports"]] == [("grpc", 8080, "kubernetes.io/h2c")]
          and spec["selector"] == m.one("Service", FULLNAME)["spec"]["selector"])
    check("headless: off by default", not render().of("Service", f"{FULLNAME}-headless"))
    readme = (CHART / "README.md").read_text()
    check("headless: chart README explains connection pinning and dns:/// round_robin",
          "round_robin" in readme and "dns:///" in readme and "one pod" in readme.lower())


def pdb_checks():
    render_fails("pdb: minAvailable=2 with 2 replicas (>= replicas) refuses to render", "blocks every node drain",
                 sets=["podDisruptionBudget.minAvailable=2"])
    render_fails("pdb: minAvailable=3 with 2 replicas refuses to render", "blocks every node drain",
                 sets=["podDisruptionBudget.minAvailable=3"])
    render_fails("pdb: maxUnavailable=0 refuses to render", "blocks every node drain",
                 sets=["podDisruptionBudget.maxUnavailable=0"])
    render_fails("pdb: maxUnavailable=0% refuses to render", "blocks every node drain",
                 set_strings=["podDisruptionBudget.maxUnavailable=0%"])
    render_fails("pdb: minAvailable=100% refuses to render", "blocks every node drain",
                 set_strings=["podDisruptionBudget.minAvailable=100%"])
    render_fails("pdb: minAvailable=3 against autoscaling.minReplicas=3 refuses to render", "blocks every node drain",
                 sets=["autoscaling.enabled=true", "autoscaling.minReplicas=3", "podDisruptionBudget.minAvailable=3"])
    m = render(sets=["podDisruptionBudget.minAvailable=1"])
    spec = m.one("PodDisruptionBudget")["spec"]
    check("pdb: minAvailable=1 with 2 replicas renders, and wins over maxUnavailable",
          spec.get("minAvailable") == 1 and "maxUnavailable" not in spec, json.dumps(spec))
    m = render(set_strings=["podDisruptionBudget.minAvailable=50%"], sets=["replicaCount=3"])
    check("pdb: minAvailable=50% with 3 replicas renders",
          m.one("PodDisruptionBudget")["spec"].get("minAvailable") == "50%")
    check("pdb: podDisruptionBudget.enabled=false renders none",
          not render(sets=["podDisruptionBudget.enabled=false"]).of("PodDisruptionBudget"))


def schema_checks():
    render_fails("schema: replicaCount \"three\" is refused", "replicaCount", set_strings=["replicaCount=three"])
    render_fails("schema: an unknown top-level key is refused", "additional properties 'replicas' not allowed",
                 sets=["replicas=3"])
    render_fails("schema: an unknown nested key is refused (image.tagg)", "additional properties 'tagg' not allowed",
                 sets=["image.tagg=1"])
    render_fails("schema: an encryption key that is not base64 of 32 bytes is refused", "/encryption/keys/k1",
                 set_strings=["encryption.keys.k1=c2hvcnQ="])
    render_fails("schema: a pullPolicy outside the API's values is refused", "pullPolicy",
                 sets=["image.pullPolicy=Sometimes"])
    render_fails("schema: a password inside externalRedis.options is refused", "options",
                 sets=["redis.enabled=false", "externalRedis.host=r", "externalRedis.options=password=x",
                       "networkPolicy.egress.enabled=false"])
    schema = json.loads((CHART / "values.schema.json").read_text())

    def walk(node, path, missing):
        if node.get("type") == "object" and "properties" in node and node.get("additionalProperties") is not False:
            missing.append(path or "/")
        for k, v in node.get("properties", {}).items():
            walk(v, f"{path}/{k}", missing)
    missing = []
    walk(schema, "", missing)
    for name, definition in schema["definitions"].items():
        walk(definition, f"#/definitions/{name}", missing)
    check("schema: every object with named properties refuses unknown keys (additionalProperties false)",
          not missing, str(missing))

    # The other direction: every property the schema describes has a default in values.yaml.
    values_doc = "apiVersion: chart-test/v1\nkind: Values\nmetadata:\n  name: values\n  labels: {}\nspec:\n" + "".join(
        "  " + ln + "\n" for ln in (CHART / "values.yaml").read_text().splitlines())
    values = to_objects(values_doc)[0]["spec"]

    def resolve(node):
        if "$ref" in node:
            return resolve(schema["definitions"][node["$ref"].rsplit("/", 1)[1]])
        if "allOf" in node:
            return resolve(node["allOf"][0])
        return node

    def undocumented(node, value, path, out):
        node = resolve(node)
        for k, sub in node.get("properties", {}).items():
            if k == "global":
                continue
            if not isinstance(value, dict) or k not in value:
                out.append(f"{path}/{k}")
            else:
                undocumented(sub, value[k], f"{path}/{k}", out)
    stale = []
    undocumented(schema, values, "", stale)
    check("schema: every property it describes has a default in values.yaml", not stale, str(stale))


def guard_checks():
    render_fails("guard: embedded mode (no Redis) with 2 replicas refuses to render", "embedded mode",
                 sets=["redis.enabled=false"])
    m = render(sets=["redis.enabled=false", "replicaCount=1"])
    env = m.env()
    check("guard: embedded mode with 1 replica renders without Redis, Redis settings or encryption keys",
          not m.of("StatefulSet") and "ConnectionStrings__Redis" not in m.settings and "Redis__Password" not in env
          and not [n for n in env if n.startswith("Encryption__")] and not m.of("Secret"))
    render_fails("guard: redis.enabled together with externalRedis.host refuses to render", "both set",
                 sets=["externalRedis.host=redis.example"])
    render_fails("guard: tls.enabled without tls.existingSecret refuses to render", "tls.existingSecret",
                 sets=["tls.enabled=true"])
    render_fails("guard: encryption.activeKeyId outside encryption.keyIds refuses to render", "activeKeyId",
                 sets=["encryption.existingSecret=keys", "encryption.keyIds={k0}"])
    render_fails("guard: durable mode with no encryption key refuses to render", "encryption",
                 sets=["encryption.generateKey=false"])
    render_fails("guard: external Redis with egress restricted but no peer for it refuses to render",
                 "externalRedis.to", sets=["redis.enabled=false", "externalRedis.host=redis.example"])
    render_fails("guard: intake endpoints with egress restricted but no peer for them refuse to render",
                 "intake.to", values=[IDENTITY], base=False,
                 sets=["delivery.endpoints.regionalBureau=https://bureau.example.com",
                       "delivery.endpoints.municipality=https://intake.example.com"])
    render_fails("guard: a secret-looking name in config.extra refuses to render", "secretKeyRef",
                 set_strings=["config.extra.Redis__Password=x"])
    render_fails("guard: config.extra cannot override a setting the chart owns", "the chart sets",
                 set_strings=["config.extra.Admin__Port=1"])
    render_fails("guard: autoscaling.minReplicas above maxReplicas refuses to render", "minReplicas",
                 sets=["autoscaling.enabled=true", "autoscaling.minReplicas=5", "autoscaling.maxReplicas=3"])
    m = render(set_strings=["config.extra.Routing__MaxDocuments=64"])
    check("guard: other config.extra settings land in the ConfigMap",
          m.settings.get("Routing__MaxDocuments") == "64")


ENDPOINTS = ["delivery.endpoints.regionalBureau=https://case-intake.bureau.test.example",
             "delivery.endpoints.municipality=https://case-intake.municipal.test.example"]
# Skips values.schema.json, to check the templates' own refusals (the schema refuses the same values first).
NO_SCHEMA = ["--skip-schema-validation"]
CREDENTIALS_ROOT = "/etc/tokutei/delivery"


def delivery_checks():
    # --- Durable mode needs an intake for each office kind: the schema and the templates both refuse the defaults.
    render_fails("delivery: the defaults (with identity settings) are refused by the schema, naming both kind endpoints "
                 "and delivery.allowLoopback",
                 ["/delivery/endpoints/regionalBureau", "/delivery/endpoints/municipality", "/delivery/allowLoopback"],
                 values=[IDENTITY], base=False)
    render_fails("delivery: without the schema the templates refuse the defaults, naming delivery.endpoints.regionalBureau, "
                 "delivery.endpoints.municipality, their egress peers and delivery.allowLoopback=true",
                 ["durable mode", "delivery.endpoints.regionalBureau and delivery.endpoints.municipality",
                  "networkPolicy.egress.intake.to", "delivery.allowLoopback=true"],
                 values=[IDENTITY], base=False, flags=NO_SCHEMA)
    render_fails("delivery: only the municipality given -> the schema names regionalBureau alone",
                 "/delivery/endpoints/regionalBureau", values=[IDENTITY], base=False, sets=ENDPOINTS[1:],
                 unexpected=["/delivery/endpoints/municipality"])
    render_fails("delivery: only the municipality given -> the templates name delivery.endpoints.regionalBureau alone",
                 "set delivery.endpoints.regionalBureau (intake URLs", values=[IDENTITY], base=False, sets=ENDPOINTS[1:],
                 flags=NO_SCHEMA, unexpected=["delivery.endpoints.municipality (", "delivery.endpoints.municipality and"])
    render_fails("delivery: an external Redis (durable) needs the endpoints too", "/delivery/endpoints/municipality",
                 values=[IDENTITY], base=False,
                 sets=["redis.enabled=false", "externalRedis.host=redis.example", "networkPolicy.egress.enabled=false"])
    render_fails("delivery: an external Redis without the endpoints is refused by the templates too",
                 "delivery.endpoints.regionalBureau and delivery.endpoints.municipality", values=[IDENTITY], base=False,
                 sets=["redis.enabled=false", "externalRedis.host=redis.example", "networkPolicy.egress.enabled=false"],
                 flags=NO_SCHEMA)
    m = render(values=[IDENTITY], base=False, sets=["redis.enabled=false", "replicaCount=1"])
    check("delivery: the embedded mode (no Redis) needs no endpoints and renders no Delivery__ setting (its loopback "
          "intake is the server's default there)", not section(m.settings, "Delivery__"), json.dumps(m.settings))

    # --- The kind endpoints and the office overrides reach the ConfigMap as given.
    m = render(sets=["delivery.endpoints.offices.131016=https://intake.chiyoda.test.example",
                     "delivery.endpoints.offices.TOKYO=http://tokyo-intake.intake.svc.cluster.local:8080"])
    check("delivery: endpoints -> Delivery__Endpoints__RegionalBureau, __Municipality, __Offices__<code> (http or https); "
          "no Delivery__AllowLoopback", section(m.settings, "Delivery__") == {
              "Delivery__Endpoints__RegionalBureau": "https://case-intake.bureau.test.example",
              "Delivery__Endpoints__Municipality": "https://case-intake.municipal.test.example",
              "Delivery__Endpoints__Offices__131016": "https://intake.chiyoda.test.example",
              "Delivery__Endpoints__Offices__TOKYO": "http://tokyo-intake.intake.svc.cluster.local:8080"},
          json.dumps(section(m.settings, "Delivery__")))

    # --- The development switch.
    m = render(values=[IDENTITY], base=False, sets=["delivery.allowLoopback=true"])
    check("delivery: allowLoopback=true renders without endpoints: Delivery__AllowLoopback=true and both kinds "
          "explicitly \"loopback\"", section(m.settings, "Delivery__") == {
              "Delivery__AllowLoopback": "true", "Delivery__Endpoints__RegionalBureau": "loopback",
              "Delivery__Endpoints__Municipality": "loopback"}, json.dumps(section(m.settings, "Delivery__")))
    m = render(values=[IDENTITY], base=False, sets=["delivery.allowLoopback=true", "networkPolicy.egress.enabled=false",
                                                   ENDPOINTS[1]])
    check("delivery: allowLoopback with the municipality given: only the regional bureaus go to the loopback",
          section(m.settings, "Delivery__") == {
              "Delivery__AllowLoopback": "true", "Delivery__Endpoints__RegionalBureau": "loopback",
              "Delivery__Endpoints__Municipality": "https://case-intake.municipal.test.example"},
          json.dumps(section(m.settings, "Delivery__")))
    check("delivery: allowLoopback=false (the default) renders no Delivery__AllowLoopback",
          "Delivery__AllowLoopback" not in render(sets=["delivery.allowLoopback=false"]).settings)
    p = run([HELM, "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client", "-f", str(IDENTITY),
             "--set", "delivery.allowLoopback=true"])
    notes = p.stdout.split("NOTES:", 1)[-1].strip() if "NOTES:" in p.stdout else ""
    check("delivery: with allowLoopback in durable mode the notes open with a LOOPBACK DELIVERY warning (development "
          "only) and list the kinds that go to the loopback",
          p.returncode == 0 and notes.startswith("#####") and "WARNING: LOOPBACK DELIVERY" in notes.splitlines()[1]
          and "DEVELOPMENT ONLY" in notes and notes.count("LOOPBACK: the server's own intake") == 2, notes[:600])
    p = run([HELM, "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client", *base_args()])
    notes = p.stdout.split("NOTES:", 1)[-1]
    check("delivery: without it the notes do not warn and list both intake URLs",
          p.returncode == 0 and "LOOPBACK" not in notes and "https://case-intake.bureau.test.example" in notes
          and "https://case-intake.municipal.test.example" in notes, notes[:600])

    # --- Addresses: http(s) URLs only, in the schema and in the templates.
    render_fails("schema: a kind endpoint that is not a URL (a bare host name) is refused", "/delivery/endpoints/regionalBureau",
                 set_strings=["delivery.endpoints.regionalBureau=case-intake.bureau.example.jp"])
    render_fails("schema: \"loopback\" as an endpoint is refused (allowLoopback is the way)", "/delivery/endpoints/municipality",
                 set_strings=["delivery.endpoints.municipality=loopback"], sets=["delivery.allowLoopback=true"])
    render_fails("schema: an office override that is not an http(s) URL is refused", "/delivery/endpoints/offices/131016",
                 set_strings=["delivery.endpoints.offices.131016=grpc://intake.example.jp"])
    render_fails("delivery: without the schema the templates refuse \"loopback\" as an endpoint, naming the value",
                 ['delivery.endpoints.regionalBureau ("loopback") must be an http:// or https:// URL', "delivery.allowLoopback=true"],
                 set_strings=["delivery.endpoints.regionalBureau=loopback"], flags=NO_SCHEMA)
    render_fails("delivery: without the schema the templates refuse a bad office override, naming it",
                 'delivery.endpoints.offices.131016 ("intake.example.jp")',
                 set_strings=["delivery.endpoints.offices.131016=intake.example.jp"], flags=NO_SCHEMA)
    render_fails("delivery: an office given twice (ignoring case) is refused", "twice",
                 set_strings=["delivery.endpoints.offices.tokyo=https://a.example", "delivery.endpoints.offices.TOKYO=https://b.example"])
    render_fails("delivery: config.extra cannot set Delivery__AllowLoopback (the chart owns the switch)", "delivery.allowLoopback",
                 set_strings=["config.extra.Delivery__AllowLoopback=true"])
    render_fails("delivery: config.extra cannot set an intake endpoint", "delivery.endpoints",
                 set_strings=["config.extra.Delivery__Endpoints__Offices__131016=loopback"])

    # --- Credentials: Secrets mounted as directories (never subPath), the Delivery__Security__*Path settings into them.
    creds = ["delivery.endpoints.offices.131016=https://intake.chiyoda.test.example",
             "delivery.security.RegionalBureau.bearerTokenSecret.name=bureau-token",
             "delivery.security.RegionalBureau.clientCertificateSecret.name=bureau-client",
             "delivery.security.RegionalBureau.caCertificateSecret.name=bureau-ca",
             "delivery.security.131016.bearerTokenSecret.name=chiyoda",
             "delivery.security.131016.bearerTokenSecret.key=bearer",
             "delivery.security.131016.clientCertificateSecret.name=chiyoda",
             "delivery.security.131016.clientCertificateSecret.certificateKey=client.pem",
             "delivery.security.131016.clientCertificateSecret.privateKeyKey=client-key.pem",
             "delivery.security.131016.caCertificateSecret.name=chiyoda",
             "delivery.security.131016.caCertificateSecret.key=root.pem"]
    m = render(set_strings=creds)
    s, c, pod = m.settings, m.server, m.deployment["spec"]["template"]["spec"]
    bureau, chiyoda = f"{CREDENTIALS_ROOT}/RegionalBureau", f"{CREDENTIALS_ROOT}/131016"
    check("delivery: credentials -> Delivery__Security__<name>__BearerTokenPath, __ClientCertificatePath, __ClientKeyPath, "
          "__CaCertificatePath in the ConfigMap, into /etc/tokutei/delivery/<name>",
          section(s, "Delivery__Security__") == {
              "Delivery__Security__RegionalBureau__BearerTokenPath": f"{bureau}/token",
              "Delivery__Security__RegionalBureau__ClientCertificatePath": f"{bureau}/tls.crt",
              "Delivery__Security__RegionalBureau__ClientKeyPath": f"{bureau}/tls.key",
              "Delivery__Security__RegionalBureau__CaCertificatePath": f"{bureau}/ca.crt",
              "Delivery__Security__131016__BearerTokenPath": f"{chiyoda}/token",
              "Delivery__Security__131016__ClientCertificatePath": f"{chiyoda}/tls.crt",
              "Delivery__Security__131016__ClientKeyPath": f"{chiyoda}/tls.key",
              "Delivery__Security__131016__CaCertificatePath": f"{chiyoda}/ca.crt"},
          json.dumps(section(s, "Delivery__Security__")))
    mounts = {v["mountPath"]: v for v in c["volumeMounts"]}
    vols = {v["name"]: v for v in pod["volumes"]}
    check("delivery: each endpoint's credentials are one read-only directory mount, with no subPath (a subPath mount "
          "never sees a rotated Secret)",
          mounts.get(bureau) == {"name": "delivery-regionalbureau", "mountPath": bureau, "readOnly": True}
          and mounts.get(chiyoda) == {"name": "delivery-131016", "mountPath": chiyoda, "readOnly": True}
          and not [v for v in c["volumeMounts"] if "subPath" in v or "subPathExpr" in v], json.dumps(c["volumeMounts"]))
    sources = {n: vols.get(n, {}).get("projected", {}).get("sources") for n in ("delivery-regionalbureau", "delivery-131016")}
    check("delivery: the volumes project the Secrets' entries to token, tls.crt, tls.key, ca.crt (default entry names "
          "token, tls.crt, tls.key, ca.crt; or the keys given)",
          sources["delivery-regionalbureau"] == [
              {"secret": {"name": "bureau-token", "items": [{"key": "token", "path": "token"}]}},
              {"secret": {"name": "bureau-client", "items": [{"key": "tls.crt", "path": "tls.crt"}, {"key": "tls.key", "path": "tls.key"}]}},
              {"secret": {"name": "bureau-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]
          and sources["delivery-131016"] == [
              {"secret": {"name": "chiyoda", "items": [{"key": "bearer", "path": "token"}]}},
              {"secret": {"name": "chiyoda", "items": [{"key": "client.pem", "path": "tls.crt"}, {"key": "client-key.pem", "path": "tls.key"}]}},
              {"secret": {"name": "chiyoda", "items": [{"key": "root.pem", "path": "ca.crt"}]}}]
          and vols["delivery-131016"]["projected"].get("defaultMode") == 0o440, json.dumps(sources))

    def files(m):
        """Every file the pod sees: mount path/projected path -> (Secret, entry)."""
        c, pod = m.server, m.deployment["spec"]["template"]["spec"]
        vols = {v["name"]: v for v in pod["volumes"]}
        out = {}
        for mount in c["volumeMounts"]:
            for src in vols[mount["name"]].get("projected", {}).get("sources", []):
                for item in src.get("secret", {}).get("items", []):
                    out[f"{mount['mountPath']}/{item['path']}"] = (src["secret"]["name"], item["key"])
        return out
    seen = files(m)
    paths = {k: v for k, v in s.items() if k.startswith("Delivery__Security__")}
    check("delivery: every Delivery__Security__*Path names a file that a mounted Secret provides",
          paths and all(v in seen for v in paths.values()), f"{paths} vs {sorted(seen)}")
    check("delivery: no intake credential is passed as an environment variable (BearerToken or otherwise)",
          not [n for n in m.env() if n.startswith("Delivery__")] and "Delivery__Security__RegionalBureau__BearerToken" not in s)
    annotations = m.deployment["spec"]["template"]["metadata"]["annotations"]
    check("delivery: no checksum of the credentials in the pod template: a rotated Secret needs no rollout (the server "
          "re-reads the files)", set(annotations) == {"checksum/config"}, str(annotations))
    m = render(set_strings=["delivery.security.Municipality.bearerTokenSecret.name=municipal-token"])
    check("delivery: a bearer token alone mounts just the token (no certificate settings)",
          section(m.settings, "Delivery__Security__") == {
              "Delivery__Security__Municipality__BearerTokenPath": f"{CREDENTIALS_ROOT}/Municipality/token"}
          and files(m) == {f"{CREDENTIALS_ROOT}/Municipality/token": ("municipal-token", "token")}, json.dumps(files(m)))
    check("delivery: no credentials by default: no Delivery__Security__ setting and no delivery volume",
          not section(render().settings, "Delivery__Security__")
          and not [v for v in render().deployment["spec"]["template"]["spec"]["volumes"] if v["name"].startswith("delivery-")])
    m = render(values=[CHART / "examples" / "tls.yaml"])
    check("delivery: examples/tls.yaml gives the bureau intake a client certificate and CA, the municipal one a token, "
          "each from its Secret",
          files(m) == {f"{CREDENTIALS_ROOT}/RegionalBureau/tls.crt": ("bureau-intake-client", "tls.crt"),
                       f"{CREDENTIALS_ROOT}/RegionalBureau/tls.key": ("bureau-intake-client", "tls.key"),
                       f"{CREDENTIALS_ROOT}/RegionalBureau/ca.crt": ("bureau-intake-ca", "ca.crt"),
                       f"{CREDENTIALS_ROOT}/Municipality/token": ("municipal-intake-token", "token")}
          and m.settings.get("Delivery__Security__RegionalBureau__ClientKeyPath") == f"{CREDENTIALS_ROOT}/RegionalBureau/tls.key"
          and m.settings.get("Delivery__Security__Municipality__BearerTokenPath") == f"{CREDENTIALS_ROOT}/Municipality/token",
          json.dumps(files(m)))
    m = render(values=[CHART / "examples" / "external-redis.yaml"])
    check("delivery: examples/external-redis.yaml gives office 131016's own intake a token (entry bearer-token)",
          files(m) == {f"{CREDENTIALS_ROOT}/131016/token": ("chiyoda-intake", "bearer-token")}
          and m.settings.get("Delivery__Security__131016__BearerTokenPath") == f"{CREDENTIALS_ROOT}/131016/token")
    bad = [f.name for f in EXAMPLES if "Delivery__AllowLoopback" in render(values=[f]).settings]
    check("delivery: every example has real intake endpoints, none uses the loopback", not bad, str(bad))

    render_fails("delivery: credentials for a name that is no endpoint (an office without its own endpoint) are refused",
                 ["delivery.security.TOKYO names no endpoint", "RegionalBureau, Municipality"],
                 set_strings=["delivery.security.TOKYO.bearerTokenSecret.name=t"])
    render_fails("delivery: config.extra cannot take a bearer token (a secret in the ConfigMap)", "secretKeyRef",
                 set_strings=["config.extra.Delivery__Security__RegionalBureau__BearerToken=abc"])
    render_fails("delivery: config.extra cannot override a path the chart sets", "the chart sets",
                 set_strings=["delivery.security.RegionalBureau.caCertificateSecret.name=ca",
                              "config.extra.Delivery__Security__RegionalBureau__CaCertificatePath=/other/ca.crt"])
    m = render(set_strings=["config.extra.Delivery__Security__RegionalBureau__CaCertificatePath=/etc/extra/ca.crt",
                            "config.extra.Delivery__Security__Municipality__BearerTokenPath=/etc/extra/token"])
    check("delivery: config.extra may still name credential files the chart does not manage (from extraVolumes), "
          "a token's path included",
          m.settings.get("Delivery__Security__RegionalBureau__CaCertificatePath") == "/etc/extra/ca.crt"
          and m.settings.get("Delivery__Security__Municipality__BearerTokenPath") == "/etc/extra/token")
    render_fails("schema: a credential Secret without a name is refused", "name",
                 set_strings=["delivery.security.RegionalBureau.bearerTokenSecret.key=token"])
    render_fails("schema: an unknown key in an endpoint's credentials is refused",
                 "additional properties 'bearerToken' not allowed",
                 set_strings=["delivery.security.RegionalBureau.bearerToken=abc"])
    render_fails("schema: an endpoint name that would break the variable name (Regional__Bureau) is refused",
                 "invalid propertyName", set_strings=["delivery.security.Regional__Bureau.bearerTokenSecret.name=t"])

    readme = (CHART / "README.md").read_text()
    sec = readme.split("## Delivery", 1)[-1].split("\n## ", 1)[0]
    check("delivery: chart README's Delivery section covers the required endpoints, the development switch and the "
          "credential mounts", all(w in sec for w in (
              "delivery.endpoints.regionalBureau", "delivery.endpoints.municipality", "delivery.allowLoopback",
              "Delivery__AllowLoopback", "bearerTokenSecret", "clientCertificateSecret", "caCertificateSecret",
              "BearerTokenPath", "subPath", "/etc/tokutei/delivery/")), sec[:200])


JWT_ON = ["security.jwt.enabled=true", "security.jwt.issuer=https://idp.example", "security.jwt.audience=routing"]
CLIENT_CERTS = ["security.clientCertificates.enabled=true", "tls.enabled=true", "tls.existingSecret=t", "tls.clientCa=true"]
INLINE_KEYS = ROOT / "tests" / "chart" / "inline-keys.yaml"


def section(settings, prefix):
    return {k: v for k, v in settings.items() if k.startswith(prefix)}


def secrets_in_configmap(m):
    """ConfigMap entries that hold a Secret's value (or a line of it: a PEM body), or whose name looks secret."""
    values = {base64.b64decode(v).decode() for o in m.of("Secret") for v in o.get("data", {}).values()}
    pieces = {ln.strip() for v in values for ln in v.splitlines() if len(ln.strip()) >= 16} | {v for v in values if v}
    bad = [k for k, v in m.settings.items() if any(p in v for p in pieces)]
    bad += [k for k in m.settings if re.search(r"(?i)password|secret|SigningKeys|Encryption__Keys", k)]
    return bad


def security_checks():
    # --- Refusals: no way to identify agencies; client certificates without TLS and a client CA.
    render_fails("security: the defaults with intake endpoints but no identity settings refuse to render: no way to "
                 "identify agencies (and the message names security.jwt.enabled, security.clientCertificates.enabled, "
                 "security.allowUnauthenticated)",
                 ["no way to identify agencies", "security.jwt.enabled=true", "security.clientCertificates.enabled=true",
                  "security.allowUnauthenticated=true"], values=[DELIVERY], base=False)
    render_fails("security: jwt, clientCertificates and allowUnauthenticated all false refuse to render",
                 "no way to identify agencies", values=[DELIVERY], base=False,
                 sets=["security.jwt.enabled=false", "security.clientCertificates.enabled=false",
                       "security.allowUnauthenticated=false"])
    render_fails("security: client certificates without TLS refuse to render", ["security.clientCertificates.enabled needs TLS",
                 "tls.enabled=true", "tls.clientCa=true"], values=[DELIVERY], base=False,
                 sets=["security.clientCertificates.enabled=true"])
    render_fails("security: client certificates with TLS but no client CA refuse to render",
                 "security.clientCertificates.enabled needs TLS", values=[DELIVERY], base=False,
                 sets=["security.clientCertificates.enabled=true", "tls.enabled=true", "tls.existingSecret=t"])
    render_fails("security: client certificates with tls.clientCa but TLS off refuse to render",
                 "security.clientCertificates.enabled needs TLS", values=[DELIVERY], base=False,
                 sets=["security.clientCertificates.enabled=true", "tls.clientCa=true", "tls.existingSecret=t"])
    render_fails("security: client certificates with JWT on are still refused without TLS",
                 "security.clientCertificates.enabled needs TLS", sets=["security.clientCertificates.enabled=true"])
    render_fails("security: tls.clientCa without security.clientCertificates refuses to render (nothing would use the CA)",
                 "tls.clientCa only", sets=["tls.enabled=true", "tls.existingSecret=t", "tls.clientCa=true"])
    render_fails("security: agencyRoles without client certificates refuse to render", "security.agencyRoles",
                 set_strings=["security.agencyRoles.131016=submitter"])
    render_fails("security: JWT without issuer and audience refuses to render", "security.jwt.issuer and security.jwt.audience",
                 values=[DELIVERY], base=False, sets=["security.jwt.enabled=true", "security.jwt.signingKeys.k=" + "A" * 43 + "="])
    render_fails("security: JWT without a signing key refuses to render", "at least one signing key",
                 values=[DELIVERY], base=False, sets=JWT_ON)
    render_fails("security: existingSecretKeys without existingSecret refuse to render", "which is empty",
                 sets=["security.jwt.existingSecret="])
    render_fails("security: existingSecret without existingSecretKeys refuses to render", "existingSecretKeys",
                 values=[DELIVERY], base=False, sets=JWT_ON + ["security.jwt.existingSecret=jwt"])
    render_fails("security: a kid given both in existingSecretKeys and inline (ignoring case) refuses to render",
                 "given twice", set_strings=["security.jwt.signingKeys.TEST-KID=" + "A" * 43 + "="])
    render_fails("security: config.extra cannot set Security__* (the chart owns the section)", "owns the Security and Limits",
                 set_strings=["config.extra.Security__AllowUnauthenticated=true"])
    render_fails("security: config.extra cannot set Limits__*", "owns the Security and Limits",
                 set_strings=["config.extra.Limits__Burst=1"])

    # --- The env contract, exact names.
    m = render()
    s, env = m.settings, m.env()
    check("security: JWT on -> exactly Security__Jwt__Enabled, __Issuer, __Audience, __OfficeClaim (office_code), "
          "__RolesClaim (roles), __ClockSkew (00:00:30) in the ConfigMap",
          section(s, "Security__") == {
              "Security__Jwt__Enabled": "true", "Security__Jwt__Issuer": "https://idp.test.example/realms/tokutei",
              "Security__Jwt__Audience": "tokutei-routing", "Security__Jwt__OfficeClaim": "office_code",
              "Security__Jwt__RolesClaim": "roles", "Security__Jwt__ClockSkew": "00:00:30"}, json.dumps(section(s, "Security__")))
    keys = {n: secret_ref(e) for n, e in env.items() if n.startswith("Security__")}
    check("security: Security__Jwt__SigningKeys__test-kid is a secretKeyRef to existingSecret/entry (test-jwt, test-kid.pem), "
          "and the only security variable outside the ConfigMap",
          keys == {"Security__Jwt__SigningKeys__test-kid": ("test-jwt", "test-kid.pem")}, str(keys))
    check("security: AllowUnauthenticated is not rendered when false; no ClientCertificates or AgencyRoles settings with them off",
          not [k for k in s if k.startswith(("Security__AllowUnauthenticated", "Security__ClientCertificates__", "Security__AgencyRoles__"))])
    check("security: limits -> Limits__RatePerSecond 100, __Burst 200, __DefaultDeadline 00:00:15, __MaxDeadline 00:01:00",
          section(s, "Limits__") == {"Limits__RatePerSecond": "100", "Limits__Burst": "200",
                                     "Limits__DefaultDeadline": "00:00:15", "Limits__MaxDeadline": "00:01:00"})
    m = render(sets=["limits.ratePerSecond=5", "limits.burst=10"],
               set_strings=["limits.defaultDeadline=00:00:05", "limits.maxDeadline=00:00:20"])
    check("security: limits values reach Limits__* (5, 10, 00:00:05, 00:00:20)",
          section(m.settings, "Limits__") == {"Limits__RatePerSecond": "5", "Limits__Burst": "10",
                                              "Limits__DefaultDeadline": "00:00:05", "Limits__MaxDeadline": "00:00:20"})
    m = render(sets=CLIENT_CERTS + ["security.clientCertificates.officeCodeFrom=SubjectOU"],
               set_strings=["security.clientCertificates.defaultRoles=submitter\\,destination",
                            "security.agencyRoles.NARITA_AIRPORT=operator", "security.jwt.officeClaim=agency",
                            "security.jwt.rolesClaim=groups", "security.jwt.clockSkew=00:01:00"])
    sec = section(m.settings, "Security__")
    check("security: client certificates on -> Security__ClientCertificates__Enabled, __OfficeCodeFrom, __DefaultRoles and "
          "Security__AgencyRoles__<code>, next to the JWT claims and skew given",
          {k: v for k, v in sec.items() if not k.startswith(("Security__Jwt__Enabled", "Security__Jwt__Issuer", "Security__Jwt__Audience"))} == {
              "Security__ClientCertificates__Enabled": "true", "Security__ClientCertificates__OfficeCodeFrom": "SubjectOU",
              "Security__ClientCertificates__DefaultRoles": "submitter,destination",
              "Security__AgencyRoles__NARITA_AIRPORT": "operator", "Security__Jwt__OfficeClaim": "agency",
              "Security__Jwt__RolesClaim": "groups", "Security__Jwt__ClockSkew": "00:01:00"}
          and m.settings.get("Tls__ClientCaPath") == "/etc/tokutei/tls/ca.crt", json.dumps(sec))
    m = render(values=[CHART / "examples" / "tls.yaml"])
    sec = section(m.settings, "Security__")
    check("security: examples/tls.yaml identifies agencies by client certificate (SanUri, agency roles) and JWT",
          sec.get("Security__ClientCertificates__Enabled") == "true"
          and sec.get("Security__ClientCertificates__OfficeCodeFrom") == "SanUri"
          and sec.get("Security__ClientCertificates__DefaultRoles") == "submitter"
          and sec.get("Security__AgencyRoles__131016") == "submitter,destination"
          and sec.get("Security__Jwt__Enabled") == "true"
          and secret_ref(m.env().get("Security__Jwt__SigningKeys__idp-2026", {})) == ("tokutei-jwt", "idp-2026")
          and m.settings.get("Tls__ClientCaPath") == "/etc/tokutei/tls/ca.crt", json.dumps(sec))
    m = render(sets=CLIENT_CERTS + ["security.jwt.enabled=false"], values=[INLINE_KEYS], base=True)
    check("security: client certificates alone (JWT off) render, with no JWT setting, signing key or JWT Secret",
          not section(m.settings, "Security__Jwt__") and not [n for n in m.env() if "SigningKeys" in n]
          and not m.of("Secret", f"{FULLNAME}-jwt") and m.settings.get("Security__ClientCertificates__Enabled") == "true")
    bad = []
    for f in EXAMPLES:
        sec = section(render(values=[f]).settings, "Security__")
        if "Security__AllowUnauthenticated" in sec or not ({"Security__Jwt__Enabled", "Security__ClientCertificates__Enabled"} & sec.keys()):
            bad.append(f.name)
    check("security: every example identifies agencies (JWT or client certificates), none is unauthenticated", not bad, str(bad))

    # --- Unauthenticated development mode.
    m = render(sets=["security.allowUnauthenticated=true"], values=[DELIVERY], base=False)
    check("security: allowUnauthenticated=true alone renders, with Security__AllowUnauthenticated=true and no other method",
          section(m.settings, "Security__") == {"Security__AllowUnauthenticated": "true"}, json.dumps(section(m.settings, "Security__")))
    p = run([HELM, "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client", "-f", str(DELIVERY),
             "--set", "security.allowUnauthenticated=true"])
    notes = p.stdout.split("NOTES:", 1)[-1].strip() if "NOTES:" in p.stdout else ""
    check("security: the notes open with a loud UNAUTHENTICATED MODE warning (development only, every role) and repeat it",
          notes.startswith("#####") and "WARNING: UNAUTHENTICATED MODE" in notes.splitlines()[1]
          and "DEVELOPMENT ONLY" in notes and "EVERY role" in notes and notes.count("UNAUTHENTICATED MODE") >= 2, notes[:400])
    p = run([HELM, "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client", *base_args()])
    notes = p.stdout.split("NOTES:", 1)[-1]
    check("security: without it the notes do not warn, name the JWT issuer and key id, and put a bearer token in the first case",
          "UNAUTHENTICATED" not in notes and "https://idp.test.example/realms/tokutei" in notes and "test-kid" in notes
          and 'Authorization: Bearer $TOKEN' in notes)

    # --- Signing keys given inline; no secret in the ConfigMap.
    m = render(values=[*BASE, INLINE_KEYS])
    env = m.env()
    jwt_secret = m.of("Secret", f"{FULLNAME}-jwt")
    data = {k: base64.b64decode(v).decode() for k, v in (jwt_secret[0].get("data", {}) if jwt_secret else {}).items()}
    check("security: inline signing keys go to Secret <fullname>-jwt, one entry per kid, as given",
          set(data) == {"ec-2026", "hs-1"} and data["ec-2026"].startswith("-----BEGIN PUBLIC KEY-----")
          and data["hs-1"] == "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=", str(list(data)))
    refs = {n: secret_ref(e) for n, e in env.items() if n.startswith("Security__Jwt__SigningKeys__")}
    check("security: every signing key, PEM or symmetric, inline or existing, is a secretKeyRef (never a plain value)",
          refs == {"Security__Jwt__SigningKeys__test-kid": ("test-jwt", "test-kid.pem"),
                   "Security__Jwt__SigningKeys__ec-2026": (f"{FULLNAME}-jwt", "ec-2026"),
                   "Security__Jwt__SigningKeys__hs-1": (f"{FULLNAME}-jwt", "hs-1")}
          and not [n for n, e in env.items() if "SigningKeys" in n and "value" in e], str(refs))
    bad = {}
    for label, mm in [("inline keys", m), ("defaults", render())] + [(f.name, render(values=[f])) for f in EXAMPLES]:
        found = secrets_in_configmap(mm)
        if found:
            bad[label] = found
    check("security: no Secret value (password, encryption key, signing key or a PEM line) and no secret-looking name "
          "in the ConfigMap, with inline keys, the defaults and every example", not bad, str(bad))
    a = m.deployment["spec"]["template"]["metadata"]["annotations"].get("checksum/jwt-signing-keys")
    b = render(values=[*BASE, INLINE_KEYS], set_strings=["security.jwt.signingKeys.hs-1=" + "B" * 43 + "="]) \
        .deployment["spec"]["template"]["metadata"]["annotations"].get("checksum/jwt-signing-keys")
    check("security: a changed inline signing key changes the pod template (rolls the pods); no checksum without inline keys",
          a and b and a != b
          and "checksum/jwt-signing-keys" not in render().deployment["spec"]["template"]["metadata"]["annotations"])

    # --- The schema.
    render_fails("schema: a bad security.clientCertificates.officeCodeFrom (SubjectO) is refused", "officeCodeFrom",
                 sets=CLIENT_CERTS + ["security.clientCertificates.officeCodeFrom=SubjectO"])
    render_fails("schema: a role outside submitter, destination, operator in defaultRoles is refused", "defaultRoles",
                 sets=CLIENT_CERTS + ["security.clientCertificates.defaultRoles=admin"])
    render_fails("schema: a bad role in agencyRoles is refused", "agencyRoles",
                 sets=CLIENT_CERTS, set_strings=["security.agencyRoles.131016=submitter\\,root"])
    render_fails("schema: an office code that would break the variable name (13__1) is refused", "invalid propertyName '13__1'",
                 sets=CLIENT_CERTS, set_strings=["security.agencyRoles.13__1=submitter"])
    render_fails("schema: a clock skew that is not a TimeSpan (30s) is refused", "clockSkew",
                 set_strings=["security.jwt.clockSkew=30s"])
    render_fails("schema: an inline signing key shorter than 32 bytes is refused", "signingKeys",
                 set_strings=["security.jwt.signingKeys.short=c2hvcnQ="])
    render_fails("schema: an inline PEM private key is refused", "signingKeys",
                 set_strings=["security.jwt.signingKeys.priv=-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----"])
    render_fails("schema: limits.ratePerSecond 0 is refused", "ratePerSecond", sets=["limits.ratePerSecond=0"])
    render_fails("schema: an unknown key under security.jwt is refused", "additional properties 'issuerr' not allowed",
                 set_strings=["security.jwt.issuerr=x"])

    readme = (CHART / "README.md").read_text()
    sec = readme.split("## Security", 1)[-1].split("\n## ", 1)[0]
    check("security: chart README's Security section covers identification, roles, a new agency and the unauthenticated mode",
          all(w in sec for w in ("### How agencies are identified", "### Roles", "### A new agency",
                                 "### Unauthenticated development mode", "urn:tokutei:office:", "security.agencyRoles",
                                 "security.jwt.signingKeys", "security.allowUnauthenticated", "submitter", "destination",
                                 "operator")), sec[:200])


def tls_checks():
    m = render(values=[CHART / "examples" / "tls.yaml"])
    c, pod, s = m.server, m.deployment["spec"]["template"]["spec"], m.settings
    vols = {v["name"]: v for v in pod["volumes"]}
    mount = [v for v in c["volumeMounts"] if v["name"] == "tls"]
    check("tls: the kubernetes.io/tls Secret is mounted read-only as a directory at /etc/tokutei/tls",
          vols.get("tls", {}).get("secret", {}).get("secretName") == "tokutei-routing-tls"
          and mount == [{"name": "tls", "mountPath": "/etc/tokutei/tls", "readOnly": True}], json.dumps(mount))
    check("tls: Tls__CertificatePath, Tls__KeyPath, Tls__ClientCaPath point into it",
          s.get("Tls__CertificatePath") == "/etc/tokutei/tls/tls.crt" and s.get("Tls__KeyPath") == "/etc/tokutei/tls/tls.key"
          and s.get("Tls__ClientCaPath") == "/etc/tokutei/tls/ca.crt")
    check("tls: gRPC listener is https://0.0.0.0:8080; plaintext health listener Admin__HealthPort 8081",
          s.get("ASPNETCORE_URLS") == "https://0.0.0.0:8080" and s.get("Admin__HealthPort") == "8081")
    check("tls: the three gRPC probes call the plaintext health port 8081 (the kubelet cannot speak TLS)",
          [c[p]["grpc"] for p in ("startupProbe", "livenessProbe", "readinessProbe")]
          == [{"port": 8081, "service": "startup"}, {"port": 8081, "service": "liveness"}, {"port": 8081, "service": "readiness"}]
          and {"name": "health", "containerPort": 8081, "protocol": "TCP"} in c["ports"])
    check("tls: Service gRPC port is not advertised as h2c",
          [p.get("appProtocol") for p in m.one("Service", FULLNAME)["spec"]["ports"] if p["name"] == "grpc"] == ["https"])
    plain = render(sets=["tls.enabled=true", "tls.existingSecret=t"])
    check("tls: without clientCa there is no Tls__ClientCaPath", "Tls__ClientCaPath" not in plain.settings)


def external_redis_checks():
    m = render(values=[CHART / "examples" / "external-redis.yaml"])
    s, env = m.settings, m.env()
    check("external: no bundled Redis (no StatefulSet, no Redis Service or policy)",
          not m.of("StatefulSet") and not m.of("Service", f"{FULLNAME}-redis") and not m.of("NetworkPolicy", f"{FULLNAME}-redis"))
    check("external: ConnectionStrings__Redis is host:port with abortConnect=false, ssl=true and the extra options",
          s.get("ConnectionStrings__Redis")
          == "redis-primary.data.svc.cluster.local:6380,abortConnect=false,ssl=true,user=tokutei-routing",
          s.get("ConnectionStrings__Redis"))
    check("external: Redis__Password from the existing Secret tokutei-redis/password",
          secret_ref(env.get("Redis__Password", {})) == ("tokutei-redis", "password"))
    check("external: Encryption__Keys__k1 and __k2 from the existing Secret; active key k2; no Secret created",
          secret_ref(env.get("Encryption__Keys__k1", {})) == ("tokutei-encryption-keys", "k1")
          and secret_ref(env.get("Encryption__Keys__k2", {})) == ("tokutei-encryption-keys", "k2")
          and s.get("Encryption__ActiveKeyId") == "k2" and not m.of("Secret"))
    check("external: delivery endpoints (bureau, municipality, office 131016) in the ConfigMap",
          s.get("Delivery__Endpoints__RegionalBureau") == "https://intake.bureau.example.com"
          and s.get("Delivery__Endpoints__Municipality") == "https://intake.municipal.example.com"
          and s.get("Delivery__Endpoints__Offices__131016") == "https://intake.chiyoda.example.com")
    spec = m.one("NetworkPolicy", FULLNAME)["spec"]
    by_port = {r["ports"][0]["port"]: r for r in spec["egress"]}
    check("external: egress to the Redis peers on 6380 and to the intake CIDR on 443",
          by_port.get(6380, {}).get("to") == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "data"}}}]
          and by_port.get(443, {}).get("to") == [{"ipBlock": {"cidr": "203.0.113.0/24"}}], json.dumps(spec["egress"]))
    grpc = [r for r in spec["ingress"] if r["ports"][0]["port"] == 8080]
    check("external: gRPC port open to the agency-backends namespace",
          grpc and any(p.get("namespaceSelector", {}).get("matchExpressions", [{}])[0].get("values") == ["agency-backends"]
                       for p in grpc[0]["from"]))


EXTERNAL = ["redis.enabled=false", "networkPolicy.egress.externalRedis.to[0].ipBlock.cidr=198.51.100.0/24"]
CLUSTER = EXTERNAL + ["externalRedis.mode=cluster", "externalRedis.nodes={r0.data:6379,r1.data:6379,r2.data:6379}"]
SENTINEL = EXTERNAL + ["externalRedis.mode=sentinel", "externalRedis.sentinel.masterName=mymaster",
                       "externalRedis.sentinel.nodes={s0.data:26379,s1.data:26379,s2.data:26379}",
                       "networkPolicy.egress.externalRedis.ports={6379}"]


def redis_egress(m):
    """The egress rule of the external Redis (the one whose peers are networkPolicy.egress.externalRedis.to)."""
    rules = [r for r in m.one("NetworkPolicy", FULLNAME)["spec"]["egress"]
             if r.get("to") and "ipBlock" in r["to"][0] and r["to"][0]["ipBlock"]["cidr"] == "198.51.100.0/24"
             or r.get("to") and r["to"][0].get("namespaceSelector", {}).get("matchLabels", {}).get(
                 "kubernetes.io/metadata.name") == "data"]
    if len(rules) != 1:
        raise AssertionError(f"expected one egress rule to the external Redis, found {len(rules)}")
    return rules[0]


def redis_topology_checks():
    # Cluster: the seed nodes, and StackExchange.Redis finds the rest.
    m = render(values=[CHART / "examples" / "external-redis-cluster.yaml"])
    s = m.settings
    seeds = [f"redis-cluster-{i}.redis-cluster-headless.data.svc.cluster.local:6379" for i in range(3)]
    check("cluster: ConnectionStrings__Redis is the seed nodes, abortConnect=false, ssl=true and user=",
          s.get("ConnectionStrings__Redis") == ",".join(seeds + ["abortConnect=false", "ssl=true", "user=tokutei-routing"]),
          s.get("ConnectionStrings__Redis"))
    check("cluster example: Redis__Shards 16, Redis__ReplicaAcks 1, Redis__ReplicaAckTimeout 00:00:00.500",
          (s.get("Redis__Shards"), s.get("Redis__ReplicaAcks"), s.get("Redis__ReplicaAckTimeout"))
          == ("16", "1", "00:00:00.500"), json.dumps({k: v for k, v in s.items() if k.startswith("Redis__")}))
    check("cluster example: Redis__Password from the existing Secret, not in the ConfigMap",
          secret_ref(m.env().get("Redis__Password", {})) == ("tokutei-redis", "password")
          and "password" not in s["ConnectionStrings__Redis"].lower())
    rule = redis_egress(m)
    check("cluster example: egress to the cluster's peers on the seeds' port 6379, no bundled Redis",
          rule["ports"] == [{"port": 6379, "protocol": "TCP"}] and not m.of("StatefulSet"), json.dumps(rule))
    m = render(sets=EXTERNAL + ["externalRedis.mode=cluster", "externalRedis.nodes={a:7000,b:7001,c:7000}",
                                "networkPolicy.egress.externalRedis.ports={7002,7000}"])
    check("cluster: egress opens every seed's port and networkPolicy.egress.externalRedis.ports, each once",
          sorted(p["port"] for p in redis_egress(m)["ports"]) == [7000, 7001, 7002], json.dumps(redis_egress(m)["ports"]))
    check("cluster: the ports of externalRedis.port (6379) are not opened in cluster mode",
          6379 not in [p["port"] for p in redis_egress(m)["ports"]])
    m = render(sets=CLUSTER + ["externalRedis.nodes={[fd00::1]:6379}"])
    check("cluster: an IPv6 seed in brackets is kept as written",
          m.settings["ConnectionStrings__Redis"].startswith("[fd00::1]:6379,abortConnect=false"),
          m.settings["ConnectionStrings__Redis"])

    # Sentinel: the sentinels and serviceName=<master>.
    m = render(values=[CHART / "examples" / "external-redis-sentinel.yaml"])
    s = m.settings
    sentinels = [f"redis-sentinel-{i}.redis-sentinel.data.svc.cluster.local:26379" for i in range(3)]
    check("sentinel: ConnectionStrings__Redis is the sentinels, serviceName=<masterName>, abortConnect=false, user=",
          s.get("ConnectionStrings__Redis")
          == ",".join(sentinels + ["serviceName=tokutei", "abortConnect=false", "user=tokutei-routing"]),
          s.get("ConnectionStrings__Redis"))
    check("sentinel example: Redis__ReplicaAcks 1 with its timeout, Redis__Shards 16",
          (s.get("Redis__Shards"), s.get("Redis__ReplicaAcks"), s.get("Redis__ReplicaAckTimeout"))
          == ("16", "1", "00:00:00.500"))
    rule = redis_egress(m)
    check("sentinel example: egress to the sentinels' port 26379 and the data nodes' port 6379",
          sorted(p["port"] for p in rule["ports"]) == [6379, 26379], json.dumps(rule))
    m = render(sets=SENTINEL + ["externalRedis.tls=true", "externalRedis.options=connectTimeout=2000"])
    check("sentinel: ssl=true and the extra options follow serviceName",
          m.settings["ConnectionStrings__Redis"] == "s0.data:26379,s1.data:26379,s2.data:26379,serviceName=mymaster,"
          "abortConnect=false,ssl=true,connectTimeout=2000", m.settings["ConnectionStrings__Redis"])
    render_fails("sentinel: with egress restricted and no data-node port, the chart refuses, naming "
                 "networkPolicy.egress.externalRedis.ports and the data nodes",
                 ["data nodes behind the sentinels", "networkPolicy.egress.externalRedis.ports"],
                 sets=[x for x in SENTINEL if not x.startswith("networkPolicy.egress.externalRedis.ports")])
    m = render(sets=[x for x in SENTINEL if not x.startswith("networkPolicy")] + ["networkPolicy.egress.enabled=false"])
    check("sentinel: with egress unrestricted no port is needed", "serviceName=mymaster" in m.settings["ConnectionStrings__Redis"])

    # Standalone: today's values keep working.
    m = render(sets=EXTERNAL + ["externalRedis.host=redis.data", "externalRedis.port=6380",
                                "externalRedis.options=user=routing"])
    check("standalone: values without a mode (host, port, options user=) give host:port,abortConnect=false,user=... "
          "as before", m.settings["ConnectionStrings__Redis"] == "redis.data:6380,abortConnect=false,user=routing"
          and [p["port"] for p in redis_egress(m)["ports"]] == [6380], m.settings["ConnectionStrings__Redis"])
    m = render(sets=EXTERNAL + ["externalRedis.host=redis.data", "externalRedis.user=routing"])
    check("standalone: externalRedis.user gives user=<name>",
          m.settings["ConnectionStrings__Redis"] == "redis.data:6379,abortConnect=false,user=routing")
    check("standalone: no replica acknowledgement by default (Redis__ReplicaAcks 0, no timeout)",
          m.settings.get("Redis__ReplicaAcks") == "0" and "Redis__ReplicaAckTimeout" not in m.settings)
    m = render(sets=EXTERNAL + ["externalRedis.host=redis.data", "externalRedis.replicaAcks=2",
                                "externalRedis.replicaAckTimeout=00:00:01.250"])
    check("standalone: replicaAcks 2 and a 1.25 s timeout -> Redis__ReplicaAcks 2, Redis__ReplicaAckTimeout 00:00:01.250",
          m.settings.get("Redis__ReplicaAcks") == "2" and m.settings.get("Redis__ReplicaAckTimeout") == "00:00:01.250")

    # Shards: bundled and external alike; none in embedded mode.
    check("shards: redisLayout.shards 32 -> Redis__Shards 32 with the bundled Redis and with a cluster",
          render(sets=["redisLayout.shards=32"]).settings.get("Redis__Shards") == "32"
          and render(sets=CLUSTER + ["redisLayout.shards=32"]).settings.get("Redis__Shards") == "32")
    m = render(sets=["redis.enabled=false", "replicaCount=1"])
    check("shards: the embedded mode (no Redis) gets no Redis__ setting",
          not [k for k in m.settings if k.startswith("Redis__")], json.dumps(m.settings))

    # The schema refuses...
    render_fails("schema: an externalRedis.mode outside standalone, cluster, sentinel is refused", "/externalRedis/mode",
                 sets=EXTERNAL + ["externalRedis.mode=replicated", "externalRedis.host=r"])
    render_fails("schema: mode cluster without nodes is refused", "/externalRedis/nodes",
                 sets=EXTERNAL + ["externalRedis.mode=cluster"])
    render_fails("schema: mode sentinel without masterName and nodes is refused, naming both",
                 ["/externalRedis/sentinel/masterName", "/externalRedis/sentinel/nodes"],
                 sets=EXTERNAL + ["externalRedis.mode=sentinel"])
    render_fails("schema: mode sentinel without nodes is refused", "/externalRedis/sentinel/nodes",
                 sets=EXTERNAL + ["externalRedis.mode=sentinel", "externalRedis.sentinel.masterName=m"],
                 unexpected=["/externalRedis/sentinel/masterName"])
    render_fails("schema: a node without a port is refused", "/externalRedis/nodes/1",
                 sets=CLUSTER + ["externalRedis.nodes={r0:6379,r1}"])
    render_fails("schema: a sentinel that is a URL, not host:port, is refused", "/externalRedis/sentinel/nodes/0",
                 sets=SENTINEL + ["externalRedis.sentinel.nodes={redis://s0:26379}"])
    render_fails("schema: a master name with a comma (it would add an option) is refused", "/externalRedis/sentinel/masterName",
                 sets=SENTINEL, set_strings=["externalRedis.sentinel.masterName=m\\,ssl=false"])
    render_fails("schema: a user with a comma is refused", "/externalRedis/user",
                 sets=CLUSTER, set_strings=["externalRedis.user=u\\,password=x"])
    render_fails("schema: redisLayout.shards 0 is refused", "/redisLayout/shards", sets=["redisLayout.shards=0"])
    render_fails("schema: redisLayout.shards 257 is refused", "/redisLayout/shards", sets=["redisLayout.shards=257"])
    render_fails("schema: redisLayout.shards \"sixteen\" is refused", "/redisLayout/shards",
                 set_strings=["redisLayout.shards=sixteen"])
    render_fails("schema: externalRedis.replicaAcks -1 is refused", "/externalRedis/replicaAcks",
                 sets=CLUSTER + ["externalRedis.replicaAcks=-1"])
    render_fails("schema: a replicaAckTimeout that is no TimeSpan (500ms) is refused", "/externalRedis/replicaAckTimeout",
                 sets=CLUSTER, set_strings=["externalRedis.replicaAckTimeout=500ms"])
    render_fails("schema: a sentinelPassword in externalRedis.options is refused (it would go to the ConfigMap)",
                 "/externalRedis/options", sets=SENTINEL + ["externalRedis.options=sentinelPassword=x"])
    render_fails("schema: a cluster is durable mode: it needs the intake endpoints", "/delivery/endpoints/municipality",
                 values=[IDENTITY], base=False, sets=CLUSTER)
    for n in (1, 256):
        code, _, err = template(sets=CLUSTER + [f"redisLayout.shards={n}"])
        check(f"schema: redisLayout.shards {n} is accepted", code == 0, err[:300])

    # ...and so do the templates, with a message that names what is missing (the schema skipped).
    def fails(name, expected, sets, flags=NO_SCHEMA, unexpected=()):
        render_fails(name, expected, sets=sets, flags=flags, unexpected=unexpected)
    fails("redis: mode cluster without nodes: the templates ask for externalRedis.nodes, host:port seed nodes",
          ["externalRedis.mode=cluster needs externalRedis.nodes", "host:port"], EXTERNAL + ["externalRedis.mode=cluster"])
    fails("redis: mode sentinel without anything: the templates name sentinel.masterName and sentinel.nodes",
          ["externalRedis.mode=sentinel needs externalRedis.sentinel.masterName", "and externalRedis.sentinel.nodes"],
          EXTERNAL + ["externalRedis.mode=sentinel"])
    fails("redis: mode sentinel without nodes: the templates name only sentinel.nodes",
          "externalRedis.mode=sentinel needs externalRedis.sentinel.nodes",
          EXTERNAL + ["externalRedis.mode=sentinel", "externalRedis.sentinel.masterName=m"],
          unexpected=["masterName ("])
    fails("redis: a node without a port: the templates name it", ['"r1" is not a "host:port" endpoint'],
          CLUSTER + ["externalRedis.nodes={r0:6379,r1}"])
    fails("redis: an unknown mode: the templates list the three", "use standalone, cluster or sentinel",
          EXTERNAL + ["externalRedis.mode=replicated", "externalRedis.host=r"])
    fails("redis: nodes given in standalone mode: the templates ask for externalRedis.mode",
          "are for externalRedis.mode=cluster and =sentinel", EXTERNAL + ["externalRedis.nodes={r0:6379}"], flags=())
    fails("redis: a host given in cluster mode is refused (seeds go in externalRedis.nodes)",
          "leave externalRedis.host", CLUSTER + ["externalRedis.host=r"], flags=())
    fails("redis: cluster nodes given in sentinel mode are refused", "leave externalRedis.host and externalRedis.nodes",
          SENTINEL + ["externalRedis.nodes={r0:6379}"], flags=())
    fails("redis: serviceName in externalRedis.options is refused (mode sentinel instead)",
          "externalRedis.mode=sentinel with externalRedis.sentinel.masterName", CLUSTER + ["externalRedis.options=serviceName=m"],
          flags=())
    fails("redis: externalRedis.user together with user= in options is refused", "keep externalRedis.user",
          CLUSTER + ["externalRedis.user=a", "externalRedis.options=user=b"], flags=())
    fails("redis: replicaAcks with a zero timeout is refused", "needs a replicaAckTimeout above zero",
          CLUSTER + ["externalRedis.replicaAcks=1", "externalRedis.replicaAckTimeout=00:00:00"], flags=())
    fails("redis: redisLayout.shards 0: the templates say 1..256 and fixed at install",
          ["redisLayout.shards must be between 1 and 256", "fixed at install"], ["redisLayout.shards=0"])
    fails("redis: replicaAcks -1: the templates refuse it too", "externalRedis.replicaAcks must be 0 or more",
          CLUSTER + ["externalRedis.replicaAcks=-1"])
    fails("redis: the bundled Redis with replicaAcks 1 is refused: a single node has no replica to acknowledge",
          ["externalRedis.replicaAcks=1", "bundled Redis", "single node", "set externalRedis.replicaAcks=0"],
          ["externalRedis.replicaAcks=1"], flags=())
    fails("redis: the embedded mode with replicaAcks 1 is refused (no Redis to wait on)", "no Redis is configured",
          ["redis.enabled=false", "replicaCount=1", "externalRedis.replicaAcks=1"], flags=())
    fails("redis: redis.enabled together with mode cluster is refused (both set)", "both set",
          [x for x in CLUSTER if x != "redis.enabled=false"], flags=())
    fails("redis: a cluster with egress restricted and no peers is refused", "externalRedis.to",
          ["redis.enabled=false", "externalRedis.mode=cluster", "externalRedis.nodes={r0:6379}"], flags=())

    # What the platform team reads.
    values_text = (CHART / "values.yaml").read_text()
    check("values.yaml: the ACL user needs CONFIG GET and INFO (fail closed); shards are fixed at install",
          "CONFIG GET and INFO" in values_text and "fails closed" in values_text and "FIXED AT INSTALL" in values_text
          and "loses no accepted case" in values_text)
    readme = (CHART / "README.md").read_text()
    sec = readme.split("## Redis topologies", 1)[-1].split("\n## ", 1)[0]
    check("README: a Redis topologies section covers standalone, Sentinel, Cluster, the settings, the ACL, "
          "the fixed shard count and replica acknowledgement",
          "## Redis topologies" in readme
          and all(w in sec for w in ("standalone", "Sentinel", "Cluster", "externalRedis.mode", "externalRedis.nodes",
                                     "externalRedis.sentinel.masterName", "serviceName=", "CONFIG GET", "INFO",
                                     "fails closed", "redisLayout.shards", "Redis__Shards", "at install",
                                     "replicaAcks", "WAIT", "UNAVAILABLE", "RetryInfo", "loses no accepted case",
                                     "networkPolicy.egress.externalRedis.ports")), sec[:200])
    chart_yaml = (CHART / "Chart.yaml").read_text()
    check("Chart.yaml: version 0.4.0, and the README's Upgrade section says what changed from 0.3.0",
          re.search(r"^version: 0\.4\.0$", chart_yaml, re.M) is not None and "From chart 0.3.0" in readme)
    p = run([HELM, "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client",
             "-f", str(CHART / "examples" / "external-redis-sentinel.yaml")])
    check("notes: a Sentinel install names the master and sentinels, the replica acknowledgement and the fixed shards",
          'master "tokutei" of the sentinels' in p.stdout and "1 replica(s)" in p.stdout
          and "never change redisLayout.shards" in p.stdout, p.stderr[:300])


def hpa_checks():
    m = render(values=[CHART / "examples" / "hpa.yaml"])
    hpa = m.one("HorizontalPodAutoscaler")
    spec = hpa["spec"]
    check("hpa: autoscaling/v2 HPA scales the Deployment between 3 and 10 on CPU 60%",
          hpa["apiVersion"] == "autoscaling/v2"
          and spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME}
          and spec["minReplicas"] == 3 and spec["maxReplicas"] == 10
          and spec["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}],
          json.dumps(spec))
    check("hpa: the Deployment leaves replicas to the HPA", "replicas" not in m.deployment["spec"])
    check("hpa: PDB minAvailable 2 (below minReplicas 3)", m.one("PodDisruptionBudget")["spec"].get("minAvailable") == 2)
    check("hpa: off by default", not render().of("HorizontalPodAutoscaler"))


def servicemonitor_checks():
    m = render(values=[CHART / "examples" / "servicemonitor.yaml"], sets=["service.headless.enabled=true"])
    sm = m.one("ServiceMonitor")
    spec = sm["spec"]
    check("servicemonitor: monitoring.coreos.com/v1, /metrics on the 'admin' port every 15s, with the release label",
          sm["apiVersion"] == "monitoring.coreos.com/v1"
          and [(e["port"], e["path"], e["interval"]) for e in spec["endpoints"]] == [("admin", "/metrics", "15s")]
          and sm["metadata"]["labels"].get("release") == "kube-prometheus-stack", json.dumps(spec))
    main = m.one("Service", FULLNAME)["metadata"]["labels"]
    headless = m.one("Service", f"{FULLNAME}-headless")["metadata"]["labels"]

    def matches(labels):
        sel = spec["selector"]
        ok = selects(sel["matchLabels"], labels)
        for e in sel.get("matchExpressions", []):
            ok = ok and (e["key"] not in labels if e["operator"] == "DoesNotExist" else True)
        return ok
    check("servicemonitor: selects the main Service in the release namespace, not the headless one",
          matches(main) and not matches(headless) and spec["namespaceSelector"] == {"matchNames": [NAMESPACE]})
    check("servicemonitor: off by default", not render().of("ServiceMonitor"))
    s = m.settings
    egress = m.one("NetworkPolicy", FULLNAME)["spec"]["egress"]
    check("servicemonitor example: OTEL_EXPORTER_OTLP_ENDPOINT set, egress to the collector on 4317",
          s.get("OTEL_EXPORTER_OTLP_ENDPOINT") == "http://otel-collector.observability.svc.cluster.local:4317"
          and any(r["ports"] == [{"port": 4317, "protocol": "TCP"}] for r in egress))
    attrs = m.env().get("OTEL_RESOURCE_ATTRIBUTES", {}).get("value", "")
    check("servicemonitor example: OTEL_RESOURCE_ATTRIBUTES names the pod, namespace and environment",
          "k8s.pod.name=$(POD_NAME)" in attrs and "deployment.environment=production" in attrs, attrs)


def shutdown_and_image_checks():
    m = render(sets=["shutdown.timeoutSeconds=75", "shutdown.preStopSleepSeconds=10"])
    check("shutdown: timeoutSeconds 75 -> HostOptions__ShutdownTimeout 00:01:15, grace 90 s, preStop 10 s",
          m.settings["HostOptions__ShutdownTimeout"] == "00:01:15"
          and m.deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 90
          and m.server["lifecycle"]["preStop"]["sleep"]["seconds"] == 10)
    check("shutdown: preStopSleepSeconds 0 renders no lifecycle hook",
          "lifecycle" not in render(sets=["shutdown.preStopSleepSeconds=0"]).server)
    m = render(sets=["securityContext.runAsUser=null", "securityContext.runAsGroup=null", "securityContext.fsGroup=null"])
    psc, sc = m.deployment["spec"]["template"]["spec"]["securityContext"], m.server["securityContext"]
    check("security: null ids leave them to the platform (OpenShift), runAsNonRoot and the hardening stay",
          not {"runAsUser", "runAsGroup", "fsGroup"} & (psc.keys() | sc.keys()) and psc["runAsNonRoot"] is True
          and sc["readOnlyRootFilesystem"] is True and sc["capabilities"] == {"drop": ["ALL"]})
    check("image: image.tag overrides appVersion",
          render(sets=["image.tag=1.2.3"]).server["image"] == "tokutei-routing:1.2.3")
    digest = "sha256:" + "a" * 64
    check("image: image.digest pins the image by digest",
          render(sets=[f"image.digest={digest}"]).server["image"] == f"tokutei-routing@{digest}")
    old = run([HELM, "template", RELEASE, str(CHART), *base_args(), "--kube-version", "1.29.9"])
    new = run([HELM, "template", RELEASE, str(CHART), *base_args(), "--kube-version", "1.30.0"])
    check("kubeVersion: Kubernetes 1.29 is refused, 1.30 accepted (preStop sleep handler)",
          old.returncode != 0 and "kubeVersion" in old.stderr and new.returncode == 0, old.stderr[:200])
    dockerfile = (ROOT / "Dockerfile").read_text()
    check("image: Dockerfile builds with the .NET 10 SDK (locked restore, publish to /app) and runs on aspnet:10.0",
          re.search(r"mcr\.microsoft\.com/dotnet/sdk:10\.0", dockerfile) is not None
          and "dotnet restore src/Tokutei.Routing.Server --locked-mode" in dockerfile
          and re.search(r"dotnet publish src/Tokutei\.Routing\.Server -c Release -o /app", dockerfile) is not None
          and re.search(r"mcr\.microsoft\.com/dotnet/aspnet:10\.0", dockerfile) is not None)
    check("image: Dockerfile and chart agree on ports 8080/9090, the non-root user and the entrypoint",
          re.search(r"^EXPOSE 8080 9090$", dockerfile, re.M) is not None
          and "ASPNETCORE_URLS=http://0.0.0.0:8080" in dockerfile and "Admin__Port=9090" in dockerfile
          and re.search(r"^USER \$APP_UID$", dockerfile, re.M) is not None
          and 'ENTRYPOINT ["dotnet", "Tokutei.Routing.Server.dll"]' in dockerfile
          and render().deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 1654)
    ignore = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    check("image: .dockerignore is an allow-list (src, protos, data/reference, build settings; no bin/obj)",
          ignore[0] == "*" and {"!src/", "!protos/", "!data/reference/", "!global.json", "!Directory.Packages.props"} <= set(ignore)
          and "**/bin/" in ignore and "**/obj/" in ignore, str(ignore))
    copied = re.findall(r"^COPY (?!--from)(.+?) \S+$", dockerfile, re.M)
    allowed = {ln[1:].rstrip("/") for ln in ignore if ln.startswith("!")}
    sources = [src.rstrip("/") for line in copied for src in line.split()]
    check("image: everything the Dockerfile copies is allowed into the build context",
          sources and all(s in allowed for s in sources), f"{sources} vs {sorted(allowed)}")


def notes_checks():
    p = run([HELM, "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client", *base_args()])
    notes = p.stdout.split("NOTES:", 1)[-1] if "NOTES:" in p.stdout else ""
    check("notes: show the health check (port-forward + buf curl / grpc_health_probe on grpc.health.v1)",
          p.returncode == 0 and "port-forward" in notes and "grpc.health.v1.Health/Check" in notes
          and "grpc_health_probe" in notes and '"service":"readiness"' in notes, p.stderr[:300])
    check("notes: show how to route a first case (RouteCase with the example case)",
          "RoutingService/RouteCase" in notes and "first-case.json" in notes)
    case = json.loads((CHART / "examples" / "first-case.json").read_text())
    check("notes: the example case file is a RouteCase request", {"request_id", "application"} <= case.keys())
    p = run([HELM, "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client", *base_args(),
             "--set", "redis.enabled=false", "--set", "replicaCount=1"])
    check("notes: the embedded mode is called out as not durable", "NOTHING IS DURABLE" in p.stdout)


def main():
    for group in (lint_checks, render_checks, default_checks, redis_checks, network_policy_checks, headless_checks,
                  pdb_checks, schema_checks, guard_checks, tls_checks, external_redis_checks, redis_topology_checks, hpa_checks,
                  servicemonitor_checks, shutdown_and_image_checks, notes_checks, security_checks, delivery_checks):
        safe(group.__name__, group)
    print(f"chart: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
