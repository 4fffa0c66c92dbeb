#!/usr/bin/env python3
"""Seeds for the libFuzzer targets, from the real fixtures and tests/data.

    seeds.py TARGET DIR            write TARGET's seeds into DIR
    seeds.py --replay EXE TARGET   write them to a temporary DIR and run EXE
                                   over each once (exit non-zero on a crash)

Each target's first byte(s) pick what the rest means (see fuzz_*.c)."""

import glob
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("DX_TEST_DATA") or os.path.join(HERE, "..", "data")
FIXTURES = os.environ.get("DX_FIXTURES_REAL") or os.path.join(DATA, "fixtures-real")
MAX_SEED = 64 * 1024


def bodies():
    paths = sorted(glob.glob(os.path.join(FIXTURES, "*.json")))
    paths += sorted(glob.glob(os.path.join(DATA, "csv", "*", "input.json")))
    paths += sorted(glob.glob(os.path.join(DATA, "tree", "*.json")))
    for p in paths:
        with open(p, "rb") as f:
            b = f.read()
        yield os.path.basename(os.path.dirname(p)) + "-" + os.path.basename(p), b[:MAX_SEED]


def names():
    out = set()
    for _, b in bodies():
        try:
            doc = json.loads(b)
        except ValueError:
            continue
        items = doc if isinstance(doc, list) else [doc]
        for it in items:
            if isinstance(it, dict) and isinstance(it.get("name"), str):
                out.add((it.get("id") if isinstance(it.get("id"), int) else 1, it["name"]))
    out |= {(7, "a/b"), (8, ".hidden"), (9, " \t"), (10, "x" * 300), (11, "\xe9t\xe9")}
    return sorted(out)


def seeds(target):
    if target == "json":
        for name, b in bodies():
            for pick in range(10):
                yield "%s.%d" % (name, pick), bytes([pick]) + b
        for pick in range(10):
            yield "token.%d" % pick, bytes([pick]) + b'{"token": "0123456789abcdef0123"}'
    elif target == "csv":
        for name, b in bodies():
            if b'"values"' in b:
                for fmt in range(5):
                    yield "%s.%d" % (name, fmt), bytes([fmt]) + b
    elif target == "names":
        for i, (ident, name) in enumerate(names()):
            yield "name%d" % i, struct.pack("<q", ident) + bytes([i % 256]) + name.encode()
    elif target == "dates":
        ranges = ["2024-10-01--2024-10-31.csv", "2024-01-01--2024-12-31.csv",
                  "2020-01-01--2029-12-31.csv", "2024-02-29--2024-02-29.csv",
                  "2022-03-01T00:00:00+01:00", "2024-10-27T02:00:00Z", "2024-10-27"]
        for p in glob.glob(os.path.join(DATA, "csv", "*", "range.txt")):
            with open(p) as f:
                ranges.append(f.read().strip() + ".csv")
        for i, r in enumerate(sorted(set(ranges))):
            for res in range(9):
                yield "range%d.%d" % (i, res), bytes([res]) + r.encode()
    else:
        raise SystemExit("unknown target " + target)


def write(target, out):
    os.makedirs(out, exist_ok=True)
    n = 0
    for name, b in seeds(target):
        with open(os.path.join(out, name.replace("/", "_")), "wb") as f:
            f.write(b)
        n += 1
    return n


def main():
    if sys.argv[1] == "--replay":
        exe, target = sys.argv[2], sys.argv[3]
        with tempfile.TemporaryDirectory() as d:
            n = write(target, d)
            files = sorted(os.path.join(d, f) for f in os.listdir(d))
            r = subprocess.run([exe, "-runs=0"] + files, capture_output=True, text=True)
            if r.returncode:
                print(r.stderr[-4000:])
                return 1
            print("%s: %d seeds replayed" % (target, n))
        return 0
    print("%s: %d seeds" % (sys.argv[1], write(sys.argv[1], sys.argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
