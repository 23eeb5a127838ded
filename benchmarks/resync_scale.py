"""A no-op resync over many apps (BENCH_RESYNC_APPS, default 3,000), measured in a process of its
own: wall time, peak memory (max RSS) and requests per kind, against a baseline in the same run:
the same LISTs made by `kubectl get` (goal: under 2 s and 300 MB, 0 writes, 1 LIST page per 500).

Run through benchmarks/reconcile after the other figures, on the same private services.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paas.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
django.setup()

from django.core.management import call_command  # noqa: E402

from apps.kube.manifests import desired_objects  # noqa: E402
from apps.platform.controller.desired import app_specs  # noqa: E402
from apps.platform.controller.resync import LISTED, resync  # noqa: E402
from apps.platform.encryption import new_data_key, seal_all  # noqa: E402
from apps.platform.installation import cluster, installation_id  # noqa: E402
from apps.platform.models import App, DynoSize, ProcessType, Release, Team  # noqa: E402

APPS = int(os.environ.get("BENCH_RESYNC_APPS", "3000"))
IMAGE = "registry.example.com/bench:v1"


def seed() -> None:
    """Records straight into the database and objects by one server-side apply of them all,
    with the platform's field manager: what converging them would leave, in a fraction of the
    time."""
    call_command("migrate", verbosity=0)  # the kept database may predate this code
    team, _ = Team.objects.get_or_create(name="scale")
    App.objects.filter(team=team).delete()  # a run before this one's, in the kept database
    size = DynoSize.objects.get(name="basic")
    apps = App.objects.bulk_create(
        App(name=f"s-{i:05d}", team=team, namespace=f"s-{i:05d}", data_key=new_data_key())
        for i in range(APPS)
    )
    Release.objects.bulk_create(
        Release(
            app=a, version=1, image=IMAGE, config=seal_all(a, {"KEY": "value"}), description="seed"
        )
        for a in apps
    )
    ProcessType.objects.bulk_create(
        ProcessType(app=a, name="web", command="bin/web", quantity=0, size=size) for a in apps
    )
    manifests = [m for _, spec in app_specs().values() for m in desired_objects(spec)]
    kubectl = [os.environ["PAAS_KUBECTL"], "--kubeconfig", os.environ["KUBECONFIG"]]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump({"apiVersion": "v1", "kind": "List", "items": manifests}, file)
    subprocess.run(
        [*kubectl, "apply", "--server-side", "--field-manager=paas", "-f", file.name],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    first = resync(cluster())  # records the digests, as converging would have
    assert not first.failed, first.failed


def measure() -> None:
    """In a fresh process: the figures of three no-op resyncs, the first one cold (a worker's
    first cycle: connections, the first queries), the others as a running worker makes them."""
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        with cProfile.Profile() as profile:
            resync(cluster())
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    runs = []
    for _ in range(3):
        kube = cluster()
        start = time.perf_counter()
        report = resync(kube)
        runs.append((time.perf_counter() - start, report, kube.requests))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _, report, requests = runs[-1]
    print(
        json.dumps(
            {
                "seconds": [took for took, _, _ in runs],
                "peak_mib": peak,
                "apps": report.apps,
                "reconciled": sorted({name for _, r, _ in runs for name in r.reconciled}),
                "requests": {f"{verb} {kind}": n for (verb, kind), n in sorted(requests.items())},
                "writes": sum(
                    n
                    for _, _, reqs in runs
                    for (verb, _), n in reqs.items()
                    if verb not in ("list", "get")
                ),
            }
        )
    )


def main() -> None:
    if sys.argv[1:] == ["measure"]:
        measure()
        return
    seed()
    kubectl = [os.environ["PAAS_KUBECTL"], "--kubeconfig", os.environ["KUBECONFIG"]]
    selector = f"paas.dev/installation={installation_id()}"
    start = time.perf_counter()
    for kind in sorted(LISTED):
        subprocess.run(
            [*kubectl, "get", kind.lower(), "-A", "-l", selector, "-o", "json", "--chunk-size=500"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    baseline = time.perf_counter() - start
    done = subprocess.run(
        [sys.executable, __file__, "measure"], check=True, stdout=subprocess.PIPE, text=True
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    first, *warm = figures["seconds"]
    print(
        f"no-op resync over {figures['apps']} apps: first in its process {first:.2f} s,"
        f" then {', '.join(f'{t:.2f}' for t in warm)} s (goal < 2 s);"
        f" peak memory {figures['peak_mib']:.0f} MiB (goal < 300 MB);"
        f" {len(figures['reconciled'])} apps reconciled, {figures['writes']} writes (goal 0);"
        f" requests of one cycle {figures['requests']};"
        f" kubectl get of the same kinds {baseline:.2f} s, ratio {first / baseline:.2f}x"
        f" (first), {min(warm) / baseline:.2f}x (best)"
    )


if __name__ == "__main__":
    main()
