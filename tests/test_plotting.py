"""The figures' shared look: notes that fit the figure."""

import matplotlib.pyplot as plt

from extreme_sparsity import plotting

LONG_NOTE = "x: not among the best 5 models of each p by validation accuracy, left out of the means " + ", ".join(
    ["bottleneck", "bottleneck_loss", "weight_mask", "weight_mask_control"] * 3
)


def title_extent(fig):
    fig.tight_layout()
    fig.canvas.draw()
    return fig._suptitle.get_window_extent(fig.canvas.get_renderer())


def test_a_long_note_overflows_a_plain_suptitle():
    """The failure notes_title exists for: matplotlib does not wrap a suptitle."""
    fig, _ = plt.subplots(figsize=(6, 3))
    fig.suptitle(LONG_NOTE, fontsize="small")
    assert title_extent(fig).x1 > fig.bbox.width
    plt.close(fig)


def test_notes_title_wraps_each_note_within_the_figure_and_keeps_every_word():
    fig, _ = plt.subplots(figsize=(6, 3))
    plotting.notes_title(fig, ["all 200 models perform well", "", LONG_NOTE])
    extent = title_extent(fig)
    assert 0 <= extent.x0 and extent.x1 <= fig.bbox.width
    text = fig._suptitle.get_text()
    assert text.split() == ("all 200 models perform well " + LONG_NOTE).split()
    assert text.startswith("all 200 models perform well\n")
    plt.close(fig)


def test_notes_title_leaves_a_short_note_on_one_line():
    fig, _ = plt.subplots(figsize=(6, 3))
    plotting.notes_title(fig, ["all 20 models perform well"])
    assert fig._suptitle.get_text() == "all 20 models perform well"
    plt.close(fig)
