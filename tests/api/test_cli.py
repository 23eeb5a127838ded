"""The unmodified official heroku CLI against a live server, the real Celery worker, the watcher
and the local cluster: each command's output, and what the cluster then holds."""

from __future__ import annotations

import base64
import json
import os
import pty
import select
import subprocess
import uuid
from typing import Any

import pytest
from kubernetes import client

from apps.platform.models import App, Operation
from tests.api.conftest import IMAGE, record
from tests.helpers import wait_until
from tests.kwok import append_log_line, attach_log_file

pytestmark = pytest.mark.django_db(transaction=True)


def deployment(kube_api: client.ApiClient, app: App, process: str) -> Any:
    return client.AppsV1Api(kube_api).read_namespaced_deployment(process, app.namespace)


def ready(kube_api: client.ApiClient, app: App, process: str = "web") -> int:
    try:
        return deployment(kube_api, app, process).status.ready_replicas or 0
    except client.ApiException:
        return -1


def interactive(heroku: Any, *args: str, answers: list[tuple[str, str]]) -> str:
    """Runs the CLI on a terminal, answering each prompt as it appears (its password prompt
    reads from a TTY only)."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        [heroku.executable, *args],
        env=heroku.env,
        cwd=heroku.home,
        stdin=child,
        stdout=child,
        stderr=child,
        start_new_session=True,
    )
    os.close(child)
    seen, pending = "", list(answers)
    try:
        while process.poll() is None or select.select([main], [], [], 0)[0]:
            if not select.select([main], [], [], 10)[0]:
                break
            try:
                seen += os.read(main, 4096).decode(errors="replace")
            except OSError:
                break
            if pending and pending[0][0] in seen.rsplit("\n", 1)[-1]:
                os.write(main, (pending.pop(0)[1] + "\r").encode())
    finally:
        os.close(main)
        process.wait(timeout=30)
    record(args, ok=process.returncode == 0)
    return seen


def test_login_with_email_and_password(heroku, bob, live_server):
    output = interactive(
        heroku,
        "login",
        "-i",
        answers=[("Email", "bob@example.org"), ("Password", "bob password 1")],
    )
    assert "Logged in as bob@example.org" in output, output
    netrc = (heroku.home / ".netrc").read_text()
    host = live_server.url.removeprefix("http://")
    assert f"machine {host}" in netrc
    assert heroku("auth:whoami").stdout.strip() == "bob@example.org"


def test_apps_create_info_and_destroy(heroku, token, kube_api, celery_worker, kube):
    name = f"cli-{uuid.uuid4().hex[:6]}"
    created = heroku("apps:create", name, token=token)
    assert f"Creating {name}... done" in created.stderr
    listing = heroku("apps", token=token).stdout
    assert name in listing
    info = heroku("apps:info", "-a", name, token=token).stdout
    assert f"=== {name}" in info
    app = App.objects.get(name=name)
    wait_until(
        lambda: client.CoreV1Api(kube_api).read_namespace(app.namespace).status.phase == "Active",
        what="the app's namespace on the cluster",
    )
    destroyed = heroku("apps:destroy", "-a", name, "--confirm", name, token=token)
    assert f"Destroying {name} (including all add-ons)... done" in destroyed.stderr
    assert not App.objects.filter(name=name).exists()

    def namespace_going() -> bool:
        try:
            found: Any = client.CoreV1Api(kube_api).read_namespace(app.namespace)
        except client.ApiException as error:
            return bool(error.status == 404)
        return bool(found.metadata.deletion_timestamp is not None)

    wait_until(namespace_going, what="the namespace to be deleted")


def test_ps_scale_restart_and_sizes(
    heroku, token, deployed, kube_api, celery_worker, observer_process
):
    name = deployed.name
    wait_until(lambda: ready(kube_api, deployed) == 1, timeout=60, what="web.1 Ready")
    wait_until(
        lambda: "web.1: up" in heroku("ps", "-a", name, token=token).stdout,
        timeout=30,
        what="heroku ps to show web.1 up",
    )
    scaled = heroku("ps:scale", "web=3", "worker=1:standard-2x", "-a", name, token=token)
    assert "now running web at 3:basic, worker at 1:standard-2x" in scaled.stderr
    wait_until(lambda: ready(kube_api, deployed) == 3, timeout=60, what="3 web dynos Ready")
    worker = deployment(kube_api, deployed, "worker")
    assert worker.spec.replicas == 1
    limits = worker.spec.template.spec.containers[0].resources.limits
    assert limits == {"cpu": "2", "memory": "1Gi"}
    formation = heroku("ps:scale", "-a", name, token=token).stdout
    assert "web=3:basic" in formation
    assert "worker=1:standard-2x" in formation
    relative = heroku("ps:scale", "web+1", "-a", name, token=token)
    assert relative.returncode == 0
    wait_until(lambda: deployment(kube_api, deployed, "web").spec.replicas == 4, what="web=4")
    wait_until(
        lambda: heroku("ps", "-a", name, token=token).stdout.count("web.") >= 4,
        timeout=60,
        what="heroku ps to list 4 web dynos",
    )

    before = deployment(kube_api, deployed, "web").spec.template.metadata.annotations or {}
    heroku("ps:restart", "--process-type", "web", "-a", name, token=token)
    wait_until(
        lambda: (
            (deployment(kube_api, deployed, "web").spec.template.metadata.annotations or {})
            != before
        ),
        what="the web Deployment's pod template to change for the restart",
    )
    heroku("ps:restart", "-a", name, token=token)
    refused = heroku("ps:scale", "web=2:gigantic", "-a", name, token=token, check=False)
    assert refused.returncode != 0
    assert "Unknown dyno size 'gigantic'" in refused.stderr
    assert deployment(kube_api, deployed, "web").spec.replicas == 4


def test_config_releases_and_rollback(heroku, token, deployed, kube_api, celery_worker):
    name = deployed.name
    assert heroku("config", "-a", name, token=token).stdout.strip().endswith("Config Vars")
    set_ = heroku("config:set", "GREETING=hello world", "-a", name, token=token)
    assert "Setting GREETING and restarting" in set_.stderr + set_.stdout
    assert ", v3" in set_.stderr + set_.stdout
    shown = heroku("config", "-a", name, token=token).stdout
    assert "GREETING: hello world" in shown
    secret = "config"

    def secret_keys() -> set[str]:
        try:
            found: Any = client.CoreV1Api(kube_api).read_namespaced_secret(
                secret, deployed.namespace
            )
        except client.ApiException:
            return set()
        return set(found.data or {})

    wait_until(lambda: "GREETING" in secret_keys(), what="GREETING in the cluster's Secret")
    heroku("config:unset", "GREETING", "-a", name, token=token)
    wait_until(lambda: "GREETING" not in secret_keys(), what="GREETING gone from the Secret")

    releases = heroku("releases", "-a", name, token=token).stdout
    assert "v4" in releases
    assert "Unset GREETING config vars" in releases
    assert "bob@example.org" in releases
    rolled = heroku("rollback", "v3", "-a", name, token=token)
    assert f"Rolling back {name} to v3... done, v5" in rolled.stderr
    wait_until(lambda: "GREETING" in secret_keys(), what="the rollback to restore GREETING")


def test_access_and_maintenance(heroku, token, deployed, kube_api, celery_worker, charlie):
    name = deployed.name
    added = heroku("access:add", "charlie@example.org", "-a", name, "-p", "deploy", token=token)
    assert "with deploy, view permissions" in added.stderr
    access = heroku("access", "-a", name, token=token).stdout
    assert "bob@example.org" in access
    assert "charlie@example.org" in access

    def selector() -> dict[str, str]:
        try:
            service: Any = client.CoreV1Api(kube_api).read_namespaced_service(
                "web", deployed.namespace
            )
        except client.ApiException:
            return {}
        return dict(service.spec.selector or {})

    wait_until(selector, what="the web Service")
    heroku("maintenance:on", "-a", name, token=token)
    assert heroku("maintenance", "-a", name, token=token).stdout.strip() == "on"
    wait_until(
        lambda: selector().get("paas.dev/maintenance") == "on",
        what="the Service to select no dyno in maintenance",
    )
    heroku("maintenance:off", "-a", name, token=token)
    assert heroku("maintenance", "-a", name, token=token).stdout.strip() == "off"
    wait_until(lambda: "paas.dev/maintenance" not in selector(), what="traffic back")


def test_logs_and_logs_tail(
    heroku, token, deployed, kube_api, pod_logs_dir, celery_worker, observer_process
):
    name = deployed.name
    wait_until(lambda: ready(kube_api, deployed) == 1, timeout=60, what="web.1 Ready")
    dyno = wait_until(
        lambda: deployed.dynos.filter(state="up").first(), timeout=30, what="web.1 up"
    )
    log_file = pod_logs_dir / f"{deployed.namespace}-{dyno.pod_name}.log"
    attach_log_file(kube_api, deployed.namespace, dyno.pod_name, log_file)
    append_log_line(log_file, "booted on port 5000")
    recent = wait_until(
        lambda: (
            (out := heroku("logs", "-a", name, token=token).stdout)
            and "booted on port 5000" in out
            and out
        ),
        timeout=30,
        what="heroku logs to show the pod's line",
    )
    assert f"app[{dyno.name}]: booted on port 5000" in recent
    assert f"paas[api]: Deployed {IMAGE} as v2 by user bob" in recent

    with heroku.follow("logs", "--tail", "-a", name, token=token) as lines:
        wait_until(
            lambda: any("booted on port 5000" in line for line in lines),
            timeout=30,
            what="the tail to start with the recent lines",
        )
        append_log_line(log_file, "request handled in 12ms")
        wait_until(
            lambda: any("request handled in 12ms" in line for line in lines),
            timeout=15,
            what="a new line in heroku logs --tail",
        )
        heroku("ps:scale", "web=2", "-a", name, token=token)
        wait_until(
            lambda: any("Scaled to web@2:basic" in line for line in lines),
            timeout=15,
            what="the scale event in the tail",
        )


def test_run_detached_starts_a_one_off_dyno(
    heroku, token, deployed, kube_api, celery_worker, observer_process
):
    name = deployed.name
    started = heroku(
        "run:detached", "rake db:migrate", "--env", "TOKEN=s3cr3t", "-a", name, token=token
    )
    output = started.stderr + started.stdout
    assert f"Running rake db:migrate on {name}... done, run." in output, output
    dyno = output.split("done, ")[1].split()[0]
    pod_name = f"run-{dyno.split('.')[1]}"

    def pod() -> Any:
        try:
            return client.CoreV1Api(kube_api).read_namespaced_pod(pod_name, deployed.namespace)
        except client.ApiException:
            return None

    found = wait_until(pod, timeout=30, what="the one-off dyno's pod")
    container = found.spec.containers[0]
    assert container.command == ["/bin/sh", "-c", "rake db:migrate"]
    assert container.image == IMAGE
    assert found.spec.restart_policy == "Never"
    # The variable given to the run is in a Secret the pod owns, not in the pod's spec (which
    # anyone who may list pods reads), and no longer in the database.
    assert "s3cr3t" not in json.dumps(client.ApiClient().sanitize_for_serialization(found))
    assert {"secretRef": {"name": pod_name}} in [
        client.ApiClient().sanitize_for_serialization(e) for e in container.env_from
    ]

    def owned_secret() -> Any:
        secret: Any = client.CoreV1Api(kube_api).read_namespaced_secret(
            pod_name, deployed.namespace
        )
        return secret if secret.metadata.owner_references else None

    secret = wait_until(owned_secret, what="the run's Secret owned by its pod")
    assert base64.b64decode(secret.data["TOKEN"]) == b"s3cr3t"
    owners = [(o.kind, o.uid) for o in secret.metadata.owner_references]
    assert owners == [("Pod", found.metadata.uid)]
    wait_until(
        lambda: "s3cr3t" not in json.dumps(list(Operation.objects.values_list("run", flat=True))),
        what="the run's variables gone from the database",
    )
    wait_until(
        lambda: dyno in heroku("ps", "-a", name, token=token).stdout,
        timeout=30,
        what=f"heroku ps to list {dyno}",
    )
    attached = heroku("run", "bash", "-a", name, token=token, check=False)
    assert attached.returncode != 0
    assert "Error ID: not_supported" in attached.stderr
    assert "Attached one-off dynos (heroku run) are not served here" in attached.stderr


def test_run_passes_input_and_output_through_whole(
    heroku, token, deployed, celery_worker, rendezvous
):
    result = heroku(
        "run",
        "--exit-code",
        "--no-tty",
        "-a",
        deployed.name,
        "--",
        "read line; echo \"got $line\"; printf 'caf\\303\\251 \\342\\234\\223\\n'",
        token=token,
        input="über input\n",
        env={"NODE_EXTRA_CA_CERTS": str(rendezvous)},
    )
    # Characters of more than one byte arrive whole in both directions.
    assert result.stdout.splitlines() == ["got über input", "café ✓"], result.stderr


def test_run_attaches_to_a_one_off_dyno(
    heroku, token, deployed, kube_api, celery_worker, rendezvous
):
    name = deployed.name
    result = heroku(
        "run",
        "--exit-code",
        "-a",
        name,
        "--",
        "echo hello from $(echo dyno); (exit 3)",
        token=token,
        check=False,
        env={"NODE_EXTRA_CA_CERTS": str(rendezvous)},
    )
    assert "hello from dyno" in result.stdout, result.stderr
    assert result.returncode == 3, result.stderr
    assert f"Running echo hello from $(echo dyno); (exit 3) on {name}... up, run." in result.stderr

    def one_off_pods() -> list[str]:
        pods: Any = client.CoreV1Api(kube_api).list_namespaced_pod(
            deployed.namespace, label_selector="paas.dev/process-type=run"
        )
        return [p.metadata.name for p in pods.items if p.metadata.deletion_timestamp is None]

    wait_until(lambda: not one_off_pods(), what="the one-off dyno to go when its session ends")
