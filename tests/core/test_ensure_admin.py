from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from apps.platform.models import Membership

pytestmark = pytest.mark.django_db


def test_it_creates_the_first_admin_and_prints_the_password_once():
    first, second = StringIO(), StringIO()

    call_command("ensure_admin", login_url="http://127.0.0.1:8000/login/", stdout=first)
    call_command("ensure_admin", stdout=second)

    printed = first.getvalue()
    password = printed.split("password: ")[1].split()[0]
    admin = User.objects.get(username="admin")
    assert admin.check_password(password)
    assert admin.is_superuser
    assert "http://127.0.0.1:8000/login/" in printed
    assert "password:" not in second.getvalue()
    assert User.objects.filter(is_superuser=True).count() == 1
    # ... who is admin of a first team, so the first app can be created at once.
    assert Membership.objects.get(user__username="admin", team__name="main").role == "admin"


def test_prepare_platform_migrates_and_creates_the_admin():
    out = StringIO()

    call_command("prepare_platform", login_url="http://localhost:8000/login/", stdout=out)

    assert "password:" in out.getvalue()
    assert User.objects.filter(username="admin", is_superuser=True).exists()
