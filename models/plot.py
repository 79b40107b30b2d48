"""`ptirc eval --workload bench --plot chart.png`: the bench results as bar charts, one
panel per (model, metric), medians with min-max whiskers."""

from __future__ import annotations

from ptir.errors import UsageError

LABELS = {"latency_ms": "latency (ms, lower is better)", "prefill_ms": "prefill (ms, lower is better)",
          "decode_tok_s": "decode (tokens/s, higher is better)"}


def plot_bench(reports, path: str) -> None:
    """Draw every bench report's latency-like metrics into one PNG at `path`."""
    try:
        import matplotlib
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install -e '.[bench]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    for r in reports:
        for metric in LABELS:
            rows = [x for x in r.data.get("results", []) if x["metric"] == metric]
            if rows:
                panels.append((f"{r.data['model']} on {r.data['target']}", metric, rows))
    if not panels:
        raise UsageError("--plot draws bench results: use it with --workload bench")
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.2 + 1.2 * len(panels)), squeeze=False)
    for ax, (title, metric, rows) in zip(axes[:, 0], panels, strict=True):
        names = [x["impl"] for x in rows]
        med = [x["median"] for x in rows]
        err = [[m - x["min"] for m, x in zip(med, rows, strict=True)],
               [x["max"] - m for m, x in zip(med, rows, strict=True)]]
        colors = ["tab:blue" if n.startswith("ptir") else "tab:gray" for n in names]
        ax.barh(names, med, xerr=err, color=colors, capsize=3)
        for y, m in enumerate(med):
            ax.text(m, y, f" {m:.3g}", va="center")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(LABELS[metric])
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
