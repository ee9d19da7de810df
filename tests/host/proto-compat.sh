#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A module and a helper of adjacent releases work together (issue 18,
# section 4; the protocol's versions: uapi/s3f.h).  The previous
# protocol's release is the last commit of this repository's history
# whose uapi/s3f.h has the protocol before this tree's: its s3f.ko and
# s3fd are built from it (cached by commit), and a guest runs each
# pairing through tests/guest/compat.sh:
#
#   this module,     the previous s3fd   speak the previous protocol
#   the previous module, this s3fd      the same (s3fd steps down)
#   this module,     this s3fd          this protocol
#
# and the family's alias loads this module on demand.  Without the
# history (a shallow clone) the pairings with the previous release are
# reported as skipped.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
cd "$top" || exit 1

cache=${S3F_CACHE:-/var/cache/s3f}/prev-release
proto_of() { # proto_of COMMIT: its uapi/s3f.h's S3F_PROTOCOL_VERSION
	git show "$1:uapi/s3f.h" 2>/dev/null |
		awk '$1 == "#define" && $2 == "S3F_PROTOCOL_VERSION" { print $3 }'
}
cur=$(awk '$1 == "#define" && $2 == "S3F_PROTOCOL_VERSION" { print $3 }' uapi/s3f.h)

# The newest commit of the previous protocol: the parent of the commit
# that brought this one (or HEAD, when that change is not committed yet).
prev=
if [ "$(proto_of HEAD)" = $((cur - 1)) ]; then
	prev=$(git rev-parse HEAD)
else
	for c in $(git log --format=%H -G'define S3F_PROTOCOL_VERSION' -- uapi/s3f.h 2>/dev/null); do
		if [ "$(proto_of "$c")" = "$cur" ] && [ "$(proto_of "$c^")" = $((cur - 1)) ]; then
			prev=$(git rev-parse "$c^")
			break
		fi
	done
fi

guest() { # guest ARGS...: scripts/guest-run ARGS, its output checked by us
	scripts/guest-run "$@" 2>&1 | tee -a "$work/guest.log" | grep -E '^(PASS|FAIL|#)'
	local rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || fail "guest-run $*" "exit status $rc (logs: the guest-run line in the output above)"
}
work=$(mktemp -d /var/tmp/s3f-compat.XXXXXX)
trap 'rm -rf "$work"' EXIT

ko=$(scripts/guest-kernel --module --quiet) || { fail "this s3f.ko" "did not build"; finish; exit; }
check_match "modinfo: version, protocols and the family alias" \
	"$(modinfo -F version "$ko"; modinfo -F protocol "$ko"; modinfo -F alias "$ko")" \
	"^[0-9]+\.[0-9]+\.[0-9]+ [0-9]+-$cur .*net-pf-16-proto-16-family-s3f"
check_eq "dkms.conf's PACKAGE_VERSION is the release in uapi/s3f.h" \
	"$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)" "$(modinfo -F version "$ko")"

if [ -z "$prev" ]; then
	echo "# SKIP: the previous protocol's release ($((cur - 1))) is not in this clone's history"
else
	src=$cache/${prev:0:12}
	if [ ! -x "$src/helper/s3fd" ]; then
		rm -rf "$src" && mkdir -p "$src"
		git archive "$prev" | tar -x -C "$src"
		nice make -s -C "$src/helper" s3fd s3fctl >"$work/prev-helper.log" 2>&1 ||
			{ cat "$work/prev-helper.log"; fail "build s3fd of $prev" "failed"; }
	fi
	pko=$(scripts/guest-kernel --module-of="$src" --quiet) || fail "build s3f.ko of $prev" "failed"
	echo "# previous protocol: $((cur - 1)), commit ${prev:0:12}"
	if [ -x "$src/helper/s3fd" ] && [ -n "$pko" ]; then
		echo "# this module, the previous s3fd"
		guest --no-helper -- tests/guest/compat.sh pair "$src/helper/s3fd" $((cur - 1))
		echo "# the previous module, this s3fd"
		guest --no-helper -e "S3F_GUEST_MODULE=$pko" -- \
			tests/guest/compat.sh pair "$top/helper/s3fd" $((cur - 1))
	fi
fi
echo "# this module, this s3fd; then the module loaded on demand"
guest --no-helper -- tests/guest/compat.sh pair "$top/helper/s3fd" "$cur"
guest --bare -- tests/guest/compat.sh on-demand "$ko"
finish
