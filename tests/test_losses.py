import pytest
import torch
import torch.nn.functional as F

from lecturekit.losses import (content_loss, feature_reconstruction_loss, gram_loss, gram_matrix, l2_activation,
                               total_variation, tv_terms)


def test_gram_matches_einsum():
    f = torch.randn(2, 5, 4, 3)
    ref = torch.einsum("nchw,ndhw->ncd", f, f)
    assert torch.allclose(gram_matrix(f, None), ref, atol=1e-5)
    assert torch.allclose(gram_matrix(f, "hw"), ref / 12, atol=1e-6)
    assert torch.allclose(gram_matrix(f, "chw"), ref / 60, atol=1e-6)
    assert torch.allclose(gram_matrix(f, "gatys"), ref / 120, atol=1e-6)


def test_gram_is_the_average_outer_product():
    f = torch.randn(1, 4, 3, 5)
    loop = torch.zeros(4, 4)
    for i in range(3):
        for j in range(5):
            v = f[0, :, i, j]
            loop += torch.outer(v, v)
    assert torch.allclose(gram_matrix(f, "hw")[0], loop / 15, atol=1e-6)


def test_gram_exact_tiny():
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 0.0]]]])  # C=2, H=1, W=2
    assert gram_matrix(f, None)[0].tolist() == [[5.0, 3.0], [3.0, 9.0]]


def test_gram_ignores_spatial_permutation():
    f = torch.randn(1, 6, 7, 9)
    perm = torch.randperm(63)
    shuffled = f.flatten(2)[:, :, perm].view_as(f)
    assert not torch.allclose(f, shuffled)
    assert torch.allclose(gram_matrix(f), gram_matrix(shuffled), atol=1e-5)


def test_gatys_normalization_gives_E_l():
    f, a = torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    n, m = 3, 16
    e_l = ((gram_matrix(f, None) - gram_matrix(a, None)) ** 2).sum() / (4 * n**2 * m**2)
    assert torch.allclose(gram_loss(gram_matrix(f, "gatys"), gram_matrix(a, "gatys")), e_l)


def test_bad_normalization():
    with pytest.raises(ValueError, match="normalize"):
        gram_matrix(torch.randn(1, 2, 2, 2), "bogus")


def test_tv_exact_tiny():
    # a grey 2x2 image (R = G = B: no chroma) at the reference size of 256 px per side: unit 1/128
    grey = torch.tensor([[0.0, 1.0], [2.0, 4.0]]).expand(1, 3, 2, 2)
    lum, chroma = total_variation(grey)
    unit = 2 / 256
    # horizontal differences 1 and 2 (mean 2.5 of their squares), vertical 2 and 3 (mean 6.5)
    assert lum.item() == pytest.approx((2.5 + 6.5) * unit**2) and chroma.item() == pytest.approx(0.0, abs=1e-12)
    lum1, _ = total_variation(grey, beta=1.0)
    assert lum1.item() == pytest.approx((1.5 + 2.5) * unit, rel=1e-5)  # mean |Δ| (eps aside)


def test_tv_beta_2_is_the_quadratic_luminance_and_chroma_tv():
    from lecturekit.color import rgb_to_ycc
    x = torch.rand(2, 3, 9, 13)
    ycc = rgb_to_ycc(x)

    def quadratic(c):
        return (c[..., :, 1:] - c[..., :, :-1]).pow(2).mean() + (c[..., 1:, :] - c[..., :-1, :]).pow(2).mean()
    unit2 = (13 / 256) ** 2
    lum, chroma = total_variation(x)
    assert torch.equal(lum, quadratic(ycc[:, :1]) * unit2) and torch.equal(chroma, quadratic(ycc[:, 1:]) * unit2)
    assert set(tv_terms(x, 2.0, 0.0)) == {"tv"} and tv_terms(x, 0.0, 0.0) == {}
    terms = tv_terms(x, 2.0, 3.0, name="tv_beta")
    assert torch.equal(terms["tv_beta"], 2.0 * lum) and torch.equal(terms["tv_beta_chroma"], 3.0 * chroma)


@pytest.mark.parametrize("beta", [2.0, 1.5, 1.0])
def test_tv_gradient_matches_numeric(beta):
    x = (torch.rand(1, 3, 5, 6, dtype=torch.float64) + 0.1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: sum(total_variation(t, beta=beta)), (x,), eps=1e-6, atol=1e-5)


def test_content_and_reconstruction_losses():
    a = torch.tensor([[[[1.0, 2.0]]]])
    b = torch.tensor([[[[1.0, 4.0]]]])
    assert content_loss(a, b).item() == 2.0                                  # (0 + 4) / 2
    assert abs(feature_reconstruction_loss(a, b).item() - 4.0 / 17.0) < 1e-7  # 4 / (1 + 16)
    assert l2_activation(b).item() == 8.5


def test_gram_loss_scale():
    g, a = torch.ones(1, 2, 2), torch.zeros(1, 2, 2)
    assert gram_loss(g, a).item() == 4.0
    assert gram_loss(g, a, scale=8.0).item() == 0.5


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_gram_gradient_is_exact_in_both_layouts(layout):
    """The one-product backward of the Gram matrix against finite differences, NCHW and NHWC."""
    f = torch.rand(2, 3, 4, 5, dtype=torch.float64).contiguous(memory_format=layout).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: gram_matrix(t, "hw"), (f,))
    a = torch.rand(2, 3, 3, dtype=torch.float64)
    loss = ((gram_matrix(f, "hw") - a) ** 2).sum()
    (g,) = torch.autograd.grad(loss, f)
    fr = f.detach().reshape(2, 3, 20).requires_grad_(True)
    ref = ((torch.einsum("ncp,ndp->ncd", fr, fr) / 20 - a) ** 2).sum()
    (gr,) = torch.autograd.grad(ref, fr)
    assert torch.allclose(g.reshape(2, 3, 20), gr)


def test_colour_distribution_ignores_where_colours_are_and_sees_a_colour_cast():
    from lecturekit.losses import colour_distribution_loss
    torch.manual_seed(0)
    x = torch.rand(1, 3, 16, 16)
    shuffled = x.flatten(2)[..., torch.randperm(256)].reshape(1, 3, 16, 16)
    assert float(colour_distribution_loss(x, x)) == pytest.approx(0.0, abs=1e-12)
    assert float(colour_distribution_loss(shuffled, x, blur=1)) == pytest.approx(0.0, abs=1e-12)
    cast = (x + torch.tensor([0.2, 0.0, -0.1]).view(1, 3, 1, 1)).clamp(0, 1)
    assert float(colour_distribution_loss(cast, x, blur=1)) > 1e-3
    bigger = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")  # other sizes are compared by quantiles
    assert float(colour_distribution_loss(bigger, x, blur=1)) < 1e-3
    y = cast.clone().requires_grad_(True)
    colour_distribution_loss(y, x).backward()
    assert y.grad.abs().sum() > 0


def test_the_colour_term_is_one_more_named_texture_term(lite0_random):
    from lecturekit import texture
    from lecturekit.losses import GramTargets
    bb = lite0_random
    sample = torch.rand(1, 3, 32, 32)
    features = lambda im, ls: bb.features(im, ls)  # noqa: E731
    targets = GramTargets(features, [sample], list(bb.defaults.texture_layers), prefix="texture")
    x = torch.rand(1, 3, 32, 32)
    assert "colour" not in texture.texture_loss(features, targets)(x)
    terms = texture.texture_loss(features, targets, sample=sample, colour_weight=100.0)(x)
    assert float(terms["colour"]) > 0
    assert torch.equal(terms["texture"], texture.texture_loss(features, targets)(x)["texture"])


def test_strided_patch_colours_weigh_every_pixel_alike():
    """blur 6 at stride 2 (style transfer's patches): a quarter of the colours, and every interior pixel in
    the same number of patches, so the term cannot paint a grid."""
    from lecturekit.losses import ColourTargets
    target = torch.rand(1, 3, 32, 32)
    colours = ColourTargets(target, blur=6, stride=2)
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    p = colours.projections(x)
    assert p.shape[1] == 17 * 17  # (32 + 2·3 − 6) / 2 + 1 patches per side, not 32
    p[0].sum().backward()
    interior = x.grad[0, 0, 6:-6, 6:-6]
    assert torch.allclose(interior, interior[0, 0].expand_as(interior))


def test_a_blend_of_paintings_has_the_mixture_of_their_colours():
    """Half black, half white paintings blended 50/50: a picture half black and half white matches the
    blend's colours, a grey one does not (an average of the two distances would prefer grey)."""
    from lecturekit.losses import ColourTargets
    black, white = torch.zeros(1, 3, 16, 16), torch.ones(1, 3, 16, 16)
    mixed = ColourTargets.mixture([black, white], [0.5, 0.5], blur=1)
    halves = torch.cat([torch.zeros(1, 3, 16, 8), torch.ones(1, 3, 16, 8)], -1)
    assert float(mixed.loss(halves)) < 1e-6
    assert float(mixed.loss(torch.full((1, 3, 16, 16), 0.5))) > 0.1
    only_white = ColourTargets.mixture([black, white], [0.0, 1.0], blur=1)
    assert torch.equal(only_white.sorted, ColourTargets(white, blur=1).sorted)


def test_texture_and_style_take_their_colour_weight_from_the_prior(lite0_random):
    """One home for the palette weight: the prior (3000 for texture, 30 000 for style; 0 in "plain")."""
    import lecturekit as lk
    sample = torch.rand(1, 3, 32, 32)
    runs = {p: lk.synthesize_texture(sample, lite0_random, size=32, steps=2, seed=0, prior=p, progress=False)
            for p in ("default", "plain")}
    assert runs["default"].config["colour_weight"] == 3000.0 and "colour" in runs["default"].history
    assert runs["plain"].config["colour_weight"] == 0.0 and "colour" not in runs["plain"].history
    assert lk.synthesize_texture(sample, lite0_random, size=32, steps=2, seed=0, prior="plain", colour_weight=5.0,
                                 progress=False).config["prior"]["colour"] == 5.0


def test_stroke_bands_are_the_luminance_difference_of_gaussians():
    from lecturekit.color import rgb_to_ycc
    from lecturekit.losses import stroke_bands

    def blur(y, sigma):  # a plain spatial Gaussian, reflect-padded
        r = int(4 * sigma)
        k = torch.exp(-torch.arange(-r, r + 1.0) ** 2 / (2 * sigma**2))
        k = (k / k.sum()).view(1, 1, 1, -1)
        y = F.pad(y, (r, r, r, r), mode="reflect")
        return F.conv2d(F.conv2d(y, k), k.transpose(-1, -2))

    torch.manual_seed(0)
    x = F.avg_pool2d(torch.rand(1, 3, 130, 170), 3, stride=1, padding=1)
    assert all(float(b.abs().max()) < 1e-5 for b in stroke_bands(torch.full((1, 3, 40, 50), 0.4)))  # flat: no strokes
    y = rgb_to_ycc(x)[:, :1]
    expected = F.avg_pool2d(blur(y, 1.0) - blur(y, 3.0), 2, ceil_mode=True).flatten()
    band = stroke_bands(x, (1.0, 3.0))[0]
    assert band.numel() == 65 * 85  # averaged over 2 × 2 blocks
    assert torch.allclose(band, expected, atol=1e-4)
    assert [b.numel() for b in stroke_bands(x)] == [65 * 85, 65 * 85, 33 * 43]
    grain = stroke_bands(x, (0.5, 1.0))[0]  # a band finer than 1 px keeps every pixel
    assert grain.numel() == 130 * 170
    spatial = (blur(y, 0.5) - blur(y, 1.0)).flatten()  # a sampled 0.5 px Gaussian is only close to the true one
    assert float(F.cosine_similarity(grain, spatial, 0)) > 0.97


def test_texture_takes_its_grain_terms_from_the_prior(lite0_random):
    """The sample's strokes (2-16 px bands) and its own TV are prior terms of texture synthesis: on in the
    default prior (which has no fixed luminance TV), off in "plain", each set by its weight= and refused without
    its target; sample_tv is refused in the other lessons."""
    import lecturekit as lk
    from lecturekit import texture
    from lecturekit.checks import ParameterError
    from lecturekit.losses import GramTargets, StrokeTargets
    from lecturekit.prior import DEFAULTS, resolve
    torch.manual_seed(0)
    sample = torch.rand(1, 3, 32, 32)
    runs = {p: lk.synthesize_texture(sample, lite0_random, size=32, steps=2, seed=0, prior=p, progress=False)
            for p in ("default", "plain")}
    assert "tv" not in runs["default"].history
    terms = (("strokes", "strokes", "stroke_weight"), ("tv_sample", "sample_tv", "sample_tv_weight"))
    for term, field, option in terms:
        assert runs["default"].config[option] == getattr(DEFAULTS["texture"], field) > 0
        assert term in runs["default"].history and term not in runs["plain"].history
        off = lk.synthesize_texture(sample, lite0_random, size=32, steps=2, seed=0, progress=False, **{option: 0})
        assert term not in off.history and off.config["prior"][field] == 0
    features = lambda im, ls: lite0_random.features(im, ls)  # noqa: E731
    targets = GramTargets(features, [sample], ["stem"], prefix="texture")
    with pytest.raises(ValueError, match="StrokeTargets"):
        texture.texture_loss(features, targets, DEFAULTS["texture"])
    with pytest.raises(ValueError, match="sample_tv"):
        texture.texture_loss(features, targets, DEFAULTS["texture"], strokes=StrokeTargets(sample))
    with pytest.raises(ParameterError, match="sample_tv"):
        resolve({"sample_tv": 1.0}, "style")


def test_the_relative_tv_measures_grain_per_pixel_and_cannot_be_met_with_a_checkerboard():
    from lecturekit.losses import luminance_grain, relative_tv_loss
    torch.manual_seed(0)
    noise = F.interpolate(torch.rand(1, 3, 32, 32), scale_factor=4, mode="bilinear")
    crop = luminance_grain(noise[..., :64, :64])
    assert torch.allclose(crop, luminance_grain(noise), rtol=0.15)  # per pixel step, not per side
    target = luminance_grain(noise)
    assert float(relative_tv_loss(noise, target)) < 1e-10
    soft, grainy = 0.5 + 0.5 * (noise - 0.5), 0.5 + 2 * (noise - 0.5)  # a quarter and four times the TV
    checker = 0.03 * (torch.arange(128)[:, None] + torch.arange(128)[None]).remainder(2).float()
    assert torch.allclose(luminance_grain(soft + checker)[0], luminance_grain(soft)[0], atol=1e-7)  # blind to it
    assert float(relative_tv_loss(soft + checker, target)) >= float(relative_tv_loss(soft, target))
    assert float(relative_tv_loss(noise + checker, target)) > 0.05  # more 1 px grain than the target: penalized
    for picture, sharpen in ((soft, True), (grainy, False)):
        x = picture.clone().requires_grad_(True)
        relative_tv_loss(x, target).backward()
        stepped = (x - 0.01 * x.grad / x.grad.abs().max()).detach()
        assert (luminance_grain(stepped)[0] > luminance_grain(picture)[0]) == sharpen  # toward the target's grain


def test_the_stroke_term_sees_contrast_not_position_and_its_gradient_flows():
    from lecturekit.losses import StrokeTargets, stroke_distribution_loss
    torch.manual_seed(0)
    painting = F.interpolate(torch.rand(1, 3, 24, 32), size=(96, 128), mode="bilinear")
    shuffled = torch.cat([painting[..., 64:], painting[..., :64]], -1)  # the same strokes, elsewhere
    soft = 0.5 + 0.4 * (painting - 0.5)  # the same picture with 0.4x the contrast
    targets = StrokeTargets(painting)
    assert float(targets.loss(painting)) < 1e-10
    assert float(targets.loss(shuffled)) < 0.05 * float(targets.loss(soft))
    assert float(stroke_distribution_loss(soft, painting)) == pytest.approx(0.36, rel=0.1)  # (1 − 0.4)²
    x = soft.clone().requires_grad_(True)
    targets.loss(x).backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_a_blend_of_paintings_has_the_mixture_of_their_strokes():
    from lecturekit.losses import StrokeTargets
    torch.manual_seed(0)
    bold = F.interpolate(torch.rand(1, 3, 16, 16), size=(64, 64), mode="bilinear")
    flat = torch.full((1, 3, 64, 64), 0.5)
    both = torch.cat([bold, flat], -1)
    mixed = StrokeTargets.mixture([bold, flat], [0.5, 0.5])
    assert float(mixed.loss(both)) < 0.5 * min(float(StrokeTargets(bold).loss(both)), float(StrokeTargets(flat).loss(both)))
    assert float(StrokeTargets.mixture([bold, flat], [1.0, 0.0]).loss(bold)) < 1e-10


def test_the_palette_sees_a_faint_tint_on_a_grey_painting():
    """Patches of lavender and green (±3 %) on a grey painting: on the RGB axes alone they hide under the spread
    of light and dark; the two chroma axes (B − Y, R − Y) among the directions see them in full."""
    from lecturekit.losses import ColourTargets
    torch.manual_seed(0)
    grey = F.interpolate(torch.rand(1, 1, 8, 8), size=(32, 32), mode="bilinear").expand(1, 3, 32, 32)
    tint = torch.tensor([0.03, -0.015, 0.03]).view(1, 3, 1, 1)
    tinted = grey + torch.where(torch.rand(1, 1, 32, 32) > 0.5, 1.0, -1.0) * tint
    colours = ColourTargets(grey, blur=1)
    assert float(colours.projections(grey)[3:5].abs().max()) < 1e-6  # a grey painting has no chroma
    rgb_only = ColourTargets(grey, blur=1, directions=3)
    assert float(colours.loss(tinted)) > 4 * float(rgb_only.loss(tinted))
