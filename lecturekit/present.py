"""Presenting a lesson in class, offline and without waiting for it to run.

- `presenter_notebook(path)`: the lesson with its stored outputs replayed (no computation) and only the
  set-up cell and the explorers run live. `make present NB=05` serves it with Voilà.
- `slides_html(path)`: one self-contained HTML file (figures embedded, formulas drawn by matplotlib's
  mathtext, no network), a slide per section; arrow keys move between slides.
- `export_figures(path, folder)`: every stored figure as a PNG at least `min_width` px wide.

    python tools/present.py slides notebooks/*.ipynb          # what `make slides` runs
"""
from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path

LIVE_TAG = "present"  # a code cell tagged so runs live in the presentation too (cheap set-up it needs)


def _cells(path: str | Path) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def is_live(cell: dict) -> bool:
    """Run live when presenting: the set-up (the cell that imports lecturekit), the explorers, and cells
    tagged "present"."""
    src = _source(cell)
    return ("import lecturekit" in src or "lk.widgets." in src
            or LIVE_TAG in cell.get("metadata", {}).get("tags", []))


def replay(path: str | Path, index: int) -> None:
    """Show the stored outputs of cell `index` of notebook `path` (text, figures, HTML) without running it."""
    from IPython.display import publish_display_data
    for out in _cells(path)[index].get("outputs", []):
        if out["output_type"] == "stream":
            publish_display_data({"text/plain": "".join(out["text"])})
        elif "data" in out:
            data = {k: "".join(v) if isinstance(v, list) else v for k, v in out["data"].items()
                    if not k.startswith("application/vnd.jupyter.widget")}
            publish_display_data(data)


def presenter_notebook(path: str | Path) -> dict:
    """The lesson as a notebook for Voilà: markdown as is, live cells as is, every other code cell
    replaced by `replay(path, index)` of its stored outputs."""
    path = Path(path).resolve()
    nb = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            if not is_live(cell):
                cell["source"] = f"import lecturekit.present\nlecturekit.present.replay({str(path)!r}, {i})"
            cell["outputs"], cell["execution_count"] = [], None
    return nb


# --------------------------------------------------------------------------- slides and figures
# TeX that matplotlib's mathtext lacks, and what it can draw instead
_MATHTEXT = [(r"\operatorname", r"\mathrm"), (r"\tfrac", r"\frac"), (r"\dfrac", r"\frac"), (r"\lVert", r"\Vert"),
             (r"\rVert", r"\Vert"), (r"\big", ""), (r"\Big", ""), (r"\left", ""), (r"\right", ""),
             (r"\qquad", r"\quad"), (r"\;", r"\ "), (r"\,", r"\ "), (r"\!", ""), (r"\text", r"\mathrm"),
             (r"\top", "T"), (r"\lvert", "|"), (r"\rvert", "|"), (r"\ge", r"\geq"), (r"\le", r"\leq")]


def _math_svg(tex: str, size: int = 20) -> str:
    """A formula as inline SVG (matplotlib mathtext), or the TeX as code where mathtext cannot draw it."""
    import matplotlib
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties
    tex = " ".join(tex.split())  # mathtext takes one line
    for a, b in _MATHTEXT:  # whole commands only: \le is not the start of \left
        tex = re.sub(re.escape(a) + r"(?![a-zA-Z])", lambda _: b, tex)
    buf = io.StringIO()
    try:
        with matplotlib.rc_context({"svg.fonttype": "path"}):
            mathtext.math_to_image(f"${tex}$", buf, prop=FontProperties(size=size), format="svg", dpi=72)
    except Exception:  # mathtext knows a subset of TeX
        return f"<code>{html.escape(tex)}</code>"
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def _markdown_html(text: str) -> str:
    """Markdown with $…$ and $$…$$ formulas drawn as SVG."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    formulas: list[str] = []
    text = re.sub(r"(\$\$)(.+?)\$\$|(?<!\\)(\$)(?!\s)(.+?)(?<!\s)\$", lambda m: _keep_formula(m, formulas), text,
                  flags=re.S)
    out = re.sub(r"<a class=.anchor-link.[^>]*>.*?</a>", "", markdown2html_mistune(text))
    return re.sub(r"@@MATH(\d+)@@", lambda m: formulas[int(m.group(1))], out)


def _keep_formula(m: re.Match, formulas: list[str]) -> str:
    tex = (m.group(2) or m.group(4)).strip()
    formulas.append(_math_svg(tex))
    tag = "div" if m.group(1) else "span"
    return f"<{tag} class='math'>@@MATH{len(formulas) - 1}@@</{tag}>"


def _outputs_html(cell: dict) -> str:
    parts = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        kind = next((k for k in ("image/png", "image/jpeg") if k in data), None)
        if kind:
            encoded = "".join(data[kind]) if isinstance(data[kind], list) else data[kind]
            parts.append(f"<img src='data:{kind};base64,{encoded.strip()}'>")
        elif out["output_type"] == "stream" or "text/plain" in data:
            text = "".join(out.get("text") or data.get("text/plain", ""))
            if not text.startswith("<"):  # widget reprs like "<Explorer: ...>" say nothing on a slide
                parts.append(f"<pre>{html.escape(text)}</pre>")
    return "\n".join(parts)


SLIDE_CSS = """
body{margin:0;font:22px/1.45 'DejaVu Sans',sans-serif;background:#fafafa;color:#222}
section{box-sizing:border-box;min-height:100vh;padding:4vh 6vw;border-bottom:2px solid #ddd}
section img{max-width:100%;max-height:80vh;display:block;margin:1em auto}
pre{font-size:16px;background:#f0f0f0;padding:.6em;white-space:pre-wrap}
.math svg{vertical-align:middle} div.math{text-align:center;margin:.6em 0}
h1{font-size:44px} h2{font-size:36px} h3{font-size:30px}
"""
SLIDE_JS = """
document.addEventListener('keydown', e => {
  const s = [...document.querySelectorAll('section')];
  const i = s.findIndex(x => x.getBoundingClientRect().bottom > 2);
  const go = k => s[Math.max(0, Math.min(s.length - 1, k))].scrollIntoView();
  if (['ArrowRight', 'PageDown', ' '].includes(e.key)) { e.preventDefault(); go(i + 1); }
  if (['ArrowLeft', 'PageUp'].includes(e.key)) { e.preventDefault(); go(i - 1); }
});
"""


def slides_html(path: str | Path) -> str:
    """The lesson as one self-contained HTML slide deck: a new slide at each markdown heading; the
    figures and printed results of the code cells (not the code) from the stored outputs."""
    slides: list[list[str]] = [[]]
    for cell in _cells(path):
        src = _source(cell)
        if cell["cell_type"] == "markdown":
            if src.lstrip().startswith("#") and slides[-1]:
                slides.append([])
            slides[-1].append(_markdown_html(src))
        elif cell["cell_type"] == "code":
            slides[-1].append(_outputs_html(cell))
    title = html.escape(Path(path).stem.replace("_", " "))
    body = "\n".join(f"<section>{''.join(s)}</section>" for s in slides if any(p.strip() for p in s))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{SLIDE_CSS}</style></head><body>{body}<script>{SLIDE_JS}</script></body></html>")


def export_figures(path: str | Path, folder: str | Path, min_width: int = 1600) -> list[Path]:
    """Every stored figure (PNG or JPEG) of the notebook as `folder`/figure-NN.png, scaled up (bicubic) to
    at least `min_width` px wide for a projector. Returns the files written."""
    from PIL import Image
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for cell in _cells(path):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            encoded = data.get("image/png") or data.get("image/jpeg")
            if not encoded:
                continue
            img = Image.open(io.BytesIO(base64.b64decode("".join(encoded) if isinstance(encoded, list) else encoded)))
            img = img.convert("RGB")
            if img.width < min_width:
                img = img.resize((min_width, round(img.height * min_width / img.width)), Image.BICUBIC)
            files.append(folder / f"figure-{len(files) + 1:02d}.png")
            img.save(files[-1])
    return files
