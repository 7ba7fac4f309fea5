from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "qiao.surveys"
    label = "surveys"
    verbose_name = _("satisfaction surveys")

    def ready(self) -> None:
        # Survey answers load through `qiao ingest` (docs/data-interface.md, "survey_answers");
        # the "satisfaction" report renders on the reports page, the API and in Excel.
        from qiao.core.reports import register as register_report
        from qiao.ingest.kinds import register

        from .ingest import SURVEY_ANSWERS, apply_survey_answers
        from .report import SATISFACTION

        register(SURVEY_ANSWERS, apply_survey_answers)
        register_report(SATISFACTION)
