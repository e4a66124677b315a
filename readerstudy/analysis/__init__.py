"""Reader-study statistics: pure functions over arrays (NumPy, SciPy, matplotlib; no Django).

    roc          auc, roc_curve, operating_points
    delong       delong_ci, delong_test, delong_covariance, structural_components
    bootstrap    bootstrap_auc (paired cluster bootstrap), resample_indices
    mrmc         or_mrmc, mrmc_from_ratings (Obuchowski-Rockette, Hillis ddf)
    hybrid       hybrid_scores, lam_sweep
    crossover    crossover_analysis, crossover_from_rows, cell_aucs (sequence groups, period-effect check)
    reader_model compare_readers_model, compare_ratings (readers vs model vs hybrids)
    ratings      read_ratings, write_ratings, to_exam_level, Ratings, RatingsError
    report       analyse, write_report;  plots: roc_figure, lam_sweep_figure
    cli          python -m readerstudy.analysis {mrmc,bootstrap,report,convert-nyu}

The names below are imported on first use, so importing the package (as Django does for an
app) costs nothing.
"""
from importlib import import_module

_EXPORTS = {
    "auc": "roc", "roc_curve": "roc", "operating_points": "roc",
    "delong_ci": "delong", "delong_test": "delong", "delong_covariance": "delong",
    "bootstrap_auc": "bootstrap", "resample_indices": "bootstrap",
    "or_mrmc": "mrmc", "mrmc_from_ratings": "mrmc",
    "hybrid_scores": "hybrid", "lam_sweep": "hybrid",
    "crossover_analysis": "crossover", "crossover_from_rows": "crossover", "cell_aucs": "crossover",
    "compare_readers_model": "reader_model", "compare_ratings": "reader_model",
    "read_ratings": "ratings", "write_ratings": "ratings", "to_exam_level": "ratings",
    "Ratings": "ratings", "RatingsError": "ratings",
    "analyse": "report", "write_report": "report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
