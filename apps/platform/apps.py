from __future__ import annotations

from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "apps.platform"
    label = "platform"
    verbose_name = "Apps, process types, releases"

    def ready(self) -> None:
        # The desired state is read as JSON built by Postgres (selectors.SPEC_COLUMNS): orjson
        # parses the rows of thousands of apps several times faster than the standard module.
        import orjson
        from psycopg.types.json import set_json_loads

        set_json_loads(orjson.loads)
