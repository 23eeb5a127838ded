"""The unmodified heroku CLI against the sample app in real containers: `logs --tail` shows what
its processes print, `run` executes inside a container of its image with its config, and
`ps:restart web.1` replaces that dyno alone."""

from __future__ import annotations

import urllib.request
import uuid

import pytest

from apps.platform.models import Dyno
from tests.helpers import wait_until
from tests.node.conftest import START, deploy, ready_pods

pytestmark = pytest.mark.django_db(transaction=True)


def test_logs_tail_shows_the_real_stdout_of_the_dynos(heroku, token, api, node_worker, kube):
    app = deploy(api, f"logs-{uuid.uuid4().hex[:6]}", "v1", config={"SAMPLE_TICK_SECONDS": "1"})
    [pod] = wait_until(lambda: ready_pods(kube, app), timeout=START, what="web.1 Ready")
    with heroku.follow("logs", "--tail", "-a", app.name, token=token) as lines:
        wait_until(
            lambda: any("app[web.1]: tick release=" in line for line in lines),
            timeout=30,
            what="the web dyno's heartbeat in the tail",
        )
        urllib.request.urlopen(f"http://{pod['status']['podIP']}:5000/", timeout=5).close()
        wait_until(
            lambda: any("app[web.1]: request GET / 200" in line for line in lines),
            timeout=30,
            what="the request's log line in the tail",
        )


def test_run_executes_in_a_container_of_the_image_with_the_config_vars(
    heroku, token, api, node_worker, rendezvous
):
    app = deploy(api, f"run-{uuid.uuid4().hex[:6]}", "v2", config={"GREETING": "hej"})
    result = heroku(
        "run",
        "--exit-code",
        "--no-tty",
        "--env",
        "TOKEN=s3cr3t",
        "-a",
        app.name,
        "--",
        "cat /app/VERSION; echo greeting=$GREETING; hostname; echo token=$TOKEN; (exit 4)",
        token=token,
        exits=4,
        timeout=START,
        env={"NODE_EXTRA_CA_CERTS": str(rendezvous)},
    )
    lines = result.stdout.splitlines()
    # The image's own file and the app's config: this ran in the dyno, not on this machine.
    assert lines[0] == "v2", result.stderr
    assert lines[1] == "greeting=hej"
    assert lines[2].startswith("run-"), lines
    assert lines[3] == "token=s3cr3t"  # through the run's own Secret
    assert result.returncode == 4


def test_run_inside_executes_in_the_running_dyno_and_leaves_it_running(
    heroku, token, api, node_worker, rendezvous, kube
):
    app = deploy(api, f"inside-{uuid.uuid4().hex[:6]}", "v1", config={"GREETING": "hej"})
    [pod] = wait_until(lambda: ready_pods(kube, app), timeout=START, what="web.1 Ready")
    result = heroku(
        "run:inside",
        "web.1",
        "echo greeting=$GREETING; hostname; (exit 3)",
        "--exit-code",
        "-a",
        app.name,
        token=token,
        exits=3,
        timeout=START,
        env={"NODE_EXTRA_CA_CERTS": str(rendezvous)},
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "greeting=hej", result.stderr
    assert lines[1] == pod["metadata"]["name"]  # in that very dyno's container
    assert result.returncode == 3
    # The dyno goes on serving, the same pod as before.
    assert [p["metadata"]["uid"] for p in ready_pods(kube, app)] == [pod["metadata"]["uid"]]
    missing = heroku(
        "run:inside",
        "web.7",
        "true",
        "-a",
        app.name,
        token=token,
        check=False,
        env={"NODE_EXTRA_CA_CERTS": str(rendezvous)},
    )
    assert f"{app.name} has no running dyno web.7" in missing.stderr


def test_ps_restart_of_one_dyno_replaces_its_container_and_no_other(
    heroku, token, api, node_worker, kube
):
    app = deploy(api, f"ps-{uuid.uuid4().hex[:6]}", "v1")
    heroku("ps:scale", "web=2", "-a", app.name, token=token)

    def up() -> dict[str, str]:
        dynos = Dyno.objects.filter(app=app, process_type="web", state="up")
        return {d.name: d.pod_uid for d in dynos}

    before = wait_until(lambda: len(up()) == 2 and up(), timeout=START, what="web.1 and web.2 up")
    heroku("ps:restart", "web.1", "-a", app.name, token=token)
    after = wait_until(
        lambda: (now := up()).get("web.1") not in (None, before["web.1"]) and now,
        timeout=START,
        what="web.1 replaced and up",
    )
    assert after["web.2"] == before["web.2"]
    assert set(after) == {"web.1", "web.2"}
