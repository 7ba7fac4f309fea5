from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "qiao.core"
    label = "core"

    def ready(self) -> None:
        from qiao.core.lookups import register

        register()
