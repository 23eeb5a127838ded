from __future__ import annotations

import time

from apps.core.heartbeat import KEY
from apps.core.tasks import heartbeat


def test_a_task_round_trips_through_the_real_broker_and_worker(celery_worker, redis_client):
    redis_client.delete(KEY)
    before = time.time()

    result = heartbeat.delay()
    recorded = result.get(timeout=15)

    assert before <= recorded <= time.time()
    assert float(redis_client.get(KEY)) == recorded
    # The worker that ran it is the one the fixture started, not an eager in-process call.
    assert result.state == "SUCCESS"
    task_info = result.backend.get_task_meta(result.id)
    assert task_info["status"] == "SUCCESS"
