"""One reconcile per app at a time, without a lock that can outlive its holder.

A Postgres session advisory lock belongs to the database connection: if the worker holding it
is killed, the server closes the connection and the lock is gone with it, so there is never a
stuck "deploy in progress" to clear by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from django.db import connection

# The first key of the two-key advisory lock form: keeps app locks apart from any other user.
APP_LOCK_SPACE = 0x7061_6173  # "paas"


# App ids start at 1, so 0 is free for the resync: one cycle at a time across all workers.
RESYNC_KEY = 0


@contextmanager
def _try_lock(key: int) -> Iterator[bool]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [APP_LOCK_SPACE, key])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [APP_LOCK_SPACE, key])


def app_unlock(app_id: int) -> None:
    """Releases an app lock taken by a statement of its own (see controller.claim.claimed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [APP_LOCK_SPACE, app_id])


def resync_lock() -> AbstractContextManager[bool]:
    """Yields whether the lock was taken; never waits for it."""
    return _try_lock(RESYNC_KEY)
