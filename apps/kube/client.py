"""The one place that turns settings into a Kubernetes API client."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from kubernetes import client, config


@cache
def api_client() -> client.ApiClient:
    """A client for the configured cluster: KUBECONFIG when set, in-cluster config otherwise.

    Cached per process: loading a kubeconfig parses YAML and certificates, and the underlying
    urllib3 pool is meant to be shared.
    """
    configuration = client.Configuration()
    if settings.KUBECONFIG:
        config.load_kube_config(
            config_file=settings.KUBECONFIG,
            context=settings.KUBE_CONTEXT or None,
            client_configuration=configuration,
        )
    else:
        config.load_incluster_config(client_configuration=configuration)
    return client.ApiClient(configuration)


def server_version() -> str:
    info = client.VersionApi(api_client()).get_code(_request_timeout=settings.KUBE_REQUEST_TIMEOUT)
    return str(info.git_version)
