"""Notebook housekeeping: execute (store outputs), clean (normalized execution counts, no metadata
noise), check.

    python tools/notebooks.py execute notebooks/01_deepdream.ipynb
    python tools/notebooks.py check notebooks/*.ipynb      # CI: fails if a notebook is not clean
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat

KEEP_CELL_METADATA = {"tags"}
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def cleaned(nb):
    """Notebook metadata reduced to the kernel, cell metadata to tags, and execution counts renumbered
    1, 2, 3, ... in cell order (what a clean top-to-bottom run gives; nbval needs counts on cells that
    have outputs, so they are normalized rather than stripped). Cells without outputs get no count."""
    nb = nbformat.from_dict(nb)
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    count = 0
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict({k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA})
        cell.pop("id", None)
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count if cell.outputs else None
            for out in cell.outputs:
                if "execution_count" in out:
                    out.execution_count = count
                if out.get("output_type") == "stream":
                    out.pop("metadata", None)
    nb.nbformat, nb.nbformat_minor = 4, 4
    return nb


def write(nb, path: Path) -> None:
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


def execute(path: Path, timeout: int = 1200) -> float:
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - t0
    write(cleaned(nb), path)
    return seconds


def main(argv: list[str]) -> int:
    command, paths = argv[0], [Path(p) for p in argv[1:]]
    bad = []
    for path in paths:
        if command == "execute":
            print(f"{path}: executed in {execute(path):.0f} s", flush=True)
        elif command == "clean":
            write(cleaned(nbformat.read(path, as_version=4)), path)
        elif command == "check":
            text = path.read_text(encoding="utf-8")
            if nbformat.writes(cleaned(nbformat.reads(text, as_version=4))) + "\n" != text:
                bad.append(str(path))
        else:
            print(__doc__)
            return 2
    if bad:
        print("Notebooks with execution counts or metadata noise (run `make clean-notebooks`):\n  "
              + "\n  ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
