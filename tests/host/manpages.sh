#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The man pages (man/): each renders without a warning from man/groff,
# and each names everything it documents: mount.s3f(8) every mount option
# the kernel parses (kmod/super.c), s3fd(8) every s3fd option
# (helper/s3fd.c), s3fd.conf(5) every setting (helper/config.c), s3fctl(8)
# every command (helper/s3fctl.c).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
cd "$top" || exit 1

render() { LC_ALL=C MANWIDTH=200 man -E ascii -l "$1" 2>/dev/null | col -b; }
missing() { # missing PAGE WORD...: the words the rendered page lacks
	local text w out=
	text=$(render "$1")
	shift
	for w in "$@"; do
		grep -qF -- "$w" <<<"$text" || out+="$w "
	done
	printf '%s' "$out"
}

for p in man/*.[0-9]; do
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$p" 2>&1 >/dev/null)
	check_eq "man --warnings $p: no warning" "$warn" ""
	check_match "$p renders" "$(render "$p" | head -3)" "[A-Z.]+\(([58])\)"
done

# NAME= for options with a value, NAME for flags
mapfile -t opts < <(sed -n -e 's/^[[:space:]]*fsparam_flag[a-z_]*("\([a-z_]*\)".*/\1/p' \
	-e 's/^[[:space:]]*fsparam_[a-z0-9_]*("\([a-z_]*\)".*/\1=/p' kmod/super.c)
check_match "kmod/super.c: the mount options were found" "${#opts[@]}" "^[1-9][0-9]$"
check_eq "mount.s3f(8) names every mount option" "$(missing man/mount.s3f.8 "${opts[@]}")" ""
mapfile -t opts < <(sed -n '/longopts\[\] = {/,/};/s/.*{ "\([a-z-]*\)".*/--\1/p' helper/s3fd.c)
check_match "helper/s3fd.c: the options were found" "${#opts[@]}" "^[1-9][0-9]$"
check_eq "s3fd(8) names every option" "$(missing man/s3fd.8 "${opts[@]}")" ""
mapfile -t opts < <(sed -n '/^} settings\[\] = {/,/^};/s/.*{ "\([a-z-]*\)".*/\1/p' helper/config.c)
check_match "helper/config.c: the settings were found" "${#opts[@]}" "^[1-9]$"
check_eq "s3fd.conf(5) names every setting" "$(missing man/s3fd.conf.5 "${opts[@]}")" ""
mapfile -t opts < <(sed -n 's/.*!strcmp(argv\[1\], "\([a-z-]*\)").*/\1/p' helper/s3fctl.c)
check_match "helper/s3fctl.c: the commands were found" "${#opts[@]}" "^[1-9]$"
check_eq "s3fctl(8) names every command" "$(missing man/s3fctl.8 "${opts[@]}")" ""
finish
