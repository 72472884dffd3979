"""The benchmarks are scripts that import their siblings (``from sync_world import ...``): their folder
goes on the path, as running one puts it there; last, so none of their names shadows a library's."""

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2] / "bench"))
