"""Installations sharing one cluster, as real processes: each with its own database, workers and
scheduler resyncing every 2 seconds. Neither ever touches the other's objects; an installation
pointed at an empty database deletes nothing and reports what it finds as orphans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings
from kubernetes import client

from apps.kube.adapter import Cluster
from apps.platform.services import ProcessChange, app_create, formation_update, release_deploy
from tests.conftest import ARTIFACTS, ROOT, stop_process
from tests.helpers import wait_until
from tests.platform.conftest import IMAGE

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]
RESYNC = 2


class Installation:
    """Another installation of the platform: a database of its own, a Redis database of its own
    (so the workers never take each other's tasks), a worker with the scheduler."""

    def __init__(self, name: str, installation_id: str) -> None:
        db = settings.DATABASES["default"]
        self.database = f"{db['NAME']}_{name}"
        self.env = os.environ | {
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}"
            f"/{self.database}",
            "REDIS_URL": settings.REDIS_URL.rsplit("/", 1)[0] + f"/{3 + len(name) % 10}",
            "INSTALLATION_ID": installation_id,
            "RESYNC_SECONDS": str(RESYNC),
        }
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None

    def _admin(self, sql: str) -> None:
        db = settings.DATABASES["default"]
        with psycopg.connect(
            host=db["HOST"],
            port=db["PORT"],
            user=db["USER"],
            password=db["PASSWORD"],
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute(sql)

    def start(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.database}"')
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=120,
        )
        log = open(ARTIFACTS / f"installation-{self.name}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "paas",
                "worker",
                "--beat",
                "--concurrency",
                "2",
                "--schedule",
                str(ARTIFACTS / f"beat-{self.name}-{uuid.uuid4().hex[:6]}"),
                "--hostname",
                f"{self.name}-{uuid.uuid4().hex[:6]}@localhost",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def run(self, code: str) -> Any:
        """Runs Python in this installation's Django and returns what it prints as JSON."""
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


@pytest.fixture
def installations() -> Iterator[list[Installation]]:
    started: list[Installation] = []
    yield started
    for installation in started:
        installation.stop()


CREATE_APP = """
import json, uuid
from django.contrib.auth.models import User
from apps.platform.models import Team
from apps.platform.services import ProcessChange, app_create, formation_update, release_deploy
user, _ = User.objects.get_or_create(username="root", defaults={"is_superuser": True})
team, _ = Team.objects.get_or_create(name="ops")
app = app_create(actor=user, team=team, name="b-" + uuid.uuid4().hex[:8])
formation_update(actor=user, app=app, changes=[ProcessChange("web", quantity=2)])
release_deploy(actor=user, app=app, image="%s")
print(json.dumps([app.name, app.namespace]))
"""


def replicas(kube_api: client.ApiClient, namespace: str, name: str) -> int | None:
    """Read as the cluster's admin, whoever's it is."""
    found = Cluster(kube_api, installation="any").read("Deployment", namespace, name)
    return None if found is None else int(found["spec"]["replicas"])


def alive(kube_api: client.ApiClient, namespace: str) -> bool:
    found = Cluster(kube_api, installation="any").read("Namespace", None, namespace)
    return found is not None and not found["metadata"].get("deletionTimestamp")


def test_two_installations_on_one_cluster_never_touch_each_other(
    installations, workers, alice, team, kube_api
):
    workers("installation-a.log", resync_seconds=RESYNC)
    other = Installation("b", "installation-b")
    installations.append(other)
    other.start()
    try:
        mine = app_create(actor=alice, team=team, name=f"a-{uuid.uuid4().hex[:8]}")
        formation_update(actor=alice, app=mine, changes=[ProcessChange("web", quantity=2)])
        release_deploy(actor=alice, app=mine, image=IMAGE)
        theirs, their_namespace = other.run(CREATE_APP % IMAGE)
        for namespace, name in (
            (mine.namespace, "web"),
            (their_namespace, "web"),
        ):
            wait_until(
                lambda n=namespace, d=name: replicas(kube_api, n, d) == 2,
                timeout=60,
                what=f"{name} to converge",
            )

        # A hand-made scale of their app is repaired by them alone.
        client.AppsV1Api(kube_api).patch_namespaced_deployment_scale(
            "web", their_namespace, {"spec": {"replicas": 5}}
        )
        wait_until(
            lambda: replicas(kube_api, their_namespace, "web") == 2,
            timeout=30,
            what="the other installation to repair its app",
        )
        time.sleep(3 * RESYNC)  # several periods of both resyncs

        assert alive(kube_api, mine.namespace)
        assert alive(kube_api, their_namespace)
        repairs = other.run(
            "import json; from apps.platform.models import Activity, Orphan; print(json.dumps("
            "[list(Activity.objects.filter(action='drift.repair').values_list('app_name', "
            "flat=True)), list(Orphan.objects.values_list('namespace', flat=True))]))"
        )
        assert repairs == [[theirs], []]
        from apps.platform.models import Activity, Orphan

        assert not Activity.objects.filter(action="drift.repair").exists()
        assert not Orphan.objects.filter(namespace=their_namespace).exists()
        a = Cluster(kube_api, installation=settings.INSTALLATION_ID)
        b = Cluster(kube_api, installation="installation-b")
        a_sees = {n["metadata"]["name"] for n in a.list_owned("Namespace")}
        b_sees = {n["metadata"]["name"] for n in b.list_owned("Namespace")}
        assert mine.namespace in a_sees
        assert their_namespace not in a_sees
        assert b_sees == {their_namespace}
    finally:
        client.CoreV1Api(kube_api).delete_namespace(their_namespace)


def test_an_empty_database_deletes_nothing_and_adopts_or_deletes_on_request(
    installations, workers, alice, team, kube_api
):
    ours, _ = workers("installation-a2.log", resync_seconds=RESYNC)
    apps = []
    try:
        for _ in range(2):
            app = app_create(actor=alice, team=team, name=f"e-{uuid.uuid4().hex[:8]}")
            formation_update(actor=alice, app=app, changes=[ProcessChange("web", quantity=1)])
            release_deploy(actor=alice, app=app, image=IMAGE)
            apps.append(app)
        for app in apps:
            wait_until(
                lambda a=app: replicas(kube_api, a.namespace, "web") == 1,
                timeout=60,
                what=f"{app.name} to converge",
            )
    finally:
        stop_process(ours)
    # The same installation, pointed at an empty database.
    emptied = Installation("empty", settings.INSTALLATION_ID)
    installations.append(emptied)
    emptied.start()
    list_orphans = (
        "import json; from apps.platform.models import Orphan; "
        "print(json.dumps(sorted(Orphan.objects.values_list('namespace', flat=True))))"
    )
    wanted = sorted(a.namespace for a in apps)
    wait_until(
        lambda: set(wanted) <= set(emptied.run(list_orphans)),
        timeout=60,
        what="the orphans to be reported",
    )
    time.sleep(3 * RESYNC)

    assert all(alive(kube_api, a.namespace) for a in apps)
    adopted, doomed = apps
    result = emptied.run(
        "import json; from django.contrib.auth.models import User; "
        "from apps.platform.models import Orphan, Team; "
        "from apps.platform.orphans import orphan_adopt, orphan_delete; "
        "user = User.objects.create(username='root', is_superuser=True); "
        "team = Team.objects.create(name='ops'); "
        f"orphan = Orphan.objects.get(namespace='{adopted.namespace}'); "
        "app = orphan_adopt(actor=user, orphan=orphan, team=team); "
        f"orphan_delete(actor=user, orphan=Orphan.objects.get(namespace='{doomed.namespace}')); "
        "print(json.dumps([app.name, app.process_types.get().quantity]))"
    )
    assert result == [adopted.name, 1]
    wait_until(
        lambda: not alive(kube_api, doomed.namespace),
        timeout=60,
        what="the deleted orphan's namespace to go",
    )
    time.sleep(2 * RESYNC)
    assert alive(kube_api, adopted.namespace)
    assert replicas(kube_api, adopted.namespace, "web") == 1
