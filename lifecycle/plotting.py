"""One plotting style for the whole course.

Every lesson calls :func:`use_course_style` once; plots then share fonts,
colours and sizes, and every helper labels its axes.
"""
from __future__ import annotations

__all__ = ["COLORS", "use_course_style", "new_axes"]

#: Colour-blind safe palette (Okabe and Ito), in the order plots use it.
COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def use_course_style() -> None:
    """Set matplotlib defaults for the course's figures."""
    import matplotlib as mpl  # here, not above: the service's processes never plot

    mpl.rcParams.update({
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 100,
        "axes.prop_cycle": mpl.cycler(color=COLORS),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.titleweight": "bold",
        "legend.frameon": False,
        "font.size": 10,
    })


def decades_only(axis) -> None:
    """Tick only the powers of ten of a log axis whose view spans two decades or more.

    Its minor ticks, eight unlabelled marks per decade, tell a reader nothing there,
    and laying them out takes about a third of the time it takes to draw the figure.
    Call it once the data are plotted and the axis is logarithmic; other axes are left as
    they are (on a narrower log axis the minor ticks are the scale).

    Parameters
    ----------
    axis : matplotlib.axis.Axis
        ``ax.xaxis`` or ``ax.yaxis``.
    """
    from matplotlib.ticker import NullLocator

    low, high = sorted(axis.get_view_interval())
    if axis.get_scale() == "log" and low > 0 and high >= 100 * low:
        axis.set_minor_locator(NullLocator())


def new_axes(title: str, xlabel: str, ylabel: str, *, ax=None, **subplots_kwargs):
    """Return labelled axes, creating a figure if ``ax`` is None.

    Parameters
    ----------
    title, xlabel, ylabel : str
        Every course plot says what it shows and in which units.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.
    **subplots_kwargs
        Passed to :func:`matplotlib.pyplot.subplots`.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(**subplots_kwargs)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
