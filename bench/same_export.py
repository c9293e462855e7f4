"""Whether two export files give a person the same thing: CSV byte for byte, XLSX every part of
the workbook but its creation time (docProps/core.xml), PDF every page's content stream.

    .venv/bin/python bench/same_export.py bench/out/base/awards.xlsx bench/out/new-awards.xlsx
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path


def parts(path: Path) -> dict[str, bytes]:
    """What a reader of the file sees, by part."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}
    if path.suffix == ".pdf":
        from pypdf import PdfReader

        pages = PdfReader(path).pages
        return {f"page {i}": p.get_contents().get_data() for i, p in enumerate(pages, 1)}
    return {"bytes": path.read_bytes()}


def main() -> None:
    """Compare two files; exit 1 when they differ."""
    a, b = (parts(Path(p)) for p in sys.argv[1:3])
    differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    print(
        f"{len(a)} parts, {sum(map(len, a.values())):,} bytes: "
        + ("same" if not differ else f"differ in {differ[:5]}")
    )
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
