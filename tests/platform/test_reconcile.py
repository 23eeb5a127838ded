"""The reconciler against the real local cluster: services change the records, a reconcile makes
the cluster hold exactly the manifests expected, and kwok's pods reach Ready."""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from kubernetes import client

from apps.kube.adapter import Cluster
from apps.kube.manifests import CONFIG_HASH, RESTARTED_AT, Manifest
from apps.platform.controller.observe import observe_app
from apps.platform.controller.reconcile import reconcile_app, teardown
from apps.platform.controller.resync import resync
from apps.platform.models import Activity, App, Dyno, DynoSize, Operation, ProcessStatus
from apps.platform.services import (
    ProcessChange,
    app_destroy,
    autoscale_update,
    config_update,
    dyno_restart,
    dyno_run,
    feature_set,
    formation_update,
    process_settings_update,
    release_deploy,
    release_rollback,
)
from tests.helpers import wait_until
from tests.platform.conftest import IMAGE, deployed


@pytest.fixture
def shop(alice, team):
    return deployed(alice, team, "shop")


def settled(app: App, kube: Cluster) -> list[Operation]:
    """Observes until no operation of the app is active, and returns them all."""

    def probe() -> list[Operation]:
        observe_app(app, kube)
        operations = list(app.operations.all())
        return [] if any(o.status in Operation.ACTIVE for o in operations) else operations

    return wait_until(probe, timeout=60, interval=0.3, what=f"{app.name} to settle")


def deployment(kube: Cluster, app: App, process: str) -> Manifest:
    [found] = kube.list_owned(
        "Deployment", namespace=app.namespace, selector=f"paas.dev/process-type={process}"
    )
    return found


def writes(kube: Cluster) -> int:
    return sum(n for (verb, _), n in kube.requests.items() if verb in ("apply", "delete"))


def test_reconcile_creates_exactly_the_expected_objects(shop, kube):
    assert reconcile_app(shop.pk, kube=kube)

    objects = {
        (o["kind"], o["metadata"]["name"])
        for kind in ("Namespace", "Secret", "Service", "Deployment", "HorizontalPodAutoscaler")
        for o in kube.list_owned(kind, selector=f"paas.dev/app={shop.name}")
    }
    assert objects == {
        ("Namespace", shop.namespace),
        ("Secret", "config"),
        ("Service", "web"),
        ("Deployment", "web"),
        ("Deployment", "worker"),
    }
    web = deployment(kube, shop, "web")
    assert web["spec"]["replicas"] == 2
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == IMAGE
    assert container["command"] == ["/bin/sh", "-c", "bin/web --port $PORT"]
    assert container["envFrom"] == [{"secretRef": {"name": "config"}}]
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "512Mi"}
    assert {"name": "PORT", "value": "5000"} in container["env"]
    assert deployment(kube, shop, "worker")["spec"]["replicas"] == 1


def test_operations_succeed_once_every_dyno_is_ready(shop, kube):
    reconcile_app(shop.pk, kube=kube)

    operations = settled(shop, kube)

    assert {o.status for o in operations} <= {"succeeded", "superseded"}
    assert operations[0].status == "succeeded"
    web = ProcessStatus.objects.get(app=shop, name="web")
    assert (web.desired, web.updated, web.ready, web.available) == (2, 2, 2, 2)
    assert sorted(d.name for d in Dyno.objects.filter(app=shop)) == ["web.1", "web.2", "worker.1"]
    assert all(d.state == "up" and d.ready for d in Dyno.objects.filter(app=shop))


def test_reconciling_again_sends_no_write_request(shop, kube, kube_api):
    reconcile_app(shop.pk, kube=kube)
    settled(shop, kube)

    again = Cluster(kube_api, installation=settings.INSTALLATION_ID)
    reconcile_app(shop.pk, kube=again)

    # Nothing changed since the last apply, so not even a read is needed.
    assert sum(again.requests.values()) == 0


def test_config_change_rolls_the_dynos_with_the_new_secret(shop, alice, kube):
    reconcile_app(shop.pk, kube=kube)
    before = deployment(kube, shop, "web")

    config_update(actor=alice, app=shop, changes={"DATABASE_URL": "postgres://db/shop"})
    reconcile_app(shop.pk, kube=kube)

    after = deployment(kube, shop, "web")
    [secret] = kube.list_owned("Secret", namespace=shop.namespace)
    assert base64.b64decode(secret["data"]["DATABASE_URL"]) == b"postgres://db/shop"
    hashes = [
        d["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH] for d in (before, after)
    ]
    assert hashes[0] != hashes[1]
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert settled(shop, kube)[0].status == "succeeded"


def test_unset_removes_the_key_from_the_secret(shop, alice, kube):
    config_update(actor=alice, app=shop, changes={"A": "1", "B": "2"})
    reconcile_app(shop.pk, kube=kube)

    config_update(actor=alice, app=shop, changes={"A": None})
    reconcile_app(shop.pk, kube=kube)

    [secret] = kube.list_owned("Secret", namespace=shop.namespace)
    assert sorted(secret["data"]) == ["B"]


def test_scaling_changes_replicas_and_size(shop, alice, kube):
    reconcile_app(shop.pk, kube=kube)

    formation_update(
        actor=alice, app=shop, changes=[ProcessChange("web", quantity=4, size="standard-2x")]
    )
    reconcile_app(shop.pk, kube=kube)

    web = deployment(kube, shop, "web")
    assert web["spec"]["replicas"] == 4
    resources = web["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }
    settled(shop, kube)
    assert Dyno.objects.filter(app=shop, process_type="web", ready=True).count() == 4


def test_rollback_restores_image_and_config_keeping_formation(shop, alice, kube):
    config_update(actor=alice, app=shop, changes={"MODE": "old"})
    good = shop.releases.first()
    release_deploy(actor=alice, app=shop, image="registry.example.com/shop:v2")
    config_update(actor=alice, app=shop, changes={"MODE": "new"})
    formation_update(actor=alice, app=shop, changes=[ProcessChange("web", quantity=3)])

    release_rollback(actor=alice, app=shop, version=good.version)
    reconcile_app(shop.pk, kube=kube)

    web = deployment(kube, shop, "web")
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    assert web["spec"]["replicas"] == 3
    [secret] = kube.list_owned("Secret", namespace=shop.namespace)
    assert base64.b64decode(secret["data"]["MODE"]) == b"old"


def test_restarting_a_process_type_rolls_it_and_leaves_the_others(shop, alice, kube):
    reconcile_app(shop.pk, kube=kube)
    settled(shop, kube)
    worker_generation = deployment(kube, shop, "worker")["metadata"]["generation"]

    dyno_restart(actor=alice, app=shop, target="web")
    reconcile_app(shop.pk, kube=kube)

    web = deployment(kube, shop, "web")
    assert RESTARTED_AT in web["spec"]["template"]["metadata"]["annotations"]
    assert deployment(kube, shop, "worker")["metadata"]["generation"] == worker_generation
    assert settled(shop, kube)[0].status == "succeeded"


def test_restarting_one_dyno_replaces_only_its_pod(shop, alice, kube):
    reconcile_app(shop.pk, kube=kube)
    settled(shop, kube)
    web1 = Dyno.objects.get(app=shop, process_type="web", number=1)
    web2 = Dyno.objects.get(app=shop, process_type="web", number=2)

    restart = dyno_restart(actor=alice, app=shop, target="web.2")
    # A later change supersedes queued changes of state, never the restart itself.
    formation_update(actor=alice, app=shop, changes=[ProcessChange("worker", quantity=2)])
    restart.refresh_from_db()
    assert restart.status == "queued"
    reconcile_app(shop.pk, kube=kube)

    def replaced() -> bool:
        observe_app(shop, kube)
        pods = {d.pod_name for d in Dyno.objects.filter(app=shop, process_type="web", ready=True)}
        gone = not Dyno.objects.filter(pod_uid=web2.pod_uid).exists()
        return len(pods) == 2 and web2.pod_name not in pods and gone

    wait_until(replaced, timeout=30, interval=0.3, what="web.2 to be replaced")
    assert Dyno.objects.get(pod_uid=web1.pod_uid).number == 1
    assert Dyno.objects.get(app=shop, process_type="web", number=2).pod_uid != web2.pod_uid


def test_the_newest_queued_change_carries_the_older_ones(shop, alice, kube):
    reconcile_app(shop.pk, kube=kube)
    settled(shop, kube)
    older = formation_update(actor=alice, app=shop, changes=[ProcessChange("web", quantity=3)])
    restart = dyno_restart(actor=alice, app=shop, target="worker.1")
    newest = formation_update(actor=alice, app=shop, changes=[ProcessChange("web", quantity=4)])

    reconcile_app(shop.pk, kube=kube)

    assert deployment(kube, shop, "web")["spec"]["replicas"] == 4
    statuses = {o.pk: o.status for o in Operation.objects.filter(app=shop)}
    assert statuses[older.pk] == "superseded"
    # Restarting a dyno is an action, carried out; the newest change of state carried the older.
    assert {statuses[restart.pk], statuses[newest.pk]} <= {"rolling_out", "succeeded"}


def test_restarting_an_unknown_dyno_is_refused(shop, alice):
    with pytest.raises(ValidationError, match=r"no dyno web\.9"):
        dyno_restart(actor=alice, app=shop, target="web.9")


def test_autoscaling_hands_the_count_to_an_hpa_and_back(shop, alice, kube):
    reconcile_app(shop.pk, kube=kube)

    autoscale_update(actor=alice, app=shop, process="web", minimum=3, maximum=6)
    reconcile_app(shop.pk, kube=kube)

    [hpa] = kube.list_owned("HorizontalPodAutoscaler", namespace=shop.namespace)
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 6)
    # The count never drops to the API default of 1 on the way: it was handed over, then the
    # HPA raises it to its minimum.
    assert deployment(kube, shop, "web")["spec"]["replicas"] in (2, 3)
    wait_until(
        lambda: deployment(kube, shop, "web")["spec"]["replicas"] == 3,
        timeout=60,
        what="the HPA to scale web to its minimum",
    )
    with pytest.raises(ValidationError, match="autoscaled between 3 and 6"):
        formation_update(actor=alice, app=shop, changes=[ProcessChange("web", quantity=1)])

    autoscale_update(actor=alice, app=shop, process="web", minimum=None, maximum=None)
    reconcile_app(shop.pk, kube=kube)

    assert kube.list_owned("HorizontalPodAutoscaler", namespace=shop.namespace) == []
    assert deployment(kube, shop, "web")["spec"]["replicas"] == 3


def test_health_checks_and_rolling_update_settings_reach_the_deployment(shop, alice, kube):
    process_settings_update(
        actor=alice,
        app=shop,
        process="web",
        healthcheck="http",
        healthcheck_path="/health",
        initial_delay=5,
        max_surge="1",
        max_unavailable="0",
    )
    reconcile_app(shop.pk, kube=kube)

    web = deployment(kube, shop, "web")
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {
        "path": "/health",
        "port": 5000,
        "scheme": "HTTP",
    }
    assert container["livenessProbe"]["initialDelaySeconds"] == 5
    assert web["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert (
        "readinessProbe"
        not in deployment(kube, shop, "worker")["spec"]["template"]["spec"]["containers"][0]
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"healthcheck": "http", "healthcheck_path": "health"}, "must start with /"),
        ({"healthcheck": "command", "healthcheck_command": " "}, "needs a command"),
        ({"healthcheck": "ping"}, "Unknown health check"),
        ({"max_surge": "0", "max_unavailable": "0"}, "cannot both be 0"),
        ({"max_surge": "many"}, "number of dynos"),
    ],
)
def test_bad_process_settings_are_refused_and_nothing_changes(shop, alice, settings, message):
    with pytest.raises(ValidationError, match=message):
        process_settings_update(actor=alice, app=shop, process="web", **settings)
    web = shop.process_types.get(name="web")
    assert (web.healthcheck, web.max_surge) == ("none", "25%")


def test_unschedulable_dynos_fail_the_operation_with_the_reason(shop, alice, kube):
    DynoSize.objects.create(
        name="enormous",
        cpu_request_millicores=64000,
        cpu_limit_millicores=64000,
        memory_request_mib=1024,
        memory_limit_mib=1024,
    )
    reconcile_app(shop.pk, kube=kube)
    settled(shop, kube)

    operation = formation_update(
        actor=alice, app=shop, changes=[ProcessChange("worker", size="enormous")]
    )
    reconcile_app(shop.pk, kube=kube)

    settled(shop, kube)
    operation.refresh_from_db()
    assert operation.status == "failed"
    assert operation.error.startswith("worker.")
    assert "Not schedulable" in operation.error
    assert "Insufficient cpu" in operation.error


def test_resync_repairs_drift_made_by_hand_and_records_it(shop, kube, kube_api):
    reconcile_app(shop.pk, kube=kube)
    apps_api = client.AppsV1Api(kube_api)
    apps_api.patch_namespaced_deployment_scale("web", shop.namespace, {"spec": {"replicas": 7}})
    client.CoreV1Api(kube_api).delete_namespaced_service("web", shop.namespace)

    report = resync(kube)

    assert shop.name in report.reconciled
    assert deployment(kube, shop, "web")["spec"]["replicas"] == 2
    assert kube.list_owned("Service", namespace=shop.namespace)
    repair = Activity.objects.get(app=shop, action="drift.repair")
    assert repair.before["changed"]["Deployment/web"] == [".spec.replicas"]
    assert repair.before["changed"]["Service/web"] == ["(missing)"]


def test_resync_of_a_converged_cluster_writes_nothing(shop, kube, kube_api):
    reconcile_app(shop.pk, kube=kube)
    settled(shop, kube)
    resync(kube)  # records what earlier tests' apps left as orphans

    again = Cluster(kube_api, installation=settings.INSTALLATION_ID)
    report = resync(again)

    assert report.reconciled == []
    assert writes(again) == 0
    # One LIST per kind, Secrets never among them: each app's is read in its turn (a GET).
    assert {kind: n for (verb, kind), n in again.requests.items() if verb == "list"} == {
        "Namespace": 1,
        "RoleBinding": 1,
        "Service": 1,
        "Deployment": 1,
        "HorizontalPodAutoscaler": 1,
    }
    assert {kind for (verb, kind) in again.requests if verb == "get"} <= {"Secret"}


def test_destroy_deletes_the_namespace(shop, alice, kube):
    reconcile_app(shop.pk, kube=kube)
    uid, namespace = str(shop.uid), shop.namespace

    app_destroy(actor=alice, app=shop)
    teardown(kube, uid)  # what the task does once the destroy commits

    def gone() -> bool:
        found = kube.list_owned("Namespace", selector=f"paas.dev/app-uid={uid}")
        return not found or found[0]["status"].get("phase") == "Terminating"

    wait_until(gone, timeout=30, what=f"{namespace} to be deleted")
    assert not App.objects.filter(uid=uid).exists()
    assert Activity.objects.filter(app_name=namespace.removeprefix("app-"), action="app.destroy")


def test_a_change_the_cluster_refuses_fails_its_operation_with_the_reason(shop, alice, kube):
    # A catalogue entry that slipped past validation: Kubernetes refuses a request above its
    # limit, and no retry can change that.
    DynoSize.objects.create(
        name="inverted",
        cpu_request_millicores=2000,
        cpu_limit_millicores=1000,
        memory_request_mib=512,
        memory_limit_mib=512,
    )
    reconcile_app(shop.pk, kube=kube)
    operation = formation_update(
        actor=alice, app=shop, changes=[ProcessChange("web", size="inverted")]
    )

    reconcile_app(shop.pk, kube=kube)

    operation.refresh_from_db()
    assert operation.status == "failed"
    assert operation.error.startswith("The cluster refused the change")
    assert "must be less than or equal to cpu limit" in operation.error
    assert (
        deployment(kube, shop, "web")["spec"]["template"]["spec"]["containers"][0]["resources"][
            "requests"
        ]["cpu"]
        == "100m"
    )


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("registry.example.com/unpullable:v2", "The image cannot be pulled"),
        ("registry.example.com/crashloop:v2", "The dyno crashes on start"),
    ],
)
def test_a_failing_release_is_explained_and_the_old_dynos_keep_serving(
    shop, alice, kube, image, reason
):
    reconcile_app(shop.pk, kube=kube)
    settled(shop, kube)

    release = release_deploy(actor=alice, app=shop, image=image)
    reconcile_app(shop.pk, kube=kube)

    operation = settled(shop, kube)[0]
    assert (operation.release, operation.status) == (release, "failed")
    assert reason in operation.error
    failing = Dyno.objects.filter(app=shop, release=release.version).exclude(reason="")
    assert {d.reason for d in failing} == {reason}
    # maxUnavailable 0: the previous release's dynos stay up while the new ones fail.
    assert Dyno.objects.filter(app=shop, process_type="web", ready=True).count() == 2


def test_the_api_server_refuses_a_privileged_pod_in_an_app_namespace(shop, kube, kube_api):
    """Pod Security Admission enforces baseline there: whoever holds a token that can create
    pods in the namespace still cannot run one privileged or on the host's network."""
    assert reconcile_app(shop.pk, kube=kube)
    labels = client.CoreV1Api(kube_api).read_namespace(shop.namespace).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    for container_security, pod_extra in (
        ({"privileged": True}, {}),
        ({}, {"hostNetwork": True}),
        ({"capabilities": {"add": ["SYS_ADMIN"]}}, {}),
    ):
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "hostile"},
            "spec": {
                "containers": [
                    {"name": "x", "image": IMAGE, "securityContext": container_security}
                ],
                **pod_extra,
            },
        }
        with pytest.raises(client.ApiException) as refused:
            client.CoreV1Api(kube_api).create_namespaced_pod(shop.namespace, pod)
        assert refused.value.status == 403
        assert "violates PodSecurity" in refused.value.body


def test_an_app_opted_into_restricted_pod_security_has_its_namespace_enforce_it(
    shop, alice, kube, kube_api
):
    feature_set(actor=alice, app=shop, name="restricted-pod-security", enable=True)
    assert reconcile_app(shop.pk, kube=kube)
    labels = client.CoreV1Api(kube_api).read_namespace(shop.namespace).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    web = deployment(kube, shop, "web")["spec"]["template"]["spec"]
    assert web["securityContext"]["runAsNonRoot"] is True
    root = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "as-root"},
        "spec": {"containers": [{"name": "x", "image": IMAGE}]},
    }
    with pytest.raises(client.ApiException) as refused:
        client.CoreV1Api(kube_api).create_namespaced_pod(shop.namespace, root)
    assert 'violates PodSecurity "restricted:latest"' in json.loads(refused.value.body)["message"]


def test_a_finished_one_off_dyno_is_deleted_a_while_after_it_ended(shop, alice, kube):
    """A finished one-off's pod stayed for good: it held its node's share, and every log tail
    started a thread a second to follow it."""
    assert reconcile_app(shop.pk, kube=kube)
    run = dyno_run(actor=alice, app=shop, command="rake db:migrate").run
    assert reconcile_app(shop.pk, kube=kube)
    wait_until(lambda: kube.read("Pod", shop.namespace, run["name"]), what="the one-off's pod")
    observe_app(shop, kube)
    dyno = Dyno.objects.get(app=shop, process_type="run")
    # As the watcher records it once the pod has finished (kwok's pods never do).
    Dyno.objects.filter(pk=dyno.pk).update(ended=timezone.now() - timedelta(minutes=4))
    assert resync(kube).ended == []  # its output stays readable a while
    Dyno.objects.filter(pk=dyno.pk).update(ended=timezone.now() - timedelta(minutes=6))
    assert resync(kube).ended == [f"{shop.name} run.{run['number']}"]
    gone = kube.read("Pod", shop.namespace, run["name"])
    assert gone is None or gone["metadata"].get("deletionTimestamp")


def _etcd_value(key: str) -> bytes:
    """What etcd itself holds under the key, read past the API server (as a backup of etcd,
    or anyone with its data directory, would read it)."""
    cluster_dir = Path(os.environ["KUBECONFIG"]).parent
    endpoint = re.search(r"--etcd-servers=(\S+)", (cluster_dir / "kwok.yaml").read_text())
    assert endpoint, "the API server's etcd endpoint"
    request = urllib.request.Request(
        f"{endpoint[1]}/v3/kv/range",
        data=json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        (found,) = json.load(response)["kvs"]
    return base64.b64decode(found["value"])


def test_etcd_holds_an_apps_config_secret_encrypted(shop, alice, kube):
    config_update(actor=alice, app=shop, changes={"API_TOKEN": "s3cr3t-in-etcd"})
    assert reconcile_app(shop.pk, kube=kube)
    stored = _etcd_value(f"/registry/secrets/{shop.namespace}/config")
    assert stored.startswith(b"k8s:enc:secretbox:v1:key1:")
    assert b"s3cr3t-in-etcd" not in stored
    secret = kube.read("Secret", shop.namespace, "config")
    assert secret is not None
    assert base64.b64decode(secret["data"]["API_TOKEN"]) == b"s3cr3t-in-etcd"
