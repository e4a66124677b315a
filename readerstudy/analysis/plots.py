"""ROC and lam-sweep figures (matplotlib, no pyplot: figures are plain objects rendered by
the Agg/PDF/SVG canvases, so they are safe to build inside a web worker)."""
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .roc import operating_points, roc_curve

FORMATS = ("png", "svg", "pdf")
_GRID = np.linspace(0.0, 1.0, 501)


def vertical_average(curves) -> tuple[np.ndarray, np.ndarray]:
    """Vertical average of empirical ROC curves: mean TPR at each FPR of a fine grid (at a
    vertical step the upper TPR counts)."""
    tprs = []
    for curve in curves:
        # Keep the highest TPR of each FPR so the interpolation's x values are increasing.
        last = np.r_[curve.fpr[1:] != curve.fpr[:-1], True]
        tprs.append(np.interp(_GRID, curve.fpr[last], curve.tpr[last]))
    return _GRID, np.mean(tprs, axis=0)


def draw_roc(ax, truth, reader_scores, readers, model_scores=None, model_name="model",
             threshold=None, title=None) -> None:
    """Each reader's curve (and operating point at `threshold`), the readers' vertical
    average, and the model's curve, on one axes."""
    reader_scores = np.atleast_2d(reader_scores)
    colours = _reader_colours(len(readers))
    curves = []
    for scores, name, colour in zip(reader_scores, readers, colours, strict=False):
        curve = roc_curve(truth, scores)
        curves.append(curve)
        ax.plot(curve.fpr, curve.tpr, color=colour, lw=0.8, alpha=0.6, label=name if len(readers) <= 8 else None)
        if threshold is not None:
            point = operating_points(truth, scores, [threshold])
            ax.plot(1 - point.specificity[0], point.sensitivity[0], "o", ms=4, color=colour,
                    markeredgecolor="black", markeredgewidth=0.4)
    if len(curves) > 1:
        grid, mean_tpr = vertical_average(curves)
        ax.plot(grid, mean_tpr, color="black", lw=2.0, label=f"reader average ({len(curves)} readers)")
    if len(readers) > 8:
        ax.plot([], [], color="grey", lw=0.8, label="individual readers")
    if threshold is not None:
        ax.plot([], [], "o", ms=4, color="grey", markeredgecolor="black", markeredgewidth=0.4,
                label=f"reader operating points (rating >= {threshold:g})")
    if model_scores is not None:
        curve = roc_curve(truth, model_scores)
        ax.plot(curve.fpr, curve.tpr, color="#d62728", lw=2.0, label=f"model: {model_name}")
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=0.8)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("1 - specificity (false positive rate)")
    ax.set_ylabel("sensitivity (true positive rate)")
    ax.grid(True, lw=0.3, alpha=0.5)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=7, framealpha=0.9)


def roc_figure(panels, truth, model_scores=None, model_name="model", threshold=None) -> Figure:
    """One ROC panel per entry of `panels`: (title, reader_scores (r, n), reader names)."""
    n = len(panels)
    fig = Figure(figsize=(5.5 * n, 5.5), layout="constrained")
    for i, (title, scores, readers) in enumerate(panels):
        draw_roc(fig.add_subplot(1, n, i + 1), truth, scores, readers, model_scores, model_name, threshold, title)
    return fig


def lam_sweep_figure(sweep, model_name="model", primary_lam=None) -> Figure:
    """Hybrid AUC against lam (exploratory): each reader thin, the reader average bold; lam 0 is
    the model alone, lam 1 the reader alone. `primary_lam`, the protocol's pre-specified lam, is
    marked; the best lam of the grid is picked after seeing the data and is no primary result."""
    fig = Figure(figsize=(6.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for j in range(sweep.aucs.shape[1]):
        ax.plot(sweep.lams, sweep.aucs[:, j], color="grey", lw=0.7, alpha=0.7)
    ax.plot([], [], color="grey", lw=0.7, label="each reader's hybrid")
    ax.plot(sweep.lams, sweep.mean_auc, color="black", lw=2.0, label="reader average")
    best_lam, best_auc = sweep.best()
    ax.plot(best_lam, best_auc, "o", color="#d62728", label=f"best average on the grid: lam={best_lam:g}, AUC={best_auc:.4f}")
    if primary_lam is not None:
        ax.axvline(primary_lam, color="#1f77b4", ls="--", lw=1.0, label=f"pre-specified lam={primary_lam:g} (primary)")
    ax.set_xlabel(f"lam  (hybrid = lam x reader + (1 - lam) x {model_name})")
    ax.set_ylabel("AUC")
    ax.set_xlim(0, 1)
    ax.grid(True, lw=0.3, alpha=0.5)
    ax.legend(fontsize=8, loc="lower center")
    ax.set_title("Reader + model hybrids: lam sweep (exploratory)", fontsize=10)
    return fig


def save_figure(fig: Figure, out_dir, stem: str, formats=FORMATS) -> list[Path]:
    out_dir = Path(out_dir)
    paths = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        fig.savefig(path, dpi=150 if fmt == "png" else None, metadata=_metadata(fmt))
        paths.append(path)
    return paths


def _metadata(fmt):
    # Fixed metadata keeps SVG/PDF output byte-stable between runs of the same data.
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return None


def _reader_colours(n):
    from matplotlib import colormaps

    cmap = colormaps["tab20"] if n > 10 else colormaps["tab10"]
    return [cmap(i % cmap.N) for i in range(n)]
