#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Print a canonical description of a tree: per entry its path, type, mode,
# owner, group, size, mtime to the nanosecond, symlink target, content hash,
# and for hard links the first path of its link group. Two trees with equal
# output are equal for every attribute rsync -aH preserves.
#   treesig.sh DIR
set -eu
cd "$1"
find . -mindepth 1 -printf '%i\t%P\n' | LC_ALL=C sort -t "$(printf '\t')" -k2 |
	awk -F '\t' '{ if (!($1 in first)) first[$1] = $2; print $2 "\t" first[$1] }' >/tmp/treesig.$$
while IFS="$(printf '\t')" read -r path group; do
	attrs=$(find "./$path" -maxdepth 0 -printf '%y %m %U %G %T@ %l')
	case "$attrs" in
	f*) sum=$(md5sum <"$path" | cut -c1-32); size=$(stat -c %s "$path") ;;
	*) sum=-; size=- ;;
	esac
	[ "$group" = "$path" ] && group=- 
	case "$attrs" in d*) attrs=$(find "./$path" -maxdepth 0 -printf '%y %m %U %G %T@') ;; esac
	printf '%s\t%s\t%s\t%s\t%s\n' "$path" "$attrs" "$size" "$sum" "$group"
done </tmp/treesig.$$
rm -f /tmp/treesig.$$
