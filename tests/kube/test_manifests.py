"""Manifest builders: pure functions from an AppSpec to Kubernetes objects, no cluster needed."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from apps.kube import manifests as m
from apps.kube.diff import key
from apps.kube.manifests import AppSpec, HealthCheckSpec, ProcessSpec


def process(name: str = "web", **overrides: Any) -> ProcessSpec:
    values: dict[str, Any] = {
        "name": name,
        "command": "",
        "quantity": 2,
        "cpu_request_millicores": 250,
        "cpu_limit_millicores": 1000,
        "memory_request_mib": 512,
        "memory_limit_mib": 1024,
    }
    return ProcessSpec(**(values | overrides))


UID = "0b7c9a4e-1111-2222-3333-444455556666"


def app(*processes: ProcessSpec, **overrides: Any) -> AppSpec:
    values: dict[str, Any] = {
        "name": "shop",
        "uid": UID,
        "namespace": "paas-shop",
        "release": 7,
        "image": "registry.local/shop@sha256:abc",
        "config": {"DATABASE_URL": "postgres://db/shop", "DEBUG": "0"},
        "processes": processes,
    }
    return AppSpec(**(values | overrides))


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def config_hash_of(deployment: dict[str, Any]) -> str:
    annotations: dict[str, str] = deployment["spec"]["template"]["metadata"]["annotations"]
    return annotations[m.CONFIG_HASH]


def env(deployment: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(deployment)["env"]}


# Quantities in the API server's canonical form.


@pytest.mark.parametrize(
    ("millicores", "expected"),
    [(1000, "1"), (2000, "2"), (250, "250m"), (1500, "1500m"), (100, "100m"), (0, "0")],
)
def test_cpu_is_whole_cores_or_millicores(millicores, expected):
    assert m.cpu(millicores) == expected


@pytest.mark.parametrize(
    ("mib", "expected"),
    [(1024, "1Gi"), (2048, "2Gi"), (2560, "2560Mi"), (512, "512Mi"), (1536, "1536Mi"), (0, "0")],
)
def test_memory_is_whole_gibibytes_or_mebibytes(mib, expected):
    assert m.memory(mib) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("25%", "25%"), ("100%", "100%"), ("0", 0), ("1", 1), ("3", 3)]
)
def test_int_or_percent_keeps_percentages_and_parses_counts(value, expected):
    result = m.int_or_percent(value)
    assert result == expected
    assert type(result) is type(expected)


def test_int_or_percent_rejects_garbage():
    with pytest.raises(ValueError, match="invalid literal"):
        m.int_or_percent("lots")


# Config hash.


def test_config_hash_is_stable_and_ignores_key_order():
    first = m.config_hash({"A": "1", "B": "2"})
    assert first == m.config_hash({"B": "2", "A": "1"})
    assert len(first) == 16
    int(first, 16)  # hexadecimal


def test_config_hash_changes_with_a_value_or_a_key():
    base = m.config_hash({"A": "1"})
    assert m.config_hash({"A": "2"}) != base
    assert m.config_hash({"A": "1", "B": ""}) != base
    assert m.config_hash({}) != base


def test_a_changed_config_changes_the_pod_template_hash_annotation():
    web = process("web")
    before = m.deployment(app(web, config={"A": "1"}), web)
    same = m.deployment(app(web, config={"A": "1"}), web)
    after = m.deployment(app(web, config={"A": "2"}), web)
    assert config_hash_of(before) == config_hash_of(same) == m.config_hash({"A": "1"})
    assert config_hash_of(after) != config_hash_of(before)
    assert config_hash_of(after) == m.config_hash({"A": "2"})


# desired_objects.


def test_an_app_without_an_image_gets_only_namespace_and_secret():
    objects = m.desired_objects(app(process("web"), process("worker"), image=""))
    assert [o["kind"] for o in objects] == ["Namespace", "Secret"]


def test_an_app_with_web_and_worker_gets_deployments_and_one_service_namespace_first():
    objects = m.desired_objects(app(process("web"), process("worker")))
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Namespace", "paas-shop"),
        ("Secret", "config"),
        ("Deployment", "web"),
        ("Deployment", "worker"),
        ("Service", "web"),
    ]


def test_an_app_without_web_gets_no_service():
    objects = m.desired_objects(app(process("worker"), process("clock")))
    assert by_kind(objects, "Service") == []
    assert len(by_kind(objects, "Deployment")) == 2


def test_an_autoscaled_process_gets_an_hpa_and_no_replicas():
    web = process("web", autoscale=(2, 10, 70))
    worker = process("worker", quantity=3)
    objects = m.desired_objects(app(web, worker))
    deployments = {d["metadata"]["name"]: d for d in by_kind(objects, "Deployment")}
    assert "replicas" not in deployments["web"]["spec"]
    assert deployments["worker"]["spec"]["replicas"] == 3
    hpas = by_kind(objects, "HorizontalPodAutoscaler")
    assert [h["metadata"]["name"] for h in hpas] == ["web"]


def test_every_object_carries_the_ownership_labels():
    spec = app(process("web", autoscale=(1, 3, 80)), process("worker"))
    objects = m.desired_objects(spec)
    assert {o["kind"] for o in objects} == {
        "Namespace",
        "Secret",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Service",
    }
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels[m.MANAGED_BY] == "paas", obj["kind"]
        assert labels["app.kubernetes.io/managed-by"] == "paas"
        assert labels["paas.dev/app"] == "shop"
        assert labels["paas.dev/app-uid"] == spec.uid


def test_namespaced_objects_live_in_the_app_namespace():
    objects = m.desired_objects(app(process("web", autoscale=(1, 3, 80))))
    for obj in objects[1:]:
        assert obj["metadata"]["namespace"] == "paas-shop", obj["kind"]
    assert "namespace" not in objects[0]["metadata"]


# Deployment.


def test_web_gets_port_env_and_container_port_5000():
    web = m.deployment(app(process("web")), process("web"))
    assert env(web)["PORT"] == "5000"
    assert container(web)["env"][0] == {"name": "PORT", "value": "5000"}
    assert container(web)["ports"] == [{"name": "web", "containerPort": 5000}]


def test_worker_gets_no_port_env_and_no_container_port():
    worker = m.deployment(app(process("worker")), process("worker"))
    assert "PORT" not in env(worker)
    assert "ports" not in container(worker)


def test_deployment_env_names_the_app_process_and_release():
    worker = m.deployment(app(process("worker")), process("worker"))
    assert env(worker) == {
        "PAAS_APP": "shop",
        "PAAS_PROCESS_TYPE": "worker",
        "PAAS_RELEASE_VERSION": "v7",
    }
    assert container(worker)["envFrom"] == [{"secretRef": {"name": "config"}}]


def test_deployment_container_resources_use_canonical_quantities():
    worker = process(
        "worker",
        cpu_request_millicores=500,
        cpu_limit_millicores=2000,
        memory_request_mib=2560,
        memory_limit_mib=4096,
    )
    resources = container(m.deployment(app(worker), worker))["resources"]
    assert resources == {
        "requests": {"cpu": "500m", "memory": "2560Mi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    }


def test_a_command_runs_through_a_shell_and_no_command_keeps_the_image_default():
    with_command = process("web", command="gunicorn app:app --bind 0.0.0.0:$PORT")
    d = m.deployment(app(with_command), with_command)
    assert container(d)["command"] == ["/bin/sh", "-c", "gunicorn app:app --bind 0.0.0.0:$PORT"]
    assert "args" not in container(d)
    without = m.deployment(app(process("web")), process("web"))
    assert "command" not in container(without)


def test_deployment_identity_selector_and_template_labels():
    spec = app(process("worker"))
    d = m.deployment(spec, process("worker"))
    assert d["apiVersion"] == "apps/v1"
    assert d["metadata"]["name"] == "worker"
    assert d["metadata"]["labels"][m.PROCESS_LABEL] == "worker"
    selector = d["spec"]["selector"]["matchLabels"]
    # The app's uid, never its name: a rename keeps the Deployment (its selector is immutable).
    assert selector == {"paas.dev/app-uid": UID, "paas.dev/process-type": "worker"}
    template_labels = d["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= template_labels.items()
    assert template_labels[m.RELEASE_LABEL] == "7"
    assert container(d)["name"] == "worker"
    assert container(d)["image"] == spec.image


def test_deployment_rolling_update_strategy_and_deadline():
    worker = process("worker", max_surge="1", max_unavailable="25%")
    spec = m.deployment(app(worker), worker)["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"},
    }
    assert spec["progressDeadlineSeconds"] == 600
    assert spec["template"]["spec"]["enableServiceLinks"] is False


def test_default_strategy_surges_a_quarter_and_keeps_every_dyno():
    rolling = m.deployment(app(process("web")), process("web"))["spec"]["strategy"]
    assert rolling["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 0}


def test_restarted_at_is_annotated_only_when_set():
    plain = m.deployment(app(process("web")), process("web"))
    assert m.RESTARTED_AT not in plain["spec"]["template"]["metadata"]["annotations"]
    restarted = process("web", restarted_at="2025-01-02T03:04:05Z")
    d = m.deployment(app(restarted), restarted)
    annotations = d["spec"]["template"]["metadata"]["annotations"]
    assert annotations[m.RESTARTED_AT] == "2025-01-02T03:04:05Z"
    assert m.CONFIG_HASH in annotations


def test_the_same_spec_gives_equal_objects():
    spec = app(process("web", autoscale=(1, 4, 60)), process("worker"))
    assert m.desired_objects(spec) == m.desired_objects(spec)


# Probes.


def test_no_healthcheck_means_no_probes():
    c = container(m.deployment(app(process("web")), process("web")))
    assert "readinessProbe" not in c
    assert "livenessProbe" not in c


def test_http_healthcheck_probes_the_path_on_the_web_port():
    check = HealthCheckSpec(kind="http", path="/health", initial_delay=5, timeout=3)
    web = process("web", healthcheck=check)
    c = container(m.deployment(app(web), web))
    assert c["readinessProbe"] == {
        "httpGet": {"path": "/health", "port": 5000},
        "initialDelaySeconds": 5,
        "timeoutSeconds": 3,
        "periodSeconds": 10,
        "failureThreshold": 3,
    }
    assert c["livenessProbe"] == c["readinessProbe"] | {"failureThreshold": 6}


def test_http_healthcheck_with_an_empty_path_probes_the_root():
    web = process("web", healthcheck=HealthCheckSpec(kind="http", path=""))
    c = container(m.deployment(app(web), web))
    assert c["readinessProbe"]["httpGet"]["path"] == "/"


def test_tcp_healthcheck_opens_the_web_port():
    web = process("web", healthcheck=HealthCheckSpec(kind="tcp"))
    c = container(m.deployment(app(web), web))
    assert c["readinessProbe"]["tcpSocket"] == {"port": 5000}
    assert "httpGet" not in c["readinessProbe"]
    assert c["livenessProbe"]["failureThreshold"] > c["readinessProbe"]["failureThreshold"]


def test_command_healthcheck_runs_through_a_shell():
    check = HealthCheckSpec(kind="command", command="test -f /tmp/ok")
    worker = process("worker", healthcheck=check)
    c = container(m.deployment(app(worker), worker))
    assert c["readinessProbe"]["exec"] == {"command": ["/bin/sh", "-c", "test -f /tmp/ok"]}
    assert c["livenessProbe"]["exec"] == c["readinessProbe"]["exec"]
    assert c["readinessProbe"]["timeoutSeconds"] == 5
    assert c["readinessProbe"]["initialDelaySeconds"] == 0


# Service, autoscaler, secret.


def test_web_service_routes_port_80_to_the_web_dynos():
    service = m.web_service(app(process("web")))
    assert service["apiVersion"] == "v1"
    assert service["metadata"]["name"] == "web"
    assert service["metadata"]["labels"][m.PROCESS_LABEL] == "web"
    assert service["spec"] == {
        "selector": {"paas.dev/app-uid": UID, "paas.dev/process-type": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": 5000}],
    }


def test_web_service_selector_matches_the_web_pod_template():
    spec = app(process("web"))
    selector = m.web_service(spec)["spec"]["selector"]
    pod_labels = m.deployment(spec, process("web"))["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()


def test_autoscaler_targets_the_deployment_with_bounds_and_cpu_target():
    web = process("web", autoscale=(2, 8, 65))
    hpa = m.autoscaler(app(web), web)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["metadata"]["name"] == "web"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
    }
    assert hpa["spec"]["minReplicas"] == 2
    assert hpa["spec"]["maxReplicas"] == 8
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 65},
            },
        }
    ]


def test_autoscaler_refuses_a_process_without_autoscaling():
    with pytest.raises(AssertionError):
        m.autoscaler(app(process("web")), process("web"))


def test_config_secret_holds_base64_values_sorted_by_key():
    secret = m.config_secret(app(config={"ZED": "last", "API_KEY": "s3cr=t", "EMPTY": ""}))
    assert secret["metadata"]["name"] == "config"
    assert secret["type"] == "Opaque"
    assert list(secret["data"]) == ["API_KEY", "EMPTY", "ZED"]
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == {"ZED": "last", "API_KEY": "s3cr=t", "EMPTY": ""}
    assert secret["data"]["API_KEY"] == "czNjcj10"


def test_config_secret_encodes_unicode_as_utf8():
    secret = m.config_secret(app(config={"GREETING": "héllo ✓"}))
    assert base64.b64decode(secret["data"]["GREETING"]).decode("utf-8") == "héllo ✓"


def test_config_secret_without_config_has_empty_data():
    assert m.config_secret(app(config={}))["data"] == {}


def test_namespace_object():
    ns = m.namespace(app())
    assert ns == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "paas-shop",
            "labels": m.labels(app())
            | {
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/enforce-version": "latest",
            },
        },
    }
    assert m.PROCESS_LABEL not in ns["metadata"]["labels"]


def test_an_app_that_opts_into_restricted_pod_security_runs_no_dyno_as_root():
    web = process("web")
    restricted = app(web, restricted=True)
    labels = m.namespace(restricted)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    pod = m.deployment(restricted, web)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (
        "runAsNonRoot"
        not in m.deployment(app(web), web)["spec"]["template"]["spec"]["securityContext"]
    )


def test_every_dyno_is_confined_whatever_its_image_asks():
    """No privilege escalation, no capability, the runtime's seccomp profile, no API token:
    before, a dyno ran with what its image asked and could read its ServiceAccount's token."""
    web = process("web")
    pods = [
        m.deployment(app(web), web)["spec"]["template"]["spec"],
        m.one_off_pod(app(web), m.RunSpec(name="run-1", number=1, command="sh", process=web))[
            "spec"
        ],
    ]
    for pod in pods:
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
        (container,) = pod["containers"]
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        }


def test_placement_goes_on_every_pod_template_and_is_absent_when_unset():
    placed = app(
        process("web"),
        process("worker"),
        node_selector=(("paas.dev/node", "real"),),
        tolerations=(
            ("paas.dev/node", "Equal", "real", "NoSchedule"),
            ("spot", "Exists", "", "NoExecute"),
        ),
    )
    run = m.RunSpec(name="run-1", number=1, command="bash", process=process("run"))
    pods = [d["spec"]["template"]["spec"] for d in by_kind(m.desired_objects(placed), "Deployment")]
    pods.append(m.one_off_pod(placed, run)["spec"])
    for pod in pods:
        assert pod["nodeSelector"] == {"paas.dev/node": "real"}
        assert pod["tolerations"] == [
            {"key": "paas.dev/node", "operator": "Equal", "effect": "NoSchedule", "value": "real"},
            {"key": "spot", "operator": "Exists", "effect": "NoExecute"},
        ]
    unplaced = by_kind(m.desired_objects(app(process("web"))), "Deployment")[0]
    assert "nodeSelector" not in unplaced["spec"]["template"]["spec"]
    assert "tolerations" not in unplaced["spec"]["template"]["spec"]


def test_registry_logins_become_one_dockerconfigjson_secret_that_every_pod_names():
    private = app(
        process("web"),
        process("worker"),
        registries=(("ghcr.io", "bot", "t0ken"), ("registry.example.com:5000", "ci", "pass:word")),
    )
    objects = m.desired_objects(private)
    (secret,) = [s for s in by_kind(objects, "Secret") if s["type"] != "Opaque"]
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert secret["metadata"]["name"] == "registry-logins"
    assert secret["metadata"]["labels"][m.APP_UID_LABEL] == private.uid
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    assert config == {
        "auths": {
            "ghcr.io": {"username": "bot", "password": "t0ken", "auth": "Ym90OnQwa2Vu"},
            "registry.example.com:5000": {
                "username": "ci",
                "password": "pass:word",
                "auth": base64.b64encode(b"ci:pass:word").decode(),
            },
        }
    }
    run = m.RunSpec(name="run-1", number=1, command="bash", process=process("run"))
    pods = [d["spec"]["template"]["spec"] for d in by_kind(objects, "Deployment")]
    pods.append(m.one_off_pod(private, run)["spec"])
    for pod in pods:
        assert pod["imagePullSecrets"] == [{"name": "registry-logins"}]


def test_an_app_without_registry_logins_has_no_registry_secret_and_no_pull_secrets():
    objects = m.desired_objects(app(process("web")))
    assert [s["metadata"]["name"] for s in by_kind(objects, "Secret")] == ["config"]
    assert "imagePullSecrets" not in by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]


@pytest.mark.parametrize("registries", [(), (("ghcr.io", "bot", "t0ken"),)])
def test_secret_names_are_the_names_of_the_secrets_desired_objects_makes(registries):
    spec = app(process("web"), registries=registries)
    made = [s["metadata"]["name"] for s in by_kind(m.desired_objects(spec), "Secret")]
    assert m.secret_names(spec) == made


# Features and renames.


def test_without_preboot_the_old_web_dynos_stop_first_and_other_types_still_roll():
    spec = app(process("web"), process("worker"), preboot=False)
    assert m.deployment(spec, process("web"))["spec"]["strategy"] == {"type": "Recreate"}
    rolling = m.deployment(spec, process("worker"))["spec"]["strategy"]
    assert rolling["type"] == "RollingUpdate"
    with_preboot = m.deployment(app(process("web")), process("web"))["spec"]["strategy"]
    assert with_preboot["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 0}


def test_runtime_dyno_metadata_gives_every_dyno_herokus_variables():
    spec = app(process("web"), dyno_metadata=True)
    env = {e["name"]: e for e in container(m.deployment(spec, process("web")))["env"]}
    assert env["HEROKU_APP_NAME"]["value"] == "shop"
    assert env["HEROKU_APP_ID"]["value"] == UID
    assert env["HEROKU_RELEASE_VERSION"]["value"] == "v7"
    assert env["HEROKU_DYNO_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.uid"
    run = m.RunSpec(name="run-1", number=1, command="bash", process=process("run"))
    one_off = m.one_off_pod(spec, run)["spec"]["containers"][0]["env"]
    assert "HEROKU_DYNO_ID" in {e["name"] for e in one_off}
    plain = container(m.deployment(app(process("web")), process("web")))["env"]
    assert not any(e["name"].startswith("HEROKU_") for e in plain)


def test_a_renamed_app_keeps_the_name_of_every_object():
    before = app(process("web"), process("worker"), registries=(("r.example", "u", "p"),))
    after = app(
        process("web"), process("worker"), registries=(("r.example", "u", "p"),), name="till"
    )
    assert [key(o) for o in m.desired_objects(before)] == [key(o) for o in m.desired_objects(after)]
    for process_name in ("web", "worker"):
        old, new = (m.deployment(s, process(process_name)) for s in (before, after))
        assert old["spec"]["selector"] == new["spec"]["selector"]
