"""bin/paas, the small command for what the heroku CLI cannot do, against a live server."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.platform.models import App, Team
from apps.platform.services import app_create
from tests.conftest import image_archive

pytestmark = pytest.mark.django_db(transaction=True)
PAAS = Path(__file__).resolve().parents[2] / "bin" / "paas"


@pytest.fixture
def paas(live_server: Any, tmp_path: Path, bob: User, team: Team) -> Any:
    app_create(actor=bob, team=team, name="billing")

    def run(*args: str, input: str | None = None, server: str = live_server.url) -> Any:
        env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "PAAS_SERVER": server}
        return subprocess.run(
            [sys.executable, str(PAAS), *args],
            env=env,
            input=input,
            text=True,
            capture_output=True,
            timeout=60,
        )

    return run


def test_login_apps_deploy_and_heroku_env(paas, tmp_path, live_server):
    signed = paas(
        "login", "--email", "bob@example.org", "--password-stdin", input="bob password 1\n"
    )
    assert signed.returncode == 0, signed.stderr
    assert "Logged in to" in signed.stdout
    credentials = tmp_path / ".config" / "paas" / "credentials.json"
    assert oct(credentials.stat().st_mode & 0o777) == "0o600"
    assert paas("apps").stdout.split() == ["billing", "acme"]

    procfile = tmp_path / "Procfile"
    procfile.write_text("web: gunicorn app:app\nworker: celery worker\n")
    deployed = paas(
        "deploy", "registry.example.com/shop:v7", "-a", "billing", "--procfile", str(procfile)
    )
    assert deployed.stdout.strip() == "Released registry.example.com/shop:v7 to billing as v2"
    release = App.objects.get(name="billing").releases.get(version=2)
    assert release.image == "registry.example.com/shop:v7"
    assert release.commands == {"web": "gunicorn app:app", "worker": "celery worker"}

    env = paas("heroku-env").stdout
    assert f"export HEROKU_HOST={live_server.url}" in env
    assert "export HEROKU_API_KEY=paas_" in env
    remote = paas("heroku-env", server="https://paas.example.com").stdout
    assert "ssh -N -L 8765:paas.example.com:443" in remote


def test_errors_are_messages_not_tracebacks(paas):
    wrong = paas("login", "--email", "bob@example.org", "--password-stdin", input="nope\n")
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == "paas: Invalid credentials provided. (HTTP 401)"
    assert paas("apps").stderr.startswith("paas: Not signed in")
    paas("login", "--email", "bob@example.org", "--password-stdin", input="bob password 1\n")
    bad = paas("deploy", "Not An Image", "-a", "billing")
    assert bad.returncode == 1
    assert "is not an image reference: use registry/name:tag" in bad.stderr
    assert "Traceback" not in bad.stderr
    unreachable = paas("apps", server="http://127.0.0.1:9")
    assert unreachable.stderr.startswith("paas: Cannot reach http://127.0.0.1:9")


def test_push_sends_an_image_archive_to_a_registry_and_releases_it(paas, tmp_path):
    """Into the real node's registry (plain HTTP), then released by its digest."""
    paas("login", "--email", "bob@example.org", "--password-stdin", input="bob password 1\n")
    archive = image_archive("sample")
    image = f"{os.environ['PAAS_REGISTRY']}/acme/pushed:v1"
    pushed = paas("push", archive, image, "--plain-http", "-a", "billing")
    assert pushed.returncode == 0, pushed.stderr
    digest = pushed.stdout.split("(", 1)[1].split(",", 1)[0]
    assert digest.startswith("sha256:")
    assert f"Released {image}@{digest} to billing as v2" in pushed.stdout
    assert App.objects.get(name="billing").releases.get(version=2).image == f"{image}@{digest}"
    manifest = urllib.request.Request(
        f"http://{os.environ['PAAS_REGISTRY']}/v2/acme/pushed/manifests/v1",
        method="HEAD",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    with urllib.request.urlopen(manifest, timeout=10) as found:
        assert found.headers["Docker-Content-Digest"] == digest

    not_an_image = tmp_path / "nothing.tar"
    not_an_image.write_bytes(b"not a tar")
    refused = paas("push", str(not_an_image), image, "--plain-http")
    assert refused.returncode == 1
    assert "is not an OCI image layout or archive" in refused.stderr
    assert "Traceback" not in refused.stderr
