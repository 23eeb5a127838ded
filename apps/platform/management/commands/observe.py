from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand

from apps.platform.controller.watch import observer


class Command(BaseCommand):
    help = "Watch the cluster's Deployments and pods and keep the observed state in the records."

    def handle(self, *args: Any, **options: Any) -> None:
        watcher = observer()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: watcher.stop())
        self.stdout.write("observing the cluster")
        watcher.run()
