"""Re-pin the wrapper module to another github.com/dapr/dapr release.

Usage: python tools/dapr/pin.py v1.18.2
Copies the release's require and replace blocks (a dependent module must repeat
replace directives) and its go.sum, so the build graph is the upstream one.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = """\
// Wrapper module that pins the Dapr runtime daprshop builds (daprd, placement, scheduler).
// The require and replace blocks are copied from github.com/dapr/dapr {v}'s go.mod:
// a dependent module must repeat replace directives, and repeating the requirements
// keeps the build graph identical to the upstream release. Regenerate with
// `python tools/dapr/pin.py <version>`; never edit by hand.
module daprshop.dev/tools/dapr
"""


def main(version: str) -> None:
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"github.com/dapr/dapr@{version}"],
        cwd="/",
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    info = json.loads(out)
    src = Path(info["GoMod"]).read_text()
    body = src.split("\n", 1)[1]
    body = body.replace("require (\n", f"require (\n\tgithub.com/dapr/dapr {version}\n", 1)
    body = re.sub(r"\n// Uncomment for local development.*", "\n", body, flags=re.S)
    (HERE / "go.mod").write_text(HEADER.format(v=version) + body.rstrip() + "\n")
    go_sum = Path(info["Dir"], "go.sum").read_text()
    go_sum += f"github.com/dapr/dapr {version} {info['Sum']}\n"
    go_sum += f"github.com/dapr/dapr {version}/go.mod {info['GoModSum']}\n"
    (HERE / "go.sum").write_text(go_sum)
    (HERE / "VERSION").write_text(version.lstrip("v") + "\n")
    print(f"pinned github.com/dapr/dapr {version}")


if __name__ == "__main__":
    main(sys.argv[1])
