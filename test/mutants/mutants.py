#!/usr/bin/env python3
"""Mutation check: plants each bug of mutations.txt, one at a time, in a
copy of the source tree, rebuilds incrementally and runs the tests named for
it. Every mutation must make a test fail ("caught"); one that the tests pass
("SURVIVED"), whose snippet is not found exactly once ("STALE") or that does
not compile ("BROKEN") makes the run fail.

Usage: test/mutants/run.sh [options] [CMAKE_OPTIONS...]
  --only NAME[,NAME...]  run only these mutations
  --check                only check that every snippet matches once
  --all-tests            run every fast test for each mutation, not only
                         the ones it names
  --tests NAME[,NAME...] run these tests for each mutation instead
  --jobs N               build jobs (default: the number of CPUs)
  --keep                 keep the scratch copy (its path is printed)
Other arguments go to cmake when configuring the copy (-DTCPECHO_...=ON).
The working tree is never modified.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LIST = os.path.join(HERE, "mutations.txt")
TEST_TIMEOUT_S = 600  # one ctest run; the tests have their own timeouts


def unescape(text):
    """\\n is a newline, \\t a tab, \\\\ a backslash; any other backslash
    stays as it is, so C's \\" and \\x can be written as they are."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in "nt\\":
            out.append({"n": "\n", "t": "\t", "\\": "\\"}[text[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_list(path):
    """Blocks of 'key = value' lines, each opened by [name]."""
    mutations, cur = [], None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = re.match(r"^\[([A-Za-z0-9_.-]+)\]\s*$", line)
            if m:
                cur = {"name": m.group(1), "line": n}
                mutations.append(cur)
                continue
            m = re.match(r"^(file|find|replace|tests|why)\s*=\s?(.*)$", line)
            if not m or cur is None:
                sys.exit("%s:%d: expected [name] or key = value" % (path, n))
            cur[m.group(1)] = m.group(2)
    names = set()
    for mu in mutations:
        for key in ("file", "find", "replace"):
            if key not in mu:
                sys.exit("%s:%d: [%s] has no %s" % (path, mu["line"],
                                                    mu["name"], key))
        if mu["name"] in names:
            sys.exit("%s: [%s] twice" % (path, mu["name"]))
        names.add(mu["name"])
        mu["find"] = unescape(mu["find"])
        mu["replace"] = unescape(mu["replace"])
        mu["tests"] = mu.get("tests", "").split()
    return mutations


def stale_reason(root, mu):
    path = os.path.join(root, mu["file"])
    if not os.path.isfile(path):
        return "%s: no such file" % mu["file"]
    with open(path, encoding="utf-8") as f:
        count = f.read().count(mu["find"])
    if count == 1:
        return None
    return "%s: found %d times, want exactly once: %r" % (mu["file"], count,
                                                          mu["find"])


def source_files(root):
    """The files of the tree as it is now, committed or not."""
    try:
        out = subprocess.run(
            ["git", "-C", root, "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"], check=True, capture_output=True).stdout
        files = [f for f in out.decode().split("\0") if f]
        return [f for f in files if os.path.isfile(os.path.join(root, f))]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs
                       if not x.startswith(("build", ".git", "wineprefix"))]
            files += [os.path.relpath(os.path.join(d, x), root) for x in names]
        return files


def copy_tree(root, dest):
    for rel in source_files(root):
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(root, rel), target)


def run(cmd, timeout=None):
    """Runs cmd in its own process group; returns (status, output). A run
    past its timeout is killed with everything it started: status None."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return None, out.decode(errors="replace")


def ctest(build, tests):
    """Runs the fast tests given (all of them if none); returns the first
    that failed, or None if all passed."""
    base = ["ctest", "--test-dir", build, "-LE", "slow", "--output-on-failure"]
    if not tests:
        status, out = run(base, TEST_TIMEOUT_S)
        if status == 0:
            return None
        failed = re.findall(r"\d+ - (\S+) \(", out)
        return ",".join(failed) if failed else "timeout"
    for t in tests:
        status, out = run(base + ["-R", "^%s$" % re.escape(t)],
                          TEST_TIMEOUT_S)
        if status is None:
            return t + " (timeout)"
        if status != 0:
            return t
        if "No tests were found" in out:
            sys.exit("mutants: no test named %s" % t)
    return None


def main(argv):
    only, check, all_tests, keep, cmake_opts = None, False, False, False, []
    tests = None
    jobs = str(os.cpu_count() or 2)
    args = list(argv)
    while args:
        a = args.pop(0)
        if a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        elif a == "--only":
            only = set(args.pop(0).split(","))
        elif a.startswith("--only="):
            only = set(a[len("--only="):].split(","))
        elif a == "--check":
            check = True
        elif a == "--all-tests":
            all_tests = True
        elif a == "--tests":
            tests = args.pop(0).split(",")
        elif a.startswith("--tests="):
            tests = a[len("--tests="):].split(",")
        elif a == "--keep":
            keep = True
        elif a == "--jobs":
            jobs = args.pop(0)
        elif a.startswith("--jobs="):
            jobs = a[len("--jobs="):]
        else:
            cmake_opts.append(a)

    mutations = parse_list(LIST)
    if only is not None:
        unknown = only - {m["name"] for m in mutations}
        if unknown:
            sys.exit("mutants: no mutation named %s" % ", ".join(sorted(unknown)))
        mutations = [m for m in mutations if m["name"] in only]
    if tests is not None:
        for m in mutations:
            m["tests"] = tests

    stale = [(m, stale_reason(ROOT, m)) for m in mutations]
    stale = [(m, why) for m, why in stale if why]
    for m, why in stale:
        print("STALE     %s: %s" % (m["name"], why))
    if check:
        print("mutants: %d of %d snippets match exactly once"
              % (len(mutations) - len(stale), len(mutations)))
        return 1 if stale else 0

    scratch = tempfile.mkdtemp(prefix="tcpecho-mutants-")
    src, build = os.path.join(scratch, "src"), os.path.join(scratch, "build")
    results = {"caught": [], "SURVIVED": [], "BROKEN": []}
    try:
        copy_tree(ROOT, src)
        print("mutants: building a copy of the tree in %s" % scratch, flush=True)
        status, out = run(["cmake", "-S", src, "-B", build] + cmake_opts)
        if status != 0:
            print(out)
            sys.exit("mutants: cmake failed")
        status, out = run(["cmake", "--build", build, "--parallel", jobs])
        if status != 0:
            print(out)
            sys.exit("mutants: the unmutated tree does not build")
        # The tests must pass before anything is planted, or every mutation
        # would look caught.
        named = sorted({t for m in mutations for t in m["tests"]})
        failed = ctest(build, [] if all_tests else named)
        if failed:
            sys.exit("mutants: %s fails without any mutation; fix that first"
                     % failed)
        todo = [m for m in mutations if m not in [s for s, _ in stale]]
        for i, m in enumerate(todo, 1):
            path = os.path.join(src, m["file"])
            with open(path, encoding="utf-8") as f:
                original = f.read()
            start = time.time()
            with open(path, "w", encoding="utf-8") as f:
                f.write(original.replace(m["find"], m["replace"], 1))
            try:
                status, out = run(["cmake", "--build", build, "--parallel",
                                   jobs])
                if status != 0:
                    verdict, detail = "BROKEN", "does not compile:\n" + out[-2000:]
                else:
                    failed = ctest(build, [] if all_tests else m["tests"])
                    verdict = "caught" if failed else "SURVIVED"
                    detail = ("by " + failed if failed else
                              "by none of: " + (" ".join(m["tests"]) or
                                                "the fast tests"))
            finally:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(original)
            results[verdict].append(m["name"])
            print("[%2d/%d] %-9s %s %s (%.0f s)"
                  % (i, len(todo), verdict, m["name"], detail,
                     time.time() - start), flush=True)
    finally:
        if keep:
            print("mutants: scratch copy kept in %s" % scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    total = len(mutations)
    print("\nmutants: %d of %d caught" % (len(results["caught"]), total))
    for verdict in ("SURVIVED", "BROKEN"):
        if results[verdict]:
            print("%s: %s" % (verdict.lower(), ", ".join(results[verdict])))
    if stale:
        print("stale (refresh their find = in %s): %s"
              % (os.path.relpath(LIST, ROOT),
                 ", ".join(m["name"] for m, _ in stale)))
    return 0 if len(results["caught"]) == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
