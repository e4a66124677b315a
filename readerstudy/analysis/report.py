"""A study's full analysis as data (`analyse`) and as files (`write_report`): results.json,
CSV tables, ROC and lam-sweep plots (PNG, SVG, PDF) and a one-page PDF summary.

The hybrid's lam is the protocol's pre-specified one (primary); the lam sweep is exploratory.
A crossover result (`crossover.crossover_analysis`, computed by the caller from the periods,
which the Ratings table does not hold) is written as `crossover.csv` and a section of results.json;
`provenance` (protocol and truth versions, answers used, model run) is stored as given."""
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from . import plots
from .bootstrap import DEFAULT_REPLICATES
from .crossover import CrossoverResult
from .delong import delong_ci
from .hybrid import DEFAULT_LAM, DEFAULT_SWEEP, LamSweep, lam_sweep
from .mrmc import MrmcResult, mrmc_from_ratings
from .ratings import Ratings, RatingsError
from .reader_model import ReaderModelResult, compare_ratings, split_reader_model
from .roc import operating_points
from .serialize import jsonable


@dataclass(frozen=True)
class StudyAnalysis:
    ratings: Ratings
    source: str
    threshold: float | None
    reader_aucs: list[dict]  # modality, reader, auc, DeLong se and CI
    operating_points: list[dict]  # modality, reader, threshold, counts, sensitivity, specificity
    mrmc: MrmcResult | None
    mrmc_note: str | None  # why there is no MRMC result
    reader_model: ReaderModelResult | None
    sweep: LamSweep | None
    crossover: CrossoverResult | None = None
    crossover_note: str | None = None  # why there is no crossover result
    provenance: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        r = self.ratings
        return jsonable({
            "source": self.source,
            "provenance": self.provenance,
            "n_cases": r.n_cases,
            "n_positive": int(r.truth.sum()),
            "n_clusters": len(set(r.cluster_ids)) if r.cluster_ids is not None else r.n_cases,
            "operating_threshold": self.threshold,
            "reader_aucs": self.reader_aucs,
            "operating_points": self.operating_points,
            "mrmc": self.mrmc.to_dict() if self.mrmc else None,
            "mrmc_note": self.mrmc_note,
            "bootstrap": self.reader_model.to_dict() if self.reader_model else None,
            "crossover": self.crossover.to_dict() if self.crossover else None,
            "crossover_note": self.crossover_note,
            "lam_sweep": None if self.sweep is None else {
                "exploratory": True,
                "primary_lam": self.reader_model.lam if self.reader_model else None,
                "lams": self.sweep.lams.tolist(),
                "mean_auc": self.sweep.mean_auc.tolist(),
                "readers": {name: self.sweep.aucs[:, j].tolist() for j, name in enumerate(self.sweep.readers)},
            },
        })


def default_threshold(ratings: Ratings) -> float | None:
    """0.5 for probabilities (every rating in [0, 1]); no default on other scales."""
    every = np.concatenate([m.scores.ravel() for m in ratings.modalities.values()])
    return 0.5 if every.min() >= 0.0 and every.max() <= 1.0 else None


def analyse(ratings: Ratings, model_modality: str | None = None, reader_modality: str | None = None,
            covariance: str = "jackknife", replicates: int = DEFAULT_REPLICATES, seed: int | None = None,
            lam: float = DEFAULT_LAM, threshold: float | None | str = "auto", source: str = "",
            crossover: CrossoverResult | None = None, crossover_note: str | None = None,
            provenance: dict | None = None) -> StudyAnalysis:
    """Every result on a Ratings table. `lam` is the pre-specified hybrid weight; the sweep over
    lam is exploratory. `crossover` and `provenance` are carried into the results as given."""
    if threshold == "auto":
        threshold = default_threshold(ratings)
    reader_aucs, points = [], []
    for modality, data in ratings.modalities.items():
        for j, reader in enumerate(data.readers):
            interval = delong_ci(ratings.truth, data.scores[j])
            reader_aucs.append({"modality": modality, "reader": reader, "auc": interval.auc,
                                "delong_se": interval.se, "delong_ci": list(interval.ci)})
            if threshold is not None:
                op = operating_points(ratings.truth, data.scores[j], [threshold])
                points.append({"modality": modality, "reader": reader, "threshold": threshold,
                               "tp": int(op.tp[0]), "fp": int(op.fp[0]), "tn": int(op.tn[0]), "fn": int(op.fn[0]),
                               "sensitivity": float(op.sensitivity[0]), "specificity": float(op.specificity[0])})

    mrmc, note = None, None
    reader_modalities = [m for m, data in ratings.modalities.items() if m != model_modality and len(data.readers) > 1]
    if len(reader_modalities) >= 2:
        try:
            mrmc = mrmc_from_ratings(ratings, modalities=reader_modalities, covariance=covariance)
        except (RatingsError, ValueError) as error:
            note = str(error)
    else:
        note = "MRMC needs at least two modalities read by the same readers; this study has " + (
            f"one ({reader_modalities[0]})" if reader_modalities else "none")

    result, sweep = None, None
    if model_modality is not None:
        result = compare_ratings(ratings, model_modality, reader_modality, lam=lam,
                                 replicates=replicates, seed=seed)
        _, readers, model_scores = split_reader_model(ratings, model_modality, result.reader_modality)
        sweep = lam_sweep(ratings.truth, readers.scores, model_scores, DEFAULT_SWEEP, readers.readers)
    return StudyAnalysis(ratings=ratings, source=source, threshold=threshold, reader_aucs=reader_aucs,
                         operating_points=points, mrmc=mrmc, mrmc_note=note, reader_model=result, sweep=sweep,
                         crossover=crossover, crossover_note=crossover_note, provenance=dict(provenance or {}))


def write_report(analysis: StudyAnalysis, out_dir) -> list[Path]:
    """Write every file of the report into `out_dir` (created if needed); returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [_write_json(analysis.to_dict(), out / "results.json")]
    written.append(_write_csv(out / "reader_aucs.csv", analysis.reader_aucs,
                              ["modality", "reader", "auc", "delong_se", "delong_ci_low", "delong_ci_high"],
                              lambda row: {**row, "delong_ci_low": row["delong_ci"][0], "delong_ci_high": row["delong_ci"][1]}))
    if analysis.operating_points:
        written.append(_write_csv(out / "operating_points.csv", analysis.operating_points,
                                  ["modality", "reader", "threshold", "tp", "fp", "tn", "fn", "sensitivity", "specificity"]))
    if analysis.mrmc is not None:
        written.append(_write_csv(out / "mrmc_comparisons.csv", _mrmc_rows(analysis.mrmc),
                                  ["modality_1", "modality_2", "difference", "analysis", "statistic_name", "statistic",
                                   "df1", "df2", "p", "se", "ci_low", "ci_high"]))
    if analysis.reader_model is not None:
        written.append(_write_csv(out / "bootstrap_aucs.csv", _bootstrap_rows(analysis.reader_model),
                                  ["kind", "name", "estimate", "ci_low", "ci_high", "se"]))
        sweep = analysis.sweep
        rows = [{"lam": lam, "reader": name, "auc": sweep.aucs[i, j]}
                for i, lam in enumerate(sweep.lams) for j, name in enumerate(sweep.readers)]
        rows += [{"lam": lam, "reader": "average", "auc": value} for lam, value in zip(sweep.lams, sweep.mean_auc, strict=False)]
        written.append(_write_csv(out / "lambda_sweep.csv", rows, ["lam", "reader", "auc"]))
        written += plots.save_figure(plots.lam_sweep_figure(sweep, analysis.reader_model.model_modality,
                                                            primary_lam=analysis.reader_model.lam), out, "lambda_sweep")
    if analysis.crossover is not None:
        written.append(_write_csv(out / "crossover.csv", analysis.crossover.table(), analysis.crossover.table_columns()))
    written += plots.save_figure(_roc_figure(analysis), out, "roc")
    written.append(_write_summary(analysis, out / "summary.pdf"))
    return written


def _roc_panels(analysis: StudyAnalysis):
    ratings = analysis.ratings
    model = analysis.reader_model.model_modality if analysis.reader_model else None
    names = [m for m, d in ratings.modalities.items() if m != model and len(d.readers) > 1]
    if analysis.reader_model is not None:
        names = [analysis.reader_model.reader_modality]
    if not names:
        names = [m for m in ratings.modalities if m != model]
    return [(f"{m} ({len(ratings.modalities[m].readers)} readers)", ratings.modalities[m].scores,
             ratings.modalities[m].readers) for m in names]


def _model_scores(analysis: StudyAnalysis):
    if analysis.reader_model is None:
        return None, "model"
    name = analysis.reader_model.model_modality
    return analysis.ratings.modalities[name].scores[0], name


def _roc_figure(analysis: StudyAnalysis) -> Figure:
    scores, name = _model_scores(analysis)
    return plots.roc_figure(_roc_panels(analysis), analysis.ratings.truth, scores, name, analysis.threshold)


def _write_json(data, path: Path) -> Path:
    path.write_text(json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path


def _write_csv(path: Path, rows, columns, transform=None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(transform(row) if transform else row)
    return path


def _mrmc_rows(result: MrmcResult):
    for c in result.comparisons:
        base = {"modality_1": c.modalities[0], "modality_2": c.modalities[1], "difference": c.difference}
        for name, test, stat_name, stat, df1, df2 in (
            ("rrrc", c.rrrc, "F", c.rrrc.F, c.rrrc.df1, c.rrrc.df2),
            ("frrc", c.frrc, "chi2", c.frrc.statistic, c.frrc.df, ""),
            ("rrfc", c.rrfc, "F", c.rrfc.F, c.rrfc.df1, c.rrfc.df2),
        ):
            yield {**base, "analysis": name, "statistic_name": stat_name, "statistic": stat, "df1": df1,
                   "df2": df2, "p": test.p, "se": test.se, "ci_low": test.ci[0], "ci_high": test.ci[1]}


def _bootstrap_rows(result: ReaderModelResult):
    def row(kind, name, iv):
        return {"kind": kind, "name": name, "estimate": iv.estimate, "ci_low": iv.ci[0], "ci_high": iv.ci[1], "se": iv.se}

    yield from (row("reader", n, iv) for n, iv in result.readers.items())
    yield row("model", result.model_modality, result.model)
    yield from (row("hybrid", n, iv) for n, iv in result.hybrids.items())
    yield row("reader_average", "", result.reader_average)
    yield row("hybrid_average", "", result.hybrid_average)
    yield row("difference", "model - reader average", result.model_minus_reader_average)
    yield row("difference", "hybrid average - reader average", result.hybrid_average_minus_reader_average)
    yield from (row("difference", f"hybrid - reader {n}", iv) for n, iv in result.hybrid_minus_reader.items())
    yield from (row("difference", f"model - reader {n}", iv) for n, iv in result.model_minus_reader.items())


def _summary_lines(analysis: StudyAnalysis) -> list[str]:
    d = analysis.to_dict()
    lines = [f"Cases: {d['n_cases']} ({d['n_positive']} positive) in {d['n_clusters']} clusters"]
    p = analysis.provenance
    if p:
        lines.append(f"{p.get('answers_label', '')}; protocol version {p.get('protocol_version')}, "
                     f"ground-truth version {p.get('truth_version') if p.get('truth_version') is not None else 'none'}")
    rm = analysis.reader_model

    def ci(iv):
        return f"{iv.estimate:.4f} [{iv.ci[0]:.4f}, {iv.ci[1]:.4f}]"

    if rm is not None:
        b = rm.bootstrap
        lines += [f"Bootstrap: {b.n_replicates} paired cluster replicates, seed {b.seed}, "
                  f"{100 * b.level:g}% percentile intervals", "",
                  f"{'reader':<14}{'reader AUC [95% CI]':<28}{f'hybrid (lam={rm.lam:g}, pre-specified)':<28}hybrid - reader"]
        for name in rm.readers:
            lines.append(f"{name[:13]:<14}{ci(rm.readers[name]):<28}{ci(rm.hybrids[name]):<28}"
                         f"{ci(rm.hybrid_minus_reader[name])}")
        lines += [f"{'average':<14}{ci(rm.reader_average):<28}{ci(rm.hybrid_average):<28}"
                  f"{ci(rm.hybrid_average_minus_reader_average)}",
                  f"model {rm.model_modality}: AUC {ci(rm.model)};  model - reader average: "
                  f"{ci(rm.model_minus_reader_average)}"]
    else:
        lines += ["", f"{'modality':<16}{'reader':<14}AUC [DeLong 95% CI]"]
        for row in analysis.reader_aucs[:30]:
            lines.append(f"{row['modality'][:15]:<16}{row['reader'][:13]:<14}{row['auc']:.4f} "
                         f"[{row['delong_ci'][0]:.4f}, {row['delong_ci'][1]:.4f}]")
        if len(analysis.reader_aucs) > 30:
            lines.append(f"... {len(analysis.reader_aucs) - 30} more in reader_aucs.csv")
    lines.append("")
    if analysis.mrmc is not None:
        m = analysis.mrmc
        lines.append(f"MRMC (Obuchowski-Rockette, Hillis ddf, {m.covariance} covariance):")
        for c in m.comparisons[:6]:
            lines.append(f"  {c.modalities[0]} - {c.modalities[1]}: {c.difference:+.4f}; random readers: "
                         f"F={c.rrrc.F:.3f}, ddf={c.rrrc.df2:.2f}, p={c.rrrc.p:.4f}, "
                         f"CI [{c.rrrc.ci[0]:.4f}, {c.rrrc.ci[1]:.4f}]; fixed readers: p={c.frrc.p:.4f}")
    else:
        lines.append(f"MRMC: {analysis.mrmc_note}")
    lines += _crossover_lines(analysis)
    if analysis.threshold is not None and analysis.operating_points:
        sens = np.mean([p["sensitivity"] for p in analysis.operating_points if not rm or p["modality"] == rm.reader_modality])
        spec = np.mean([p["specificity"] for p in analysis.operating_points if not rm or p["modality"] == rm.reader_modality])
        lines.append(f"Operating points at rating >= {analysis.threshold:g}: mean sensitivity {sens:.3f}, "
                     f"mean specificity {spec:.3f}")
    return lines


def _crossover_lines(analysis: StudyAnalysis) -> list[str]:
    x = analysis.crossover
    if x is None:
        return [f"Crossover: {analysis.crossover_note}"] if analysis.crossover_note else []
    lines = [f"Crossover by sequence group (AUC {x.test} - {x.reference}):"]
    for name, g in x.groups.items():
        lines.append(f"  {name} ({g.n_readers} readers): {x.reference} {g.mean_auc[x.reference]:.4f}, "
                     f"{x.test} {g.mean_auc[x.test]:.4f}, difference {g.mean_difference:+.4f}")
    for t in (x.period, x.treatment):
        if t.estimable and t.df is not None and np.isfinite(t.statistic):
            lines.append(f"  {t.effect} effect: {t.estimate:+.4f}, t={t.statistic:.3f}, df={t.df}, p={t.pvalue:.4f}")
        else:
            lines.append(f"  {t.effect} effect: {t.note}")
    return lines


def _write_summary(analysis: StudyAnalysis, path: Path) -> Path:
    """One A4 page: the key numbers as text above the ROC plot."""
    fig = Figure(figsize=(8.27, 11.69))
    fig.text(0.06, 0.965, "Reader study analysis", fontsize=14, weight="bold", va="top")
    fig.text(0.06, 0.94, analysis.source or "", fontsize=8, va="top", color="dimgrey")
    lines = _summary_lines(analysis)
    fig.text(0.06, 0.92, "\n".join(lines), fontsize=6.6 if len(lines) > 24 else 7.5,
             family="monospace", va="top", linespacing=1.35)
    scores, name = _model_scores(analysis)
    title, reader_scores, readers = _roc_panels(analysis)[0]
    ax = fig.add_axes([0.14, 0.04, 0.72, 0.46])
    plots.draw_roc(ax, analysis.ratings.truth, reader_scores, readers, scores, name, analysis.threshold, title)
    fig.savefig(path, metadata={"CreationDate": None})
    return path
