# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by scripts/guest-kernel (Debian's stock kernel) and
# scripts/debug-kernel (the debug kernel built from linux-source-6.1): the
# test guest's initramfs, its /init and the builder, shared by both. The
# caller defines die MESSAGE, say MESSAGE and the array scratch (paths
# removed when it exits).

# The initramfs /init. It runs busybox sh as PID 1: loads the modules, mounts
# the host root read-only over virtio-9p (cache=loose) and the per-run out
# dir (cache=none), lays tmpfs/proc/sys/dev over the root, runs the script
# named by s3f_init= on the kernel command line inside a chroot, then
# powers off. s3f_proj=PATH mounts the 9p device "proj" at PATH (a checkout
# under /tmp, which the guest covers with tmpfs); s3f_persist=1 mounts the
# 9p device "persist" (a host directory that outlives the guest,
# cache=none) at /run/s3f-persist. A failure is written to the
# console (the host's console.log) and powers off: the host then finds no
# status file.
init_script() {
	cat <<'EOF'
#!/bin/busybox sh
export PATH=/bin
fail() { echo "initramfs: $*" >&2; poweroff -f; sleep 5; exit 1; }
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1
while read -r ko; do
	insmod "/lib/modules/$ko" || fail "insmod $ko failed"
done </lib/modules/load.order
o=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$o,ro,cache=loose" host /newroot || fail "mounting the host root failed"
r=/newroot
for d in tmp:1777 var/tmp:1777 run:0755 mnt:0755 root:0700; do
	mount -t tmpfs -o "mode=${d#*:}" tmpfs "$r/${d%:*}" || fail "tmpfs on /${d%:*} failed"
done
mount -t proc proc "$r/proc" || fail "proc"
mount -t sysfs sysfs "$r/sys" || fail "sysfs"
mount -t devtmpfs devtmpfs "$r/dev" || fail "devtmpfs"
mkdir -p "$r/dev/pts" "$r/dev/shm" "$r/run/s3f-out"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts" || fail "devpts"
mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm" || fail "/dev/shm"
# What udev would add: scripts write to /dev/stderr.
ln -sf /proc/self/fd "$r/dev/fd"
ln -sf /proc/self/fd/0 "$r/dev/stdin"
ln -sf /proc/self/fd/1 "$r/dev/stdout"
ln -sf /proc/self/fd/2 "$r/dev/stderr"
mount -t 9p -o "$o,cache=none" out "$r/run/s3f-out" || fail "mounting the out dir failed"
if [ -n "$s3f_proj" ]; then # the checkout lies under a directory tmpfs hides
	mkdir -p "$r$s3f_proj" && mount -t 9p -o "$o,ro,cache=loose" proj "$r$s3f_proj" ||
		fail "mounting the checkout at $s3f_proj failed"
fi
if [ -n "$s3f_persist" ]; then # a host directory that outlives the guest
	mkdir -p "$r/run/s3f-persist" &&
		mount -t 9p -o "$o,cache=none" persist "$r/run/s3f-persist" ||
		fail "mounting the persist dir failed"
fi
[ -n "$s3f_init" ] || fail "no s3f_init= on the kernel command line"
chroot "$r" /bin/sh "$s3f_init"
echo "initramfs: $s3f_init exited $?"
sync
umount "$r/run/s3f-out"
poweroff -f
EOF
}

# build_initramfs DIR MODDIR [KO...]: DIR/initramfs.cpio, with busybox-static,
# the modules KO (paths relative to MODDIR, loaded by /init in the order
# given; none for a kernel that has everything built in) and /init. Rebuilt
# only when its inputs change: a hash of /init, the module list and files, and
# busybox, kept in DIR/initramfs.stamp.
build_initramfs() {
	local dir=$1 moddir=$2 bb stamp ko tmp name a
	shift 2
	bb=$(command -v busybox) || die "busybox missing (apt-get install busybox-static)"
	file -b "$(readlink -f "$bb")" | grep -q 'statically linked' ||
		die "$bb is not static (apt-get install busybox-static)"
	command -v cpio >/dev/null || die "cpio missing"

	stamp=$( {
		init_script
		[ $# -eq 0 ] || printf '%s\n' "$@"
		sha256sum "$(readlink -f "$bb")"
		for ko in "$@"; do sha256sum "$moddir/$ko"; done
	} | sha256sum | cut -d' ' -f1)
	if [ -f "$dir/initramfs.cpio" ] && [ "$(cat "$dir/initramfs.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	say "building initramfs"
	tmp=$(mktemp -d "$dir/initramfs.XXXXXX")
	scratch+=("$tmp" "$dir/initramfs.cpio.new")
	mkdir -p "$tmp/bin" "$tmp/lib/modules" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/newroot"
	cp "$(readlink -f "$bb")" "$tmp/bin/busybox"
	for a in $("$tmp/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$tmp/bin/$a"
	done
	: >"$tmp/lib/modules/load.order"
	for ko in "$@"; do
		name=${ko##*/}
		case "$ko" in
		*.ko.xz)  xz -dc "$moddir/$ko" >"$tmp/lib/modules/${name%.xz}"; name=${name%.xz} ;;
		*.ko.zst) zstd -dcq "$moddir/$ko" >"$tmp/lib/modules/${name%.zst}"; name=${name%.zst} ;;
		*.ko.gz)  gzip -dc "$moddir/$ko" >"$tmp/lib/modules/${name%.gz}"; name=${name%.gz} ;;
		*.ko)     cp "$moddir/$ko" "$tmp/lib/modules/$name" ;;
		*) die "unexpected module file $ko" ;;
		esac
		echo "$name" >>"$tmp/lib/modules/load.order"
	done
	init_script >"$tmp/init"
	chmod 755 "$tmp/init"
	# Uncompressed: decompressing under TCG costs more than reading ~2.5 MB.
	(cd "$tmp" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
		>"$dir/initramfs.cpio.new" || die "cpio failed"
	mv -f "$dir/initramfs.cpio.new" "$dir/initramfs.cpio"
	echo "$stamp" >"$dir/initramfs.stamp"
	rm -rf "$tmp"
}

# build_module TOP CACHE KSTAMP KBUILD WHAT: s3f.ko of the checkout TOP for
# the kernel whose build tree is KBUILD (WHAT names it in messages), built in
# CACHE/module/CHECKOUT, a mirror of the checkout (Kbuild, kmod/, uapi/) made
# of symbolic links: an out-of-tree build writes its objects next to the
# sources, and kmod/'s own objects belong to the stock build. The result is
# copied to CACHE/ko/s3f-HASH.ko (HASH: of KSTAMP, which names the kernel,
# and the sources) and that path printed: a guest that boots while the next
# build runs still finds the file it was given. Copies unused for a day are
# removed. Built with -Werror (S3F_WERROR=y), as make builds kmod/.
build_module() {
	local top=$1 cache=$2 kstamp=$3 kbuild=$4 what=$5
	local dir f links='' stamp ko files=(Kbuild)
	dir=$cache/module/$(printf '%s' "$top" | sha256sum | cut -c1-12)
	for f in "$top"/kmod/*.c "$top"/kmod/*.h "$top"/kmod/Kbuild "$top"/uapi/*.h; do
		[ -f "$f" ] && files+=("${f#"$top"/}")
	done
	[ -f "$top/kmod/Kbuild" ] || die "$top/kmod/Kbuild missing"
	for f in "${files[@]}"; do
		links+="$f -> $top/$f"$'\n'
	done
	# Files added or removed: start afresh.
	if [ "$(cat "$dir/.links" 2>/dev/null)" != "$links" ]; then
		rm -rf "$dir"
		mkdir -p "$dir/kmod" "$dir/uapi"
		for f in "${files[@]}"; do
			ln -s "$top/$f" "$dir/$f"
		done
		printf '%s' "$links" >"$dir/.links"
	fi
	stamp=$( { printf '%s\n' "$kstamp"; (cd "$top" && sha256sum "${files[@]}"); } |
		sha256sum | cut -d' ' -f1)
	ko=$cache/ko/s3f-${stamp:0:16}.ko
	if [ ! -f "$ko" ]; then
		say "building s3f.ko for $what in $dir"
		if ! nice -n 10 make -C "$kbuild" M="$dir" S3F_WERROR=y \
				-j"${S3F_JOBS:-$(nproc)}" modules </dev/null >"$cache/module.log" 2>&1; then
			sed "s|$dir/|$top/|g" "$cache/module.log" >&2
			die "building s3f.ko for $what failed"
		fi
		[ -f "$dir/kmod/s3f.ko" ] || die "the build made no $dir/kmod/s3f.ko"
		mkdir -p "$cache/ko"
		cp "$dir/kmod/s3f.ko" "$ko.tmp"
		scratch+=("$ko.tmp")
		mv -f "$ko.tmp" "$ko"
	fi
	touch "$ko"
	find "$cache/ko" -name 's3f-*.ko' -mmin +1440 -delete 2>/dev/null || true
	echo "$ko"
}
