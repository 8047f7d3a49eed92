#!/usr/bin/env python3
"""Estimates the size of the moka-bridge runtime image without building it.

    deploy/estimate-image-size.py [BINARY...]

The runtime stage is debian:bookworm-slim plus the packages its apt-get
install names (read from deploy/Dockerfile) and their dependencies, plus the
two binaries. From this machine's apt cache (Debian bookworm; run
`apt-get update` first) it sums the Installed-Size of every package of that
closure that bookworm-slim does not already have. bookworm-slim is taken as
Debian's Priority: required packages plus apt and their dependencies (what
the minbase variant installs; ~75 MB on disk). Recommends are not followed
(the Dockerfile uses --no-install-recommends). Binaries given as arguments
(e.g. stripped ones) are added.
"""
import os
import re
import subprocess
import sys

SLIM_MB = 75  # docker.io/library/debian:bookworm-slim, uncompressed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def runtime_packages():
    text = open(os.path.join(ROOT, "deploy", "Dockerfile"), encoding="utf-8").read()
    text = text.replace("\\\n", " ")
    runtime = text.split(" AS runtime", 1)[1]
    m = re.search(r"apt-get install (.*?)&&", runtime)
    return [t for t in m.group(1).split() if not t.startswith("-")]


def show(pkgs):
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", *pkgs],
                         capture_output=True, text=True).stdout
    res = {}
    for para in out.split("\n\n"):
        f = dict(m.groups() for m in re.finditer(r"^([A-Za-z-]+): (.*)$", para, re.M))
        if "Package" in f:
            res[f["Package"]] = f
    return res


def depends(fields):
    names = []
    for key in ("Pre-Depends", "Depends"):
        for alt in fields.get(key, "").split(","):
            alt = alt.strip()
            if alt:
                names.append(re.sub(r"[ (:].*", "", alt.split("|")[0].strip()))
    return names


def closure(roots, info):
    seen, todo = set(), list(roots)
    while todo:
        batch = sorted({p for p in todo if p not in seen})
        todo = []
        if not batch:
            break
        got = show(batch)
        for p in batch:
            seen.add(p)
            if p in got:
                info[p] = got[p]
                todo += depends(got[p])
            else:  # a virtual package: its first provider
                o = subprocess.run(["apt-cache", "showpkg", p], capture_output=True, text=True).stdout
                m = re.search(r"Reverse Provides: \n(\S+)", o)
                if m:
                    todo.append(m.group(1))
    return {p for p in seen if p in info}


def main():
    info = {}
    required = subprocess.run(
        ["sh", "-c", "apt-cache dumpavail | awk '/^Package:/{p=$2} /^Priority: required/{print p}'"],
        capture_output=True, text=True).stdout.split()
    if not required:
        sys.exit("estimate-image-size: the apt cache is empty: run apt-get update")
    base = closure(required + ["apt"], info)
    wanted = runtime_packages()
    extra = sorted(closure(wanted, info) - base)
    total_kb = 0
    print("packages added to debian:bookworm-slim (Installed-Size, KiB):")
    for p in extra:
        kb = int(info[p]["Installed-Size"])
        total_kb += kb
        print("  %7d  %s%s" % (kb, p, "" if p in wanted else "  (dependency)"))
    bin_kb = sum(os.path.getsize(b) for b in sys.argv[1:]) / 1024
    print("packages: %.1f MB; binaries: %.1f MB; base: ~%d MB" % (total_kb / 1024, bin_kb / 1024, SLIM_MB))
    print("estimated image size: ~%.0f MB uncompressed" % (SLIM_MB + total_kb / 1024 + bin_kb / 1024))


if __name__ == "__main__":
    main()
