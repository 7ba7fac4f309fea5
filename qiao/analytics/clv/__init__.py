"""Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma models, RFM summaries.

Framework-free (numpy, scipy, pandas, DuckDB); never imports Django.

>>> from qiao.analytics.clv import BetaGeoFitter, summary_from_transactions  # doctest: +SKIP
>>> rfm = summary_from_transactions("txns.csv", "customer_id", "date", "amount", freq="W")
>>> bg = BetaGeoFitter().fit(rfm.frequency, rfm.recency, rfm["T"])

See ``docs/models.md`` ("Lifetime value") for the models, the papers and the bank CLV recipe.
"""

from ._base import ConvergenceWarning
from .bank import balance_based_clv
from .bgnbd import BetaGeoFitter
from .gammagamma import GammaGammaFitter
from .holdout import holdout_report
from .paretonbd import ParetoNBDFitter
from .summary import MissingColumnError, calibration_and_holdout_data, summary_from_transactions

__all__ = [
    "BetaGeoFitter",
    "ConvergenceWarning",
    "GammaGammaFitter",
    "MissingColumnError",
    "ParetoNBDFitter",
    "balance_based_clv",
    "calibration_and_holdout_data",
    "holdout_report",
    "summary_from_transactions",
]
