#!/usr/bin/env bash
# Runs every Go fuzz target of latch for a bounded time each (FUZZTIME,
# default 30s). `make test` runs only their seed corpora; this is the long
# run. New inputs that fail are written under the package's
# testdata/fuzz/<Target>/ and become part of the seed corpus: commit them
# with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-30s}"
go="${GO:-go}"
status=0
for pkg in $($go list ./...); do
	dir=$($go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "== $pkg $target ($fuzztime)"
		if ! $go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"; then
			status=1
		fi
	done
done
exit $status
