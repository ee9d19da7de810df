# SPDX-License-Identifier: GPL-2.0
#
# s3f top-level build.
#   make            kmod/s3f.ko and the helper programs
#   make check      every test (host and guest); ends "N passed, N failed"
#   make check-quick  the everyday subset (~10 minutes: tests/run quick)
#   make check-long the long forms of the tests (hours: tests/run long)
#   make demo       the demo: build, boot a guest, S3 server, show it working
#   make clean      remove everything the build made
#   make install DESTDIR=...  the tools, man pages, systemd unit, example
#                   settings, and the module's sources for DKMS
#                   (install-tools, install-dkms; PREFIX=/usr, no module
#                   built: DKMS builds it for every installed kernel)
#   make module-debug  s3f.ko for the test guest's debug kernel (built first
#                   if needed, ~20 min cold), in its cache: kmod/ is untouched
#
# KDIR: the kernel build tree the module is built against.  Default: the
# running kernel's; where it has none (as on hosts that run the module
# only inside a test guest), the headers of the test guest's kernel, the
# one linux-headers-amd64 depends on (scripts/guest-kernel --version), so
# that other installed headers (6.12, -rt) do not change what make check
# builds.  KVER=6.12.x+deb12-amd64 or KDIR=... picks another kernel.

KVER ?= $(shell uname -r)
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build) \
	$(wildcard /usr/src/linux-headers-$(shell scripts/guest-kernel --version 2>/dev/null)))

all: module helper

module:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || \
		{ echo "no kernel build tree: install linux-headers-amd64 or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) S3F_WERROR=y modules

helper:
	$(MAKE) -C helper

module-debug:
	scripts/debug-kernel --module

# Both install what they need first (apt, npm), so they work on a fresh machine.
check:
	scripts/install-deps
	$(MAKE) all
	tests/run

# The everyday subset: no KUnit, no debug kernel, a short fault campaign.
check-quick:
	scripts/install-deps
	$(MAKE) all
	tests/run quick

# The long forms (fstests' fsx and fsstress at full length); same last line.
check-long:
	scripts/install-deps
	$(MAKE) all
	tests/run long

demo:
	scripts/install-deps
	$(MAKE) all
	scripts/demo

# ---- install (Documentation/deployment.md) ----
RELEASE := $(shell sed -n 's/^\#define S3F_RELEASE[[:space:]]*"\(.*\)"/\1/p' uapi/s3f.h)
PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# mount(8) looks for mount.TYPE in /sbin
MOUNTHELPERDIR ?= /sbin
UNITDIR ?= /lib/systemd/system
SYSCONFDIR ?= /etc
DOCDIR ?= $(PREFIX)/share/doc/s3f
DKMSDIR ?= $(PREFIX)/src/s3f-$(RELEASE)

install: install-tools install-dkms

install-tools: helper
	install -D -m 0755 helper/s3fd $(DESTDIR)$(SBINDIR)/s3fd
	install -D -m 0755 helper/s3fctl $(DESTDIR)$(SBINDIR)/s3fctl
	install -D -m 0755 helper/mount.s3f $(DESTDIR)$(MOUNTHELPERDIR)/mount.s3f
	install -D -m 0644 -t $(DESTDIR)$(MANDIR)/man8 man/*.8
	install -D -m 0644 -t $(DESTDIR)$(MANDIR)/man5 man/*.5
	install -D -m 0644 systemd/s3fd.service $(DESTDIR)$(UNITDIR)/s3fd.service
	install -D -m 0644 examples/s3fd.conf $(DESTDIR)$(SYSCONFDIR)/s3f/s3fd.conf
	install -D -m 0644 -t $(DESTDIR)$(DOCDIR)/examples examples/fstab examples/s3fd.conf

# what dkms.conf builds: Kbuild, kmod/ and uapi/ (no object files)
install-dkms:
	install -D -m 0644 -t $(DESTDIR)$(DKMSDIR) dkms.conf Kbuild
	install -D -m 0644 -t $(DESTDIR)$(DKMSDIR)/kmod kmod/Kbuild \
		$(filter-out %.mod.c,$(wildcard kmod/*.c)) kmod/*.h
	install -D -m 0644 -t $(DESTDIR)$(DKMSDIR)/uapi uapi/*.h

# Debian packages s3f-dkms and s3f-tools (debian/), built from a copy of
# the committed tree (git archive HEAD) in $(DEBBUILD); the .debs land in deb/.
DEBBUILD ?= /tmp/s3f-deb
deb:
	rm -rf $(DEBBUILD) && mkdir -p $(DEBBUILD)/s3f-$(RELEASE) deb
	git archive HEAD | tar -x -C $(DEBBUILD)/s3f-$(RELEASE)
	cd $(DEBBUILD)/s3f-$(RELEASE) && dpkg-buildpackage -b -us -uc
	cp $(DEBBUILD)/*.deb deb/

clean:
	@if [ -n "$(KDIR)" ] && [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	$(MAKE) -C helper clean
	rm -f helper/tests/*.o

.PHONY: all module helper module-debug check check-quick check-long demo clean \
	install install-tools install-dkms deb
