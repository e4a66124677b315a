"""Command line for statisticians working from files:

  python -m readerstudy.analysis mrmc --input ratings.csv [--covariance jackknife|delong]
  python -m readerstudy.analysis bootstrap --input ratings.csv --model-modality M [--replicates N] [--seed S] [--lam 0.5]
  python -m readerstudy.analysis report --input ratings.csv --out DIR [--model-modality M]
  python -m readerstudy.analysis convert-nyu --input wide.csv --output ratings.csv [--models AI_GMIC_top1 ...]

`ratings.csv` is the long format reader_id,modality,case_id,truth,rating[,cluster_id].
Results go to stdout as JSON; a problem with the input is one message on stderr and exit
status 2.
"""
import argparse
import json
import sys

from .bootstrap import DEFAULT_REPLICATES
from .hybrid import DEFAULT_LAM
from .mrmc import COVARIANCE_METHODS, mrmc_from_ratings
from .ratings import RatingsError, read_ratings, to_exam_level, write_ratings
from .serialize import jsonable

INPUT_ERROR = 2


def _level(text):
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError("must lie strictly between 0 and 1")
    return value


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _lam(text):
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must lie in [0, 1]")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m readerstudy.analysis",
                                     description="Reader-study statistics: AUCs, bootstrap, DeLong, OR MRMC.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_input(sub):
        sub.add_argument("--input", required=True, help="long-format ratings CSV ('-': standard input)")
        sub.add_argument("--unit", choices=("case", "exam"), default="case",
                         help="exam: collapse the cases of each cluster_id (positive if any, max score)")
        return sub

    mrmc = with_input(commands.add_parser("mrmc", help="Obuchowski-Rockette MRMC (Hillis ddf)"))
    mrmc.add_argument("--covariance", choices=COVARIANCE_METHODS, default="jackknife")
    mrmc.add_argument("--modalities", nargs="+", metavar="M", help="modalities to compare (default: all)")
    mrmc.add_argument("--level", type=_level, default=0.95)

    boot = with_input(commands.add_parser("bootstrap", help="paired cluster bootstrap: readers, model, hybrids"))
    boot.add_argument("--model-modality", required=True, metavar="M")
    boot.add_argument("--reader-modality", metavar="M", help="needed when several modalities besides the model")
    boot.add_argument("--replicates", type=_positive_int, default=DEFAULT_REPLICATES)
    boot.add_argument("--seed", type=int, help="recorded in the output; drawn when omitted")
    boot.add_argument("--lam", type=_lam, default=DEFAULT_LAM, help="hybrid = lam*reader + (1-lam)*model")
    boot.add_argument("--level", type=_level, default=0.95)

    report = with_input(commands.add_parser("report", help="JSON, CSV tables, ROC plots and a PDF summary"))
    report.add_argument("--out", required=True, help="output folder (created if needed)")
    report.add_argument("--model-modality", metavar="M")
    report.add_argument("--reader-modality", metavar="M")
    report.add_argument("--covariance", choices=COVARIANCE_METHODS, default="jackknife")
    report.add_argument("--replicates", type=_positive_int, default=DEFAULT_REPLICATES)
    report.add_argument("--seed", type=int)
    report.add_argument("--lam", type=_lam, default=DEFAULT_LAM)
    report.add_argument("--threshold", type=float,
                        help="operating point: positive when rating >= threshold (default 0.5 for ratings on [0, 1])")

    convert = commands.add_parser("convert-nyu", help="NYU reader-study wide CSV to the long format")
    convert.add_argument("--input", required=True, help="nyu_reader_study_breast_level.csv")
    convert.add_argument("--output", required=True, help="long-format CSV to write")
    convert.add_argument("--models", nargs="+", metavar="COLUMN",
                         help="model columns to keep, e.g. AI_GMIC_top1 (default: all)")
    return parser


def _load(args):
    ratings = read_ratings(sys.stdin if args.input == "-" else args.input)
    return to_exam_level(ratings) if args.unit == "exam" else ratings


def run_mrmc(args) -> dict:
    result = mrmc_from_ratings(_load(args), modalities=args.modalities, covariance=args.covariance, level=args.level)
    return {"unit": args.unit, **result.to_dict()}


def run_bootstrap(args) -> dict:
    from .reader_model import compare_ratings

    result = compare_ratings(_load(args), args.model_modality, args.reader_modality, lam=args.lam,
                             replicates=args.replicates, seed=args.seed, level=args.level)
    return {"unit": args.unit, **result.to_dict()}


def run_report(args) -> dict:
    from .report import analyse, write_report

    analysis = analyse(_load(args), model_modality=args.model_modality, reader_modality=args.reader_modality,
                       covariance=args.covariance, replicates=args.replicates, seed=args.seed, lam=args.lam,
                       threshold="auto" if args.threshold is None else args.threshold, source=str(args.input))
    paths = write_report(analysis, args.out)
    return {"out": str(args.out), "files": sorted(p.name for p in paths)}


def run_convert(args) -> dict:
    from .nyu import read_nyu_wide

    ratings = read_nyu_wide(args.input, models=args.models)
    write_ratings(ratings, args.output)
    return {"output": str(args.output), "modalities": {m: list(d.readers) for m, d in ratings.modalities.items()},
            "n_cases": ratings.n_cases}


COMMANDS = {"mrmc": run_mrmc, "bootstrap": run_bootstrap, "report": run_report, "convert-nyu": run_convert}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        output = COMMANDS[args.command](args)
    except (RatingsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return INPUT_ERROR
    except OSError as error:
        print(f"error: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
        return INPUT_ERROR
    json.dump(jsonable(output), sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")
    return 0
