"""``qiao clv`` commands: RFM summaries and lifetime-value model fits from CSV files.

The main ``qiao`` command calls :func:`register` with its argparse sub-parsers; every sub-command
stores its handler as ``func`` (``args.func(args) -> int`` exit status). Until then, run
``python -m qiao.analytics.clv.cli clv fit ...`` (the leading ``clv`` may be omitted).

User errors (missing file or column, bad values) print ``error: <file>: <message>`` on stderr and
exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import duckdb
import numpy as np
import pandas as pd

from .bgnbd import BetaGeoFitter
from .gammagamma import GammaGammaFitter
from .paretonbd import ParetoNBDFitter
from .summary import MissingColumnError, summary_from_transactions

USER_ERROR = 2

MODELS: dict[str, type[BetaGeoFitter] | type[ParetoNBDFitter] | type[GammaGammaFitter]] = {
    "bgnbd": BetaGeoFitter,
    "paretonbd": ParetoNBDFitter,
    "gammagamma": GammaGammaFitter,
}
MODEL_TITLES = {"bgnbd": "BG/NBD", "paretonbd": "Pareto/NBD", "gammagamma": "Gamma-Gamma"}
#: Column aliases accepted in summary files (Fader & Hardie's CDNOW files use x, t_x, zbar).
ALIASES = {"x": "frequency", "t_x": "recency", "zbar": "monetary_value"}
ID_COLUMNS = ("customer_id", "id")
SUMMARY_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value"]


class UserError(Exception):
    """An error caused by the user's input: reported as ``error: <file>: <message>``."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``clv`` command and its sub-commands to an argparse ``subparsers`` object."""
    clv = subparsers.add_parser(
        "clv",
        help="customer lifetime value (BG/NBD, Pareto/NBD, Gamma-Gamma)",
        description="RFM summaries and lifetime-value models (see docs/models.md).",
    )
    commands = clv.add_subparsers(dest="clv_command", metavar="COMMAND")

    def clv_help(args: argparse.Namespace) -> int:
        clv.print_help(sys.stderr)
        return USER_ERROR

    clv.set_defaults(func=clv_help)

    summary = commands.add_parser(
        "summary",
        help="per-customer frequency, recency, T and monetary value of a transaction file",
        description=(
            "Summarise a transaction file (CSV, Parquet or whitespace-separated text) into "
            "customer_id,frequency,recency,T,monetary_value with the lifetimes definitions."
        ),
    )
    summary.add_argument("--input", required=True, metavar="TXNS", help="transaction file")
    summary.add_argument("--customer-col", required=True, metavar="C", help="customer id column")
    summary.add_argument(
        "--date-col", required=True, metavar="D", help="date column (ISO date/time or YYYYMMDD)"
    )
    summary.add_argument("--amount-col", metavar="A", help="transaction amount column")
    summary.add_argument(
        "--end", required=True, metavar="YYYY-MM-DD", help="end of the observation period"
    )
    summary.add_argument(
        "--freq", choices=["D", "W"], default="D", help="period: days (D, default) or weeks (W)"
    )
    summary.add_argument("--date-format", metavar="FMT", help="strptime format of text dates")
    summary.add_argument("--out", required=True, metavar="SUMMARY", help="output CSV ('-': stdout)")
    summary.set_defaults(func=cmd_summary)

    fit = commands.add_parser(
        "fit",
        help="fit a lifetime-value model to a summary CSV",
        description=(
            "Fit a model to a summary CSV with frequency, recency, T (and monetary_value for "
            "gammagamma) and an id column (customer_id or ID). The CDNOW names x, t_x, zbar are "
            "accepted. gammagamma uses the customers with frequency > 0."
        ),
    )
    fit.add_argument("--model", required=True, choices=sorted(MODELS), help="model to fit")
    fit.add_argument("--input", required=True, metavar="SUMMARY", help="summary CSV")
    fit.add_argument("--json", action="store_true", help="print the fit as JSON")
    fit.add_argument(
        "--predict-t",
        type=float,
        metavar="T",
        help="horizon (in the time unit of the summary) for per-customer predictions",
    )
    fit.add_argument(
        "--out",
        metavar="PRED",
        help="prediction CSV: customer_id,expected_transactions,p_alive "
        "(gammagamma: customer_id,expected_spend)",
    )
    fit.add_argument("--penalizer", type=float, default=0.0, help="L2 penalizer (default 0)")
    fit.set_defaults(func=cmd_fit)
    return clv


# --------------------------------------------------------------------------- helpers


def _open_out(path: str) -> TextIO:
    if path == "-":
        return sys.stdout
    target = Path(path)
    if not target.parent.is_dir():
        raise UserError(path, f"directory {target.parent} does not exist")
    try:
        return target.open("w", newline="", encoding="utf-8")
    except OSError as exc:
        raise UserError(path, f"cannot write ({exc.strerror})") from None


def _write_csv(frame: pd.DataFrame, path: str) -> None:
    out = _open_out(path)
    try:
        frame.to_csv(out, index=False, lineterminator="\n")
        out.flush()
    except BrokenPipeError:
        # the reader of stdout went away (e.g. "| head"): not an error
        devnull = open(os.devnull, "w")  # noqa: SIM115 - replaces stdout until exit
        os.dup2(devnull.fileno(), sys.stdout.fileno())
    finally:
        if out is not sys.stdout:
            out.close()


def _read_summary(path: str) -> pd.DataFrame:
    file = Path(path)
    if not file.is_file():
        raise UserError(path, "file not found")
    try:
        frame = pd.read_csv(file, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(path, f"not a readable CSV file ({exc})") from None
    renamed: dict[str, str] = {}
    for col in frame.columns:
        name = str(col).strip()
        if name.lower() in ID_COLUMNS:
            name = "customer_id"
        renamed[str(col)] = ALIASES.get(name, name)
    frame = frame.rename(columns=renamed)
    # report problems by line number in the file (header is line 1)
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="line")
    return frame


def _require(frame: pd.DataFrame, path: str, columns: Sequence[str]) -> None:
    for col in columns:
        if col not in frame.columns:
            raise UserError(path, f"required column {col} missing")


def _numeric(frame: pd.DataFrame, path: str, col: str) -> pd.Series:
    values = pd.to_numeric(frame[col], errors="coerce")
    bad = values.isna() & frame[col].notna()
    if bad.any():
        line = bad.index[np.flatnonzero(bad.to_numpy())[0]]
        raise UserError(path, f"{col}: {frame[col][line]!r} is not a number at line {line}")
    return values


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _report_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)


# --------------------------------------------------------------------------- handlers


def cmd_summary(args: argparse.Namespace) -> int:
    """``qiao clv summary``: transaction file to RFM summary CSV."""
    try:
        try:
            table = summary_from_transactions(
                Path(args.input),
                args.customer_col,
                args.date_col,
                args.amount_col,
                end=args.end,
                freq=args.freq,
                date_format=args.date_format,
            )
        except FileNotFoundError:
            raise UserError(args.input, "file not found") from None
        except (MissingColumnError, ValueError) as exc:
            raise UserError(args.input, str(exc)) from None
        except duckdb.Error as exc:
            first_line = (
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            )
            raise UserError(args.input, f"cannot read the file ({first_line})") from None
        if "monetary_value" not in table.columns:
            table["monetary_value"] = np.nan  # no --amount-col: written as empty cells
        _write_csv(table[SUMMARY_COLUMNS], args.out)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USER_ERROR
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    """``qiao clv fit``: fit a model to a summary CSV, print it, optionally write predictions."""
    try:
        _fit(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USER_ERROR
    return 0


def _fit(args: argparse.Namespace) -> None:
    path = args.input
    is_spend = args.model == "gammagamma"
    if args.out is not None and args.predict_t is None and not is_spend:
        raise UserError(args.out, "--out needs --predict-t (the prediction horizon)")
    if args.predict_t is not None and args.out is None:
        raise UserError(path, "--predict-t needs --out (the prediction file)")
    if args.predict_t is not None and not args.predict_t > 0:
        raise UserError(path, f"--predict-t must be positive, got {args.predict_t}")
    frame = _read_summary(path)
    needed = ["frequency", "monetary_value"] if is_spend else ["frequency", "recency", "T"]
    _require(frame, path, needed + (["customer_id"] if args.out else []))
    cols = {c: _numeric(frame, path, c) for c in needed}
    model = MODELS[args.model](penalizer_coef=args.penalizer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if isinstance(model, GammaGammaFitter):
                model.fit(cols["frequency"], cols["monetary_value"])
            else:
                model.fit(cols["frequency"], cols["recency"], cols["T"])
        except ValueError as exc:
            raise UserError(path, str(exc)) from None
    _report_warnings(caught)
    result = {
        "model": args.model,
        "params": model.params_,
        "loglik": _finite_or_none(model.loglik_),
        "n": model.n_,
        "converged": model.converged_,
    }
    if args.json:
        print(json.dumps(result))
    else:
        state = "converged" if model.converged_ else "NOT converged"
        print(f"{MODEL_TITLES[args.model]} fitted on {model.n_} customers ({state})")
        for name, value in model.params_.items():
            print(f"  {name:>6} = {value:.6g}")
        print(f"  loglik = {model.loglik_:.6g}")
    if args.out is None:
        return
    ids = frame["customer_id"].to_numpy()
    if isinstance(model, GammaGammaFitter):
        spend = model.conditional_expected_average_profit(
            cols["frequency"].to_numpy(), cols["monetary_value"].to_numpy()
        )
        preds = pd.DataFrame({"customer_id": ids, "expected_spend": spend})
    else:
        x, tx, age = (cols[c].to_numpy() for c in ("frequency", "recency", "T"))
        expected = model.conditional_expected_number_of_purchases_up_to_time(
            args.predict_t, x, tx, age
        )
        p_alive = model.conditional_probability_alive(x, tx, age)
        preds = pd.DataFrame(
            {"customer_id": ids, "expected_transactions": expected, "p_alive": p_alive}
        )
    _write_csv(preds, args.out)


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m qiao.analytics.clv.cli [clv] COMMAND ...``."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] != "clv":
        args_list.insert(0, "clv")
    parser = argparse.ArgumentParser(prog="qiao", description="Qiao lifetime-value commands")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    register(subparsers)
    args = parser.parse_args(args_list)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
