"""Config values at rest: sealed per app by a data key that CONFIG_ENCRYPTION_KEYS wraps."""

from __future__ import annotations

import glob
import subprocess

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from apps.core.health import run_checks
from apps.platform.encryption import EncryptionKeyError, app_config
from apps.platform.models import App
from apps.platform.services import config_update, dyno_run, release_deploy
from tests.platform.conftest import IMAGE

VALUE = "s3cr3t-config-value"
RUN_VALUE = "s3cr3t-one-off-value"


def _dump() -> str:
    """The whole database as pg_dump writes it, as an operator or a backup would see it."""
    pg_dump = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))[-1]
    db = connection.settings_dict
    target = ["-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"], db["NAME"]]
    return subprocess.run(
        [pg_dump, "--data-only", *target],
        capture_output=True,
        text=True,
        check=True,
        env={"PGPASSWORD": db["PASSWORD"] or ""},
    ).stdout


@pytest.mark.django_db(transaction=True)
def test_no_config_value_or_run_variable_is_in_the_database_in_clear(alice, app):
    """Config vars, every release's snapshot and a one-off dyno's variables were stored in
    clear, and kept forever."""
    release_deploy(actor=alice, app=app, image=IMAGE, commands={"web": "serve"})
    config_update(actor=alice, app=app, changes={"DATABASE_URL": VALUE})
    dyno_run(actor=alice, app=app, command="rake db:migrate", env={"TOKEN": RUN_VALUE})
    dump = _dump()
    assert "DATABASE_URL" in dump  # the keys stay readable, for the releases' diffs
    assert VALUE not in dump
    assert RUN_VALUE not in dump
    assert app_config(App.objects.get(pk=app.pk)) == {"DATABASE_URL": VALUE}


@pytest.mark.django_db
def test_a_wrong_key_is_named_as_the_problem_everywhere_a_value_is_read(
    alice, root, app, settings, client
):
    config_update(actor=alice, app=app, changes={"DATABASE_URL": VALUE})
    settings.CONFIG_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(EncryptionKeyError, match="CONFIG_ENCRYPTION_KEYS holds no key"):
        app_config(app)
    checks = {check.name: check for check in run_checks()}
    assert not checks["encryption"].ok
    assert "CONFIG_ENCRYPTION_KEYS" in checks["encryption"].detail
    client.force_login(root)
    page = client.get(f"/apps/{app.name}/config/DATABASE_URL")
    assert page.status_code == 503
    assert b"CONFIG_ENCRYPTION_KEYS" in page.content


@pytest.mark.django_db
def test_rotating_the_key_rewraps_the_data_keys_and_keeps_every_value(alice, app, settings):
    config_update(actor=alice, app=app, changes={"DATABASE_URL": VALUE})
    old = settings.CONFIG_ENCRYPTION_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.CONFIG_ENCRYPTION_KEYS = [new, old]
    checks = {check.name: check for check in run_checks()}
    assert not checks["encryption"].ok  # still wrapped by the old key: rotate
    assert "rotate_encryption_key" in checks["encryption"].detail
    call_command("rotate_encryption_key")
    settings.CONFIG_ENCRYPTION_KEYS = [new]
    assert app_config(App.objects.get(pk=app.pk)) == {"DATABASE_URL": VALUE}
    assert {check.name: check for check in run_checks()}["encryption"].ok
