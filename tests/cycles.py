#!/usr/bin/env python3
"""Fails when the files of src/ call each other in a cycle.

Reads `nm` of every object built from src/ (a file's undefined symbols are
the functions it calls in other files; its T symbols are those it defines),
builds the graph "file A calls a function file B defines" and prints every
strongly connected component of more than one file, with the calls that
make it. Exit 1 when there is one, 0 otherwise.

usage: cycles.py BUILD_DIR/src
"""
import collections
import glob
import os
import subprocess
import sys


def graph(objdir):
    """The files, and calls[a][b]: the functions file a calls in file b."""
    objs = sorted(glob.glob(os.path.join(objdir, '*.p', '*.c.o')))
    if not objs:
        sys.exit(f'cycles.py: no objects under {objdir}/*.p/')
    # One nm for every object: -A names the object on each line.
    out = subprocess.run(['nm', '-A'] + objs, capture_output=True, text=True,
                         check=True).stdout
    owner, uses = {}, {os.path.basename(o)[:-2]: set() for o in objs}
    for line in out.splitlines():
        path, _, rest = line.partition(':')
        name = os.path.basename(path)[:-2]
        parts = rest.split()
        if len(parts) == 3 and parts[1] == 'T':
            owner.setdefault(parts[2], name)
        elif len(parts) == 2 and parts[0] == 'U':
            uses[name].add(parts[1])
    calls = collections.defaultdict(lambda: collections.defaultdict(set))
    for name, used in uses.items():
        for sym in used:
            callee = owner.get(sym)
            if callee and callee != name:
                calls[name][callee].add(sym)
    return sorted(uses), calls


def components(nodes, calls):
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(calls[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    nodes, calls = graph(sys.argv[1])
    if not any(calls.values()):
        sys.exit('cycles.py: no calls between files found: is nm output read right?')
    cycles = components(nodes, calls)
    for comp in cycles:
        print('call cycle between ' + ', '.join(comp) + ':')
        for a in comp:
            for b in comp:
                if b in calls[a]:
                    print(f'  {a} -> {b}: ' + ', '.join(sorted(calls[a][b])))
    if cycles:
        return 1
    print(f'no call cycle between the {len(nodes)} files of src/')
    return 0


if __name__ == '__main__':
    sys.exit(main())
