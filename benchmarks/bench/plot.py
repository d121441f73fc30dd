"""latency.png: each notice's accept -> every-agency-notified latency against when its last webhook arrived, for P1
(steady) and P2 (burst), so that a queue building up shows as a slope rather than hiding inside a percentile."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: write the file only

import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first


def latency_plot(series: dict[str, list[tuple[float, float]]], path: Path, title: str) -> Path | None:
    """Write the plot of the phases in ``series`` (phase -> points of (seconds since the phase began at which the
    notice's last webhook arrived, its latency in seconds)); None when no phase has a point."""
    drawn = {phase: points for phase, points in series.items() if points}
    if not drawn:
        return None
    figure, axes = plt.subplots(len(drawn), 1, figsize=(9, 3.5 * len(drawn)), squeeze=False)
    for axis, (phase, points) in zip(axes[:, 0], sorted(drawn.items()), strict=True):
        axis.scatter([x for x, _ in points], [y for _, y in points], s=4)
        axis.set_title(f"{phase}: accept -> every agency notified ({len(points)} notices)")
        axis.set_xlabel("seconds since the phase began (its last webhook arrived)")
        axis.set_ylabel("latency (s)")
        axis.grid(True, alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
