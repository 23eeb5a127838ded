"""Images from a registry that asks for a login (the second registry of scripts/node): refused
without one and reported so, pulled once the app has a login to it, through the API."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from apps.platform.models import Dyno
from tests.conftest import ROOT, image_archive
from tests.helpers import wait_until
from tests.node.conftest import START, all_answer, deploy

pytestmark = pytest.mark.django_db(transaction=True)
PRIVATE = os.environ["PAAS_PRIVATE_REGISTRY"]
PASSWORD = Path(os.environ["PAAS_PRIVATE_REGISTRY_PASSWORD_FILE"]).read_text().strip()
IMAGE = f"{PRIVATE}/acme/private-sample:v1"


def push(*login: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    """bin/paas push of the sample app's archive into the private registry."""
    archive = image_archive("sample")
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "bin" / "paas"),
            "push",
            archive,
            IMAGE,
            "--plain-http",
            *login,
        ],
        input=f"{password}\n",
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def private_image() -> str:
    """The sample app, pushed into the private registry with its login by bin/paas."""
    anonymous = push()
    assert anonymous.returncode == 1
    assert "refused the login, or asks for one" in anonymous.stderr
    wrong = push("--username", "paas", "--password-stdin", password="not-it")
    assert wrong.returncode == 1
    pushed = push("--username", "paas", "--password-stdin")
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith(f"Pushed {IMAGE} (sha256:")
    again = push("--username", "paas", "--password-stdin")
    assert again.stdout.endswith(", 0 new blobs)\n")  # the registry had them all
    return IMAGE


def test_an_image_behind_a_login_is_pulled_once_the_app_has_the_login(
    node_worker, api, kube, private_image
):
    app = deploy(api, f"private-{uuid.uuid4().hex[:6]}", image=private_image)
    refused = wait_until(
        lambda: Dyno.objects.filter(app=app, process_type="web", state="crashed").first(),
        timeout=START,
        what="the web dyno reported unpullable without a login",
    )
    assert refused.reason == "The image cannot be pulled"

    given = api(
        "PUT",
        f"/apps/{app.name}/registry-credentials/{PRIVATE}",
        {"username": "paas", "password": PASSWORD},
    )
    assert given.status_code == 200, given.json_body
    wait_until(
        lambda: all_answer(kube, app, image="v1", greeting="hello"),
        timeout=START,
        what="the dyno pulled with the login, answering",
    )
