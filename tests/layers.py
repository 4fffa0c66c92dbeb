#!/usr/bin/env python3
"""Fails when the tree's layers leak into each other (issue 18).

The middle of dexmafs is three layers that call one way: the data
(DATA_FILES, its handle in data.h), the readahead (READAHEAD_FILES), and
the namespace. Checks, from the sources (quoted includes, followed through
headers):
  - the namespace's private header is at most HEADER_MAX lines;
  - no data-layer or readahead file includes it, directly or through
    another header;
  - no data-layer file includes a header above the data layer, or names
    the namespace's or the readahead's types and functions;
  - only data-layer files include the data layer's private header.
Prints every breach; exit 1 when there is one, 0 otherwise.

usage: layers.py SRC_DIR
"""
import os
import re
import sys

NAMESPACE_HEADER = 'tree_impl.h'
HEADER_MAX = 200
DATA_FILES = ['data.c', 'memo.c', 'content.c', 'slices.c', 'compact.c']
DATA_PRIVATE = 'data_impl.h'
READAHEAD_FILES = ['readahead.c', 'readahead_order.c']
# Headers of the layers above the data: the namespace's and the readahead's.
ABOVE_DATA = ['tree_impl.h', 'tree_kinds.h', 'tree_names.h', 'tree_status.h', 'tree_keep.h',
              'tree_reads.h', 'tree_keeper.h', 'readahead.h', 'readahead_impl.h', 'handles.h',
              'dx_tree.h']
# What a data-layer file must not name.
ABOVE_NAMES = re.compile(r'\bstruct (dx_tree|ask|node|kind_row)\b|\bdx_tree_\w+|\bdx_readahead\w*')
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def includes(src):
    """Each file of src/ and the quoted headers it includes (by base name)."""
    out = {}
    for name in os.listdir(src):
        if name.endswith(('.c', '.h')):
            with open(os.path.join(src, name), encoding='utf-8') as f:
                out[name] = [os.path.basename(h) for h in INCLUDE.findall(f.read())]
    return out


def closure(inc, name):
    """Every header name reaches, through headers of src/ too."""
    seen, todo = set(), list(inc.get(name, []))
    while todo:
        h = todo.pop()
        if h not in seen:
            seen.add(h)
            todo.extend(inc.get(h, []))
    return seen


def check(src):
    inc, errors = includes(src), []
    with open(os.path.join(src, NAMESPACE_HEADER), encoding='utf-8') as f:
        lines = len(f.read().splitlines())
    if lines > HEADER_MAX:
        errors.append(f'{NAMESPACE_HEADER} has {lines} lines, more than {HEADER_MAX}')
    for name in DATA_FILES + READAHEAD_FILES + [DATA_PRIVATE, 'data.h']:
        if name not in inc:
            errors.append(f'{name}: listed as a layer file but not in {src}')
        elif NAMESPACE_HEADER in closure(inc, name):
            errors.append(f'{name} includes {NAMESPACE_HEADER}, the namespace\'s header')
    for name in DATA_FILES + [DATA_PRIVATE, 'data.h']:
        for h in sorted(closure(inc, name) & set(ABOVE_DATA)):
            errors.append(f'{name} (data layer) includes {h}, a header above it')
        if name in inc:
            with open(os.path.join(src, name), encoding='utf-8') as f:
                for no, line in enumerate(f, 1):
                    m = ABOVE_NAMES.search(line)
                    if m:
                        errors.append(f'{name}:{no} (data layer) names {m.group(0)}')
    for name in sorted(inc):
        if DATA_PRIVATE in inc[name] and name not in DATA_FILES:
            errors.append(f'{name} includes {DATA_PRIVATE} but is no data-layer file')
    return errors, lines


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    errors, lines = check(sys.argv[1])
    for e in errors:
        print(e)
    if errors:
        return 1
    users = sorted(n for n, h in includes(sys.argv[1]).items() if NAMESPACE_HEADER in h)
    print(f'{NAMESPACE_HEADER}: {lines} lines, included by {len(users)} files: ' +
          ' '.join(users))
    return 0


if __name__ == '__main__':
    sys.exit(main())
