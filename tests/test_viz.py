import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lecturekit import viz  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_same_scale_panels_are_as_wide_as_their_images():
    small, large = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 128, 128)
    viz.show_images([small, large], ["128", "256"], same_scale=True, size=4.0)
    fig = plt.gcf()
    a, b = fig.axes
    assert b.get_position().width == pytest.approx(2 * a.get_position().width, rel=0.05)
    assert a.images[0].get_interpolation() == "nearest"


def test_grid_fits_the_tallest_panel_and_skips_empty_titles():
    wide, tall = torch.rand(1, 3, 32, 64), torch.rand(1, 3, 64, 32)
    viz.show_images([wide, tall], ["", ""], size=2.0)
    fig = plt.gcf()
    assert fig.get_size_inches()[1] == pytest.approx(2.0 * 2 + 0.1)  # the tall panel's aspect, no title row
    assert all(ax.get_title() == "" for ax in fig.axes)


def test_symmetric_heatmap_is_centred_on_zero():
    m = torch.tensor([[1.0, -3.0], [-3.0, 2.0]])
    ax = viz.show_heatmap(m, "gram", symmetric=True)
    assert ax.images[0].get_clim() == (-3.0, 3.0)
    assert ax.images[0].get_cmap().name == "RdBu_r"
    assert viz.show_heatmap(m).images[0].get_cmap().name == "viridis"
