"""The controller: how the records reach the cluster and how the cluster comes back into them.

In the order a change travels:

- `desired.py`: the desired state of an app, read from the records in one round trip as an
  `AppSpec` (apps/kube/manifests.py turns it into objects).
- `claim.py`: a run takes the app's lock and claims its waiting operations, with the desired state
  they were committed with.
- `converge.py`: what differs (`plan`, pure) and making it so (`converge`): apply what changed,
  delete what this app made and no longer wants.
- `reconcile.py`: one run for one app, from claim to the operations' outcome.
- `observe.py`: what the cluster holds, written back into the records (rollouts, dynos), and the
  operations that end with it; `observe_app` observes one app.
- `watch.py`: the watcher (`manage.py observe`): every Deployment and pod event, observed.
- `resync.py`: the periodic cycle that compares every app with the cluster and reconciles what
  drifted or was left waiting.
"""
