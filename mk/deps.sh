#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Install the Debian packages the project needs, only those that are missing.
# Called by `make deps` (and so by `make test` and `make demo`).
set -eu

pkgs="gcc clang make pkg-config
libxxhash-dev zlib1g-dev libzstd-dev liblz4-dev libssl-dev
liburing-dev liburcu-dev libpopt-dev libck-dev
libcmocka-dev bats bats-assert bats-support
hyperfine gcovr gnuplot-nox xfsprogs
rsync openssh-server openssh-client"

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "deps: missing packages:$missing; run 'make deps' as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
