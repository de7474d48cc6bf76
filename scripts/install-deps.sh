#!/usr/bin/env bash
# Installs what latch's tests and `latch dev` need and the machine lacks:
# PostgreSQL's server programs (initdb, postgres) and Debian's Chromium, which
# the browser tests drive (internal/browsertest). Safe to run repeatedly; says
# nothing when nothing is missing.
set -euo pipefail

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

[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
