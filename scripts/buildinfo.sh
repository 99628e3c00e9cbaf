#!/bin/sh
# Writes the build information the client programs show (build-info, --version) to $1 as C
# defines: the commit, its date and branch (or "unknown" outside a git checkout), the C
# compiler, the target triple and the build profile ($2: release or debug). The file is
# rewritten only when something other than its build time changed, so a rebuild of the same
# tree recompiles nothing.
set -eu
OUT=$1
PROFILE=${2:-release}
CC=${CC:-cc}
git_or() { git -C "$(dirname "$0")/.." "$@" 2>/dev/null || echo unknown; }
SHA=$(git_or rev-parse HEAD)
DATE=$(git_or log -1 --format=%cI)
BRANCH=$(git_or rev-parse --abbrev-ref HEAD)
CCV=$($CC --version 2>/dev/null | head -n 1 | tr -d '"\\')
TRIPLE=$($CC -dumpmachine 2>/dev/null || echo unknown)
BODY="#define NC_GIT_SHA \"$SHA\"
#define NC_GIT_DATE \"$DATE\"
#define NC_GIT_BRANCH \"$BRANCH\"
#define NC_CC_VERSION \"${CCV:-unknown}\"
#define NC_TARGET_TRIPLE \"$TRIPLE\"
#define NC_BUILD_PROFILE \"$PROFILE\""
if [ -f "$OUT" ] && [ "$(grep -v NC_BUILD_TIMESTAMP "$OUT")" = "$BODY" ]; then
	exit 0
fi
NOW=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
printf '%s\n#define NC_BUILD_TIMESTAMP "%s"\n' "$BODY" "$NOW" >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
