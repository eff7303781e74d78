"""The fast-net pilots of issue 21 (bench/results.md, "fast-net pilots"): one candidate recipe, trained for a
fixed wall time, then measured on photos outside the corpus.

    python bench/fast_pilot.py KIND STYLE SECONDS [size=256] [sw=200] [lr=...] [tv=0.8] [bs=4] [tag=...]

KIND: gb (magenta26's convolutions frozen, a new (γ, β) row learned; the winner), ft (the same start, every weight
trained), magenta (MagentaNet from random weights), johnson (TransformerNet, width 32, from random weights).
Trains on the training-photo corpus (tools/training_photos.py) for SECONDS, writes fp16 weights and the step
count to OUT/<tag>/net.pt, and measures 512 px pictures of the jpg photos in HELDOUT (jcjohnson/neural-style's
examples/inputs: golden_gate, hoovertowernight, brad_pitt) with ../shared/tools/picture_quality.py.
Environment: LECTUREKIT_PILOT_OUT (default build/pilots), LECTUREKIT_HELDOUT (the photos' folder)."""
import json
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'tools'))
import torch, numpy as np
from PIL import Image
import lecturekit as lk
from lecturekit.fast import train_fast_style
from lecturekit.fast.magenta_net import MagentaNet
from lecturekit.fast.data import folder_images
import picture_quality as pq
torch.set_num_threads(2)
kind, style, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
kw = dict(a.split('=') for a in sys.argv[4:])
size = int(kw.pop('size', 256)); sw = float(kw.pop('sw', 200)); lr = float(kw.pop('lr', 1e-3 if kind != 'gb' else 1e-2))
tvw = float(kw.pop('tv', 0.8)); bs = int(kw.pop('bs', 4)); norm = kw.pop('norm', 'instance')
tag = kw.pop('tag', f'{kind}_{style}_{size}_sw{sw:g}')
ROOT_OUT = os.environ.get('LECTUREKIT_PILOT_OUT', 'build/pilots')
OUT = f'{ROOT_OUT}/{tag}'; os.makedirs(OUT, exist_ok=True)
bb = lk.load_backbone('efficientnet_lite0')
painting = lk.data.load(style, max_size=512)
photos = folder_images(os.path.expanduser('~/.cache/lecturekit/training_photos'), max_size=384)

def from_magenta(train_all):
    src = lk.fast.load_fast_style('magenta26')
    net = MagentaNet(n_styles=1, styles=[style])
    sd = src.state_dict(); own = net.state_dict()
    for k, v in sd.items():
        if k.endswith('.gamma') or k.endswith('.beta'):
            own[k] = v.mean(0, keepdim=True)   # the average style as the start
        else:
            own[k] = v
    net.load_state_dict(own)
    if not train_all:
        for n, p in net.named_parameters():
            p.requires_grad_(n.endswith('.gamma') or n.endswith('.beta'))
    return net

if kind == 'gb': net, arch = from_magenta(False), 'magenta_net'
elif kind == 'ft': net, arch = from_magenta(True), 'magenta_net'
elif kind == 'magenta': net, arch = MagentaNet(n_styles=1, styles=[style]), 'magenta_net'
else: net, arch = None, 'transformer_net'
t0 = time.perf_counter()
stop = lambda *a, **k: time.perf_counter() - t0 > seconds
net, hist = train_fast_style([painting], photos, bb, net=net, arch=arch, steps=100000, size=size, batch_size=bs,
                             style_weight=sw, lr=lr, tv_weight=tvw, width=32, norm=norm, seed=0, progress=False,
                             should_stop=stop, style_names=(style,))
steps = len(hist['total']); mins = (time.perf_counter() - t0) / 60
torch.save({'state': {k: v.half() for k, v in net.state_dict().items()}, 'step': steps, 'kind': kind}, f'{OUT}/net.pt')
tail = lambda k: float(np.mean(hist[k][-50:]))
rec = dict(tag=tag, kind=kind, style=style, size=size, sw=sw, lr=lr, steps=steps, minutes=round(mins, 1),
           s_per_step=round(mins * 60 / steps, 2), loss=round(tail('total'), 3), content=round(tail('content'), 3), style_l=round(tail('style'), 3))
H = os.environ.get('LECTUREKIT_HELDOUT', '../shared/heldout') + '/'
for name in ['golden_gate', 'hoovertowernight', 'brad_pitt']:
    photo = lk.load_image(H + name + '.jpg', max_size=512)
    with torch.no_grad():
        t = time.perf_counter(); y = net(photo.float(), 0); dt = time.perf_counter() - t
    a = (y[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255 + .5).astype(np.uint8)
    Image.fromarray(a).save(f'{OUT}/{name}.png')
    out = pq._t(a); c = pq.resize_to(np.array(Image.open(H + name + '.jpg').convert('RGB')), out)
    s = pq.resize_to((painting[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8), out)
    m = max(pq.chroma_noise(c), pq.chroma_noise(s))
    rec[name] = dict(noise=round(pq.chroma_noise(out) / m, 2), band=round(pq.band(out) / pq.band(s), 2), hist=round(pq.hist_dist(out, s), 2), sec=round(dt, 2))
print(json.dumps(rec), flush=True)
open(f'{ROOT_OUT}/pilots.jsonl', 'a').write(json.dumps(rec) + '\n')
