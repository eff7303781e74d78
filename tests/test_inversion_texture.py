import torch

import lecturekit as lk
from lecturekit.color import match_histogram
from lecturekit.inversion import psnr


def test_inversion_loss_decreases(lite0, tubingen):
    img = tubingen[..., :48, :64]
    r = lk.invert_features(img, lite0, layer="stage1", steps=30, progress=False)
    assert r.history["features"][-1] < 0.5 * r.history["features"][0]
    assert r.image.shape == img.shape
    assert r.config["psnr"] == psnr(r.image, img)


def test_shallow_layers_reconstruct_better_than_deep(lite0, tubingen):
    img = tubingen[..., :64, :64]
    shallow = lk.invert_features(img, lite0, layer="stage0", steps=60, progress=False)
    deep = lk.invert_features(img, lite0, layer="stage5", steps=60, progress=False)
    assert shallow.config["mse"] < deep.config["mse"]


def test_efros_leung_copies_colours_and_patches_from_the_sample():
    g = torch.Generator().manual_seed(0)
    palette = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    idx = torch.randint(0, 4, (12, 12), generator=g)
    sample = palette[idx].permute(2, 0, 1)[None]
    out, src = lk.efros_leung(sample, 16, window=5, seed=0, return_source=True)
    assert out.shape == (1, 3, 16, 16)
    colours = {tuple(c) for c in palette.tolist()}
    assert {tuple(c) for c in out[0].flatten(1).t().tolist()} <= colours
    assert (src >= 0).all()
    copied = sample[0][:, src[..., 0], src[..., 1]]
    assert torch.equal(copied, out[0])


def test_efros_leung_reproduces_a_periodic_texture():
    stripes = (torch.arange(20) % 4 < 2).float()
    sample = stripes[None, :].expand(20, 20)[None].expand(3, -1, -1)[None].contiguous()
    out = lk.efros_leung(sample, (12, 20), window=5, seed=1)
    row = out[0, 0]
    # vertical stripes of period 4: every row equals every other row
    assert torch.equal(row, row[:1].expand_as(row))


def test_texture_loss_decreases_and_size_can_grow(lite0, tubingen):
    sample = tubingen[..., :48, :48]
    r = lk.synthesize_texture(sample, lite0, layers=["stem", "stage1"], size=64, steps=20, seed=0, progress=False)
    assert r.history["total"][-1] < 0.1 * r.history["total"][0]
    assert r.history["texture"][-1] < 0.5 * r.history["texture"][0]  # the grain term takes its share of 20 steps
    plain = lk.synthesize_texture(sample, lite0, layers=["stem", "stage1"], size=64, steps=20, seed=0, progress=False,
                                  stroke_weight=0)
    assert plain.history["texture"][-1] < 0.3 * plain.history["texture"][0]  # the Gram loss alone falls further
    assert r.image.shape == (1, 3, 64, 64)
    assert "texture:stem" in r.history


def test_histogram_matching():
    src = torch.rand(1, 3, 10, 10)
    ref = torch.rand(1, 3, 20, 20) ** 3
    out = match_histogram(src, ref)
    for c in range(3):
        assert torch.allclose(out[0, c].flatten().sort().values,
                              ref[0, c].flatten().sort().values[torch.linspace(0, 399, 100).round().long()])
    # ranks are kept
    assert torch.equal(out[0, 0].flatten().argsort(), src[0, 0].flatten().argsort())


def test_inversion_keeps_the_lesson_tv_beside_the_prior_tv(lite0):
    from lecturekit.inversion import inversion_loss
    from lecturekit.losses import total_variation
    from lecturekit.prior import ImagePrior
    x = torch.rand(1, 3, 32, 32)
    target = lite0.features(x, "stage1")["stage1"]
    terms = inversion_loss(lite0, "stage1", target, 10.0, 1.5, ImagePrior(tv=2.0, chroma_tv=3.0))(x)
    lum_beta, chroma_beta = total_variation(x, beta=1.5)
    lum, chroma = total_variation(x)
    assert torch.allclose(terms["tv_beta"], 10.0 * lum_beta) and torch.allclose(terms["tv_beta_chroma"], 10.0 * chroma_beta)
    assert torch.allclose(terms["tv"], 2.0 * lum) and torch.allclose(terms["tv_chroma"], 3.0 * chroma)


def test_a_texture_can_be_painted_on_a_canvas(lite0_random, tubingen, monkeypatch):
    import lecturekit.optimize
    starts, original = [], lecturekit.optimize.optimize_image

    def spy(loss_fn, init, **options):
        starts.append((tuple(init.shape[-2:]), options.get("margin", 0), init))
        return original(loss_fn, init, **options)
    monkeypatch.setattr(lecturekit.optimize, "optimize_image", spy)
    r = lk.synthesize_texture(tubingen[..., :48, :48], lite0_random, size=(40, 56), steps=3, seed=0, progress=False,
                              prior={"canvas": 4, "stages": (1.0,)}, snapshots=(0,))
    (shape, margin, init), = starts
    assert shape == (48, 64) and margin == 4  # the loss saw the canvas, 4 px wider on every side
    assert torch.equal(init[..., :4, 4:-4], init[..., 4:8, 4:-4].flip(-2))  # started from the noise mirrored
    assert r.image.shape == r.snapshots[0].shape == (1, 3, 40, 56)  # the picture inside it


def test_the_texture_palette_keeps_colours_the_sample_lacks_out(lite0, monkeypatch):
    """On 8 directions of RGB a colour between two of the sample's (green between The Starry Night's blue and
    yellow) could match every projection of the colour term; on the palette's 32 the texture's colours stay
    closer to the sample's (8 × 8 × 8 colour-histogram distance)."""
    from lecturekit import texture

    sample = lk.resize(lk.data.load("starry_night")[..., 100:356, 200:456], 64)

    def hist_distance(x):
        def h(img):
            bins = (img[0].clamp(0, 0.999) * 8).long()
            v = torch.bincount(((bins[0] * 8 + bins[1]) * 8 + bins[2]).flatten(), minlength=512).float()
            return v / v.sum()
        return float((h(x) - h(sample)).abs().sum())

    def run():
        return lk.synthesize_texture(sample, backbone=lite0, size=64, steps=60, seed=0, progress=False).image
    assert texture.PALETTE["directions"] == 32
    wide = hist_distance(run())
    monkeypatch.setitem(texture.PALETTE, "directions", 8)
    narrow = hist_distance(run())
    assert wide < narrow - 0.05


def test_a_texture_takes_its_grain_from_the_sample_s_own_tv(lite0):
    """A fixed luminance TV smooths every texture alike: grainier than a smooth sample. Measured against the
    sample's own TV (`prior.sample_tv`), the texture's grain, 2 px and 1 px wide, is the sample's, for a sharp
    sample and the same sample blurred."""
    from lecturekit.images import gaussian_blur
    from lecturekit.losses import luminance_grain
    def ratio(sample, **weights):
        r = lk.synthesize_texture(sample, lite0, size=64, steps=60, seed=0, progress=False, **weights)
        return luminance_grain(r.image) / luminance_grain(sample)  # (2 px, 1 px)

    sharp = lk.resize(lk.data.load("udnie")[..., 100:356, 200:456], 64)
    blurred = gaussian_blur(sharp, 1.0)
    for sample in (sharp, blurred):
        own = ratio(sample)
        assert ((0.8 < own) & (own < 1.25)).all()
    assert ratio(blurred, sample_tv_weight=0, tv_weight=1.0)[1] > 1.5  # a fixed TV: grainier than the sample
