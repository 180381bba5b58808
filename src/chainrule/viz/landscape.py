"""Loss landscapes: optimizer paths over a 2-D surface (PNG or animated GIF), and the loss
around a trained model's weights."""

from __future__ import annotations

import io

import numpy as np

from .figure import VizError, finish, new_figure

__all__ = ["animate_optimizer_paths", "plot_model_landscape", "plot_optimizer_paths"]


def _levels(Z):
    """Contour levels from the minimum up: log-spaced when the surface spans decades."""
    low, high = float(np.nanmin(Z)), float(np.nanmax(Z))
    span = max(high - low, 1e-12)
    if span > 100 * max(np.nanpercentile(Z, 10) - low, 1e-12):
        return low + np.concatenate([[0.0], np.geomspace(1e-3 * span, span, 29)])
    return np.linspace(low, low + span, 30)


def _draw_surface(ax, surface, resolution, raster=False):
    """Filled contours of the surface with its minima; raster=True paints the same bands as
    one image, much cheaper to redraw for every frame of an animation."""
    from matplotlib.colors import BoundaryNorm

    X, Y, Z = surface.grid(resolution)
    levels = _levels(Z)
    if raster:
        ax.imshow(
            Z,
            origin="lower",
            extent=(*surface.bounds[0], *surface.bounds[1]),
            aspect="auto",
            cmap="viridis",
            norm=BoundaryNorm(levels, 256, extend="both"),
            alpha=0.85,
            interpolation="nearest",
        )
    else:
        ax.contourf(X, Y, Z, levels=levels, cmap="viridis", alpha=0.85)
        ax.contour(X, Y, Z, levels=levels[::3], colors="white", linewidths=0.4, alpha=0.6)
    for i, (mx, my) in enumerate(surface.minima):
        ax.plot(
            mx,
            my,
            marker="*",
            markersize=14 if i == 0 else 10,
            color="gold",
            markeredgecolor="k",
            linestyle="none",
            label={0: "global minimum", 1: "other minima"}.get(i),
        )
    ax.set(
        xlim=surface.bounds[0],
        ylim=surface.bounds[1],
        xlabel=surface.labels[0],
        ylabel=surface.labels[1],
        title=f"{surface.name}: {surface.formula}",
    )


def _loss_panel(ax, paths, steps=None):
    """Axes for loss against step; a path that blows up leaves the panel at the top
    instead of squashing the others."""
    finite = np.concatenate([p.losses[np.isfinite(p.losses)] for p in paths.values()])
    starts = max(p.losses[0] for p in paths.values())
    low, high = finite.min(), max(min(finite.max(), 10 * abs(starts)), starts)
    if low > 0:
        ax.set_yscale("log")
        ax.set_ylim(low / 2, high * 2)
    else:
        ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low) + 1e-12)
    ax.set(xlabel="step", ylabel="loss", title="loss against step")
    ax.grid(alpha=0.3, which="both")
    if steps is not None:
        ax.set_xlim(0, steps)


def _label(name, p):
    return f"{name} (η = {p.lr:g}){', diverged' if p.diverged else ''}"


def _check_paths(paths):
    if not paths:
        raise VizError("plot_optimizer_paths: no paths to draw")


def plot_optimizer_paths(surface, paths, path=None, resolution=200):
    """Contours of the surface with each optimizer's path, and each loss against step."""
    _check_paths(paths)
    fig, (ax, loss_ax) = new_figure(ncols=2, size=(5.5, 4.5))
    _draw_surface(ax, surface, resolution)
    start = next(iter(paths.values())).points[0]
    ax.plot(*start, marker="o", color="white", markeredgecolor="k", label="start")
    for name, p in paths.items():
        (line,) = ax.plot(p.points[:, 0], p.points[:, 1], linewidth=1.5)
        loss_ax.plot(
            np.arange(len(p.losses)), p.losses, color=line.get_color(), label=_label(name, p)
        )
    _loss_panel(loss_ax, paths)
    ax.legend(fontsize="small", loc="upper left")
    loss_ax.legend(fontsize="small")
    return finish(fig, path)


def animate_optimizer_paths(surface, paths, path, frames=40, fps=10, resolution=150, dpi=72):
    """The paths drawn step by step, written as an animated GIF; returns the figure.

    The surface, axes and legends are drawn once; each frame restores that background and
    draws only the growing paths and loss curves (blitting), then Pillow writes the GIF."""
    from PIL import Image

    from ..atomic import atomic_write_bytes

    _check_paths(paths)
    fig, (ax, loss_ax) = new_figure(ncols=2, size=(5.0, 4.0))
    fig.set_dpi(dpi)
    _draw_surface(ax, surface, resolution, raster=True)
    steps = max(len(p.points) for p in paths.values()) - 1
    lines = []
    for name, p in paths.items():
        (trail,) = ax.plot([], [], linewidth=1.5, animated=True)
        (curve,) = loss_ax.plot(
            [], [], color=trail.get_color(), label=_label(name, p), animated=True
        )
        lines.append((p, trail, curve))
    _loss_panel(loss_ax, paths, steps)
    ax.legend(fontsize="small", loc="upper left")
    loss_ax.legend(fontsize="small")
    canvas = fig.canvas
    canvas.draw()  # lays the figure out once; animated artists are left out of it
    fig.set_layout_engine("none")
    background = canvas.copy_from_bbox(fig.bbox)
    images = []
    for k in np.unique(np.linspace(0, steps, min(frames, steps + 1)).astype(int)):
        canvas.restore_region(background)
        for p, trail, curve in lines:
            trail.set_data(p.points[: k + 1, 0], p.points[: k + 1, 1])
            curve.set_data(np.arange(min(k + 1, len(p.losses))), p.losses[: k + 1])
            ax.draw_artist(trail)
            loss_ax.draw_artist(curve)
        images.append(
            Image.frombuffer(
                "RGBA", canvas.get_width_height(), bytes(canvas.buffer_rgba())
            ).convert("RGB")
        )
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=int(1000 / fps),
        loop=0,
    )
    atomic_write_bytes(path, buffer.getvalue())
    return fig


def _landscape_panel(fig, ax, landscape):
    A, B = np.meshgrid(landscape.alphas, landscape.betas)
    loss = np.where(np.isfinite(landscape.loss), landscape.loss, np.nan)
    filled = ax.contourf(A, B, loss, levels=_levels(loss), cmap="viridis")
    fig.colorbar(filled, ax=ax, shrink=0.8, label="loss")
    ax.plot(
        0,
        0,
        marker="*",
        markersize=12,
        color="gold",
        markeredgecolor="k",
        linestyle="none",
        label="trained weights",
    )
    names = ("α (direction 1)", "β (direction 2)")
    if landscape.path is not None:
        ax.plot(
            landscape.path[:, 0],
            landscape.path[:, 1],
            color="white",
            marker="o",
            markersize=3,
            linewidth=1.2,
            label="training trajectory",
        )
        variance = landscape.explained_variance
        names = (
            f"PC 1 ({100 * variance[0]:.1f}% of variance)",
            f"PC 2 ({100 * variance[1]:.1f}% of variance)",
        )
    ax.set(xlabel=names[0], ylabel=names[1], title=f"loss along {landscape.kind}")
    ax.legend(fontsize="small")


def plot_model_landscape(*landscapes, path=None):
    """One contour panel per ModelLandscape (random directions, trajectory PCA plane)."""
    if not landscapes:
        raise VizError("plot_model_landscape: give at least one ModelLandscape")
    fig, axes = new_figure(ncols=len(landscapes), size=(5.5, 4.5))
    for ax, landscape in zip(axes, landscapes):
        _landscape_panel(fig, ax, landscape)
    return finish(fig, path)
