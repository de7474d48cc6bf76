#!/usr/bin/env bash
# Installs what latch's tests and `latch dev` need and the machine lacks:
# PostgreSQL's server programs (initdb, postgres), Debian's Chromium, which
# the browser tests drive (internal/browsertest), and axe-core, which the
# accessibility test runs in those pages (npm, from Debian, fetches it into
# .cache/axe-core, which git ignores). Safe to run repeatedly; says nothing
# when nothing is missing.
set -euo pipefail

# axe-core, pinned by version and by the SHA-512 of its package (npm's
# dist.integrity, in hex). cmd/latch's accessibility test reads
# .cache/axe-core/axe.min.js. Bump both together:
#   npm view axe-core@VERSION dist.integrity | sed 's/^sha512-//' | base64 -d | od -An -tx1 | tr -d ' \n'
AXE_VERSION=4.10.3
AXE_SHA512=5e6edba515e70d25f6604d9815f064d859c5d1ea7ab661bbc4f87c88779ef0c21cae0abbeb636471ef39e9d62d2582e4b88a1866f19f4ecfcf6d986275e4dc12
AXE_DIR="$(cd "$(dirname "$0")/.." && pwd)/.cache/axe-core"

have_axe() {
	[ -f "$AXE_DIR/axe.min.js" ] && [ "$(cat "$AXE_DIR/VERSION" 2>/dev/null)" = "$AXE_VERSION" ]
}

have_postgres() {
	command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1 && return 0
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

# internal/browsertest looks in the same two places.
have_chromium() {
	[ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1
}

missing=()
have_postgres || missing+=(postgresql)
# fonts-liberation is only recommended by chromium; without it pages render
# in whatever font is left and screenshots differ from machine to machine.
have_chromium || missing+=(chromium fonts-liberation)
have_axe || command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}" >&2
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
		sudo="sudo"
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q
	$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

have_axe && exit 0
echo "installing: axe-core $AXE_VERSION into $AXE_DIR" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent --cache "$tmp/npm-cache" "axe-core@$AXE_VERSION" >/dev/null)
tgz="$tmp/axe-core-$AXE_VERSION.tgz"
got="$(sha512sum "$tgz" | cut -d' ' -f1)"
if [ "$got" != "$AXE_SHA512" ]; then
	echo "axe-core $AXE_VERSION: SHA-512 $got, want $AXE_SHA512" >&2
	exit 1
fi
tar -xzf "$tgz" -C "$tmp" package/axe.min.js package/LICENSE
mkdir -p "$AXE_DIR"
mv "$tmp/package/axe.min.js" "$tmp/package/LICENSE" "$AXE_DIR/"
echo "$AXE_VERSION" >"$AXE_DIR/VERSION"
