#!/usr/bin/env python3
"""Architecture lint: src/broker and src/client reach the OS only through src/io.

Fails (exit 1, one line per finding) on anything in those trees that would bypass the I/O layer and
so escape the simulator: OS headers, threads, file streams, sockets, clocks' now(), OS-seeded
randomness, getenv. Also fails on source lines over 100 columns anywhere under src/.
Usage: lint.py <repository root>
"""
import pathlib
import re
import sys

FORBIDDEN = [
    (re.compile(r'#\s*include\s*<(uv\.h|thread|fstream|sys/socket\.h|netinet/[a-z_]+\.h|'
                r'arpa/inet\.h|unistd\.h|fcntl\.h|sys/stat\.h|dirent\.h|sys/mman\.h|filesystem|'
                r'random|future|mutex|condition_variable)>'), 'OS or thread header'),
    (re.compile(r'std::chrono::[a-z_]+_clock::now'), 'reads a clock directly; use env.clock()'),
    (re.compile(r'std::random_device'), 'OS entropy; use env.rng()'),
    (re.compile(r'(?<![A-Za-z0-9_:.>])s?rand\s*\('), 'rand(); use env.rng()'),
    (re.compile(r'std::(thread|jthread|async)\b'), 'threads; one thread per node'),
    (re.compile(r'\bgetenv\s*\('), 'reads the environment; pass configuration in'),
    (re.compile(r'\buv_[a-z_]+\s*\('), 'libuv call; use src/io'),
]
# The OS headers above are what give access to open(), pread() and the like; what is left to catch
# is a call qualified into the global namespace, and stdio's file functions (<cstdio> is allowed
# for snprintf).
FREE_CALL = re.compile(r'(?<![A-Za-z0-9_])::(open|pread|pwrite|fsync|fdatasync|socket|'
                       r'gettimeofday|clock_gettime|usleep|close|read|write)\s*\(|'
                       r'(?<![A-Za-z0-9_.>:])(std::)?(fopen|freopen|tmpfile)\s*\(')
LINE_COLUMNS_MAX = 100
SOURCE_SUFFIXES = {'.h', '.cc', '.cpp', '.hpp'}


def strip_comments(line):
    return line.split('//', 1)[0]


def check_isolation(path, text, findings):
    for number, raw in enumerate(text.splitlines(), 1):
        line = strip_comments(raw)
        for pattern, why in FORBIDDEN:
            if pattern.search(line):
                findings.append(f'{path}:{number}: {why}: {raw.strip()}')
        if FREE_CALL.search(line):
            findings.append(f'{path}:{number}: direct OS call; use src/io: {raw.strip()}')


def check_columns(path, text, findings):
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > LINE_COLUMNS_MAX:
            findings.append(f'{path}:{number}: line longer than {LINE_COLUMNS_MAX} columns')


def sources(root, tree):
    base = root / tree
    if not base.exists():
        return []
    return sorted(p for p in base.rglob('*') if p.suffix in SOURCE_SUFFIXES and p.is_file())


def main():
    if len(sys.argv) != 2:
        print('usage: lint.py <repository root>', file=sys.stderr)
        return 2
    root = pathlib.Path(sys.argv[1])
    findings = []
    for tree in ('src/broker', 'src/client'):
        for path in sources(root, tree):
            check_isolation(path.relative_to(root), path.read_text(), findings)
    for path in sources(root, 'src'):
        check_columns(path.relative_to(root), path.read_text(), findings)
    for finding in findings:
        print(finding)
    checked = len(sources(root, 'src'))
    print(f'lint: {checked} files checked, {len(findings)} findings', file=sys.stderr)
    return 1 if findings else 0


if __name__ == '__main__':
    sys.exit(main())
