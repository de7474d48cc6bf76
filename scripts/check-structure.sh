#!/usr/bin/env bash
# Compares the README's table of each package's latch imports (between
# "<!-- imports: begin -->" and "<!-- imports: end -->" in "Project
# structure") with what `go list` says the code imports, tests' imports
# aside. Any difference -- a package added, removed or renamed, an import
# gained or lost -- fails with a diff: '-' lines are the README's, '+' lines
# the code's. Fix whichever is wrong.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
GO="${GO:-go}"

readme=README.md
begin='<!-- imports: begin -->'
end='<!-- imports: end -->'
if ! grep -qF -- "$begin" "$readme" || ! grep -qF -- "$end" "$readme"; then
	echo "check-structure: $readme has no import table between '$begin' and '$end'" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The README's table, one "package: import import ..." line per package.
# Rows look like: | `idp` | `authn` `internal/pg` | (or — for none).
awk -v begin="$begin" -v end="$end" '
	index($0, begin) { inside = 1; next }
	index($0, end) { inside = 0 }
	inside && /^\| *`/ {
		n = split($0, cell, "|")
		pkg = cell[2]; gsub(/[` ]/, "", pkg)
		line = pkg ":"
		m = split(cell[3], words, " ")
		k = 0
		for (i = 1; i <= m; i++) if (words[i] ~ /^`.*`$/) { gsub(/`/, "", words[i]); list[++k] = words[i] }
		# sort the imports so the order in the README does not matter
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (list[j] < list[i]) { t = list[i]; list[i] = list[j]; list[j] = t }
		for (i = 1; i <= k; i++) line = line " " list[i]
		print line
	}
' "$readme" | sort >"$tmp/readme"

dups=$(cut -d: -f1 "$tmp/readme" | uniq -d)
if [ -n "$dups" ]; then
	echo "check-structure: $readme lists these packages more than once: $dups" >&2
	exit 1
fi

# The code: go list's non-test imports, keeping only the module's own
# packages, named relative to the module path (so the table survives a
# change of module path).
module=$("$GO" list -m)
"$GO" list -f '{{.ImportPath}}{{range .Imports}} {{.}}{{end}}' ./... | awk -v mod="$module" '
	function rel(p) { return p == mod ? "." : substr(p, length(mod) + 2) }
	{
		line = rel($1) ":"
		for (i = 2; i <= NF; i++) if ($i == mod || index($i, mod "/") == 1) line = line " " rel($i)
		print line
	}
' | sort >"$tmp/code"

if ! diff -u --label "$readme (the table in Project structure)" --label "go list (the code)" "$tmp/readme" "$tmp/code" >"$tmp/diff"; then
	echo "check-structure: the README's import table does not match the code." >&2
	echo "Lines with - are the README's, lines with + what go list shows; update the table or the code." >&2
	cat "$tmp/diff" >&2
	exit 1
fi
echo "check-structure: the README's import table matches go list ($(wc -l <"$tmp/code") packages)"
