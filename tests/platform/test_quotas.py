"""Team quotas: a change that would take a team over one is refused, and nothing of it stored."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.platform import quotas
from apps.platform.models import App, Operation, ProcessType, Team
from apps.platform.services import (
    ProcessChange,
    app_create,
    autoscale_update,
    dyno_run,
    formation_update,
    release_deploy,
)
from tests.platform.conftest import IMAGE

pytestmark = pytest.mark.django_db


def _limit(team: Team, **limits: int | None) -> None:
    Team.objects.filter(pk=team.pk).update(**{f"quota_{k}": v for k, v in limits.items()})


def test_apps_over_the_quota_are_refused_and_not_created(alice, team, app):
    _limit(team, apps=1)
    with pytest.raises(ValidationError, match="Team acme may hold 1 apps; this would make 2"):
        app_create(actor=alice, team=team, name="second")
    assert not App.objects.filter(name="second").exists()


def test_scaling_over_the_dyno_quota_is_refused_and_nothing_changes(alice, team, app):
    formation_update(actor=alice, app=app, changes=[ProcessChange("web", 2, command="x")])
    _limit(team, dynos=3)
    operations = Operation.objects.count()
    with pytest.raises(ValidationError, match="may hold 3 dynos; this would make 4"):
        formation_update(actor=alice, app=app, changes=[ProcessChange("web", 4)])
    assert ProcessType.objects.get(app=app, name="web").quantity == 2
    assert Operation.objects.count() == operations  # no reconcile asked for
    formation_update(actor=alice, app=app, changes=[ProcessChange("web", 3)])


def test_a_team_over_a_lowered_quota_can_still_scale_down(alice, team, app):
    formation_update(actor=alice, app=app, changes=[ProcessChange("web", 5, command="x")])
    _limit(team, dynos=2)
    formation_update(actor=alice, app=app, changes=[ProcessChange("web", 4)])
    with pytest.raises(ValidationError, match="may hold 2 dynos"):
        formation_update(actor=alice, app=app, changes=[ProcessChange("web", 5)])


def test_cpu_and_memory_count_each_dyno_at_its_size_limits(alice, team, app):
    formation_update(actor=alice, app=app, changes=[ProcessChange("web", 2, command="x")])
    assert quotas.usage(team) == (1, 2, 2 * 500, 2 * 512)  # basic: 500m, 512 MiB
    _limit(team, cpu_millicores=2000, memory_mib=2048)
    with pytest.raises(ValidationError, match="may hold 2000 millicores of CPU; this would make"):
        formation_update(actor=alice, app=app, changes=[ProcessChange("web", size="standard-2x")])
    _limit(team, cpu_millicores=None)
    with pytest.raises(ValidationError, match="may hold 2048 MiB of memory; this would make 2560"):
        formation_update(actor=alice, app=app, changes=[ProcessChange("web", 5)])
    assert ProcessType.objects.get(app=app, name="web").size.name == "basic"


def test_autoscaling_counts_at_its_maximum(alice, team, app):
    formation_update(actor=alice, app=app, changes=[ProcessChange("web", 1, command="x")])
    _limit(team, dynos=4)
    with pytest.raises(ValidationError, match="may hold 4 dynos; this would make 6"):
        autoscale_update(actor=alice, app=app, process="web", minimum=1, maximum=6)
    autoscale_update(actor=alice, app=app, process="web", minimum=1, maximum=4)


def test_a_first_web_dyno_and_a_one_off_dyno_count(alice, team, app):
    _limit(team, dynos=0)
    with pytest.raises(ValidationError, match="may hold 0 dynos; this would make 1"):
        release_deploy(actor=alice, app=app, image=IMAGE, commands={"web": "x"})
    assert not app.process_types.exists()
    assert app.releases.count() == 1  # only the initial one
    _limit(team, dynos=None)
    release_deploy(actor=alice, app=app, image=IMAGE, commands={"web": "x"})
    _limit(team, dynos=1)
    with pytest.raises(ValidationError, match="may hold 1 dynos; this would make 2"):
        dyno_run(actor=alice, app=app, command="echo hi")
