"""Present a lesson offline: `make present NB=05` (Voilà), `make slides` (HTML decks and PNG figures).

    python tools/present.py notebook notebooks/05_neural_style_transfer.ipynb   # writes build/present/...
    python tools/present.py slides notebooks/*.ipynb                            # writes build/slides/...
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from lecturekit import present  # noqa: E402  (no torch: this is quick)


def write_presenter(path: Path, out: Path = ROOT / "build" / "present") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / path.name
    target.write_text(json.dumps(present.presenter_notebook(path), indent=1, ensure_ascii=False), encoding="utf-8")
    return target


def write_slides(path: Path, out: Path = ROOT / "build" / "slides") -> tuple[Path, int]:
    out.mkdir(parents=True, exist_ok=True)
    deck = out / f"{path.stem}.html"
    deck.write_text(present.slides_html(path), encoding="utf-8")
    return deck, len(present.export_figures(path, out / path.stem))


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("notebook", "slides"):
        print(__doc__)
        return 2
    for name in argv[1:]:
        path = Path(name)
        if argv[0] == "notebook":
            print(write_presenter(path))
        else:
            deck, figures = write_slides(path)
            print(f"{deck} and {figures} figures in {deck.with_suffix('')}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
