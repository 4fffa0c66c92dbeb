#!/bin/sh
# The Debian package, as CI checks it: build it with dpkg-buildpackage in a
# copy of the tree (so its build directory never meets build/), run lintian
# (any error fails), install the .deb, mount the simulator's demo deployment
# with the installed binary through `mount -t fuse.dexmafs` and through the
# man page's fstab line (mount -T with a private fstab), list it, unmount and
# remove the package. Needs root. Exit status non-zero on any failure.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
work=$(mktemp -d /tmp/dexmafs-package.XXXXXX)
installed=0
sim_pid=""

cleanup() {
	for m in "$work/mnt" "$work/srv/dexma"; do
		mountpoint -q "$m" 2>/dev/null && umount -l "$m"
	done
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null
	[ "$installed" = 1 ] && dpkg -r dexmafs >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

step() { echo "package: $*"; }
fail() { echo "package: FAIL: $*" >&2; exit 1; }

# 1. Build from a copy: no build directories, no git metadata. The unit
# tests ran already (tests/run.sh); nocheck keeps this step short.
step "dpkg-buildpackage"
mkdir -p "$work/src/dexmafs"
tar --exclude='./build*' --exclude=./.git --exclude=./dexma-demo --exclude='./obj-*' \
	-cf - . | tar -C "$work/src/dexmafs" -xf -
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
(cd "$work/src/dexmafs" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b \
	>"$work/build.log" 2>&1) || { tail -40 "$work/build.log"; fail "dpkg-buildpackage"; }
deb="$work/src/dexmafs_${version}_${arch}.deb"
[ -f "$deb" ] || fail "no $deb"
dpkg-deb -c "$deb" >"$work/contents"
for f in usr/bin/dexmafs usr/share/man/man1/dexmafs.1.gz \
	usr/lib/systemd/system/dexmafs.service usr/lib/systemd/user/dexmafs@.service \
	usr/share/doc/dexmafs/examples/config.example \
	usr/share/doc/dexmafs/examples/smb-dexmafs.conf; do
	grep -q " \./$f\$" "$work/contents" || fail "$f not in the package"
done

# 2. lintian: errors fail (warnings are shown).
step "lintian"
lintian --allow-root --fail-on error "$work/src/dexmafs_${version}_${arch}.changes" ||
	fail "lintian reports errors"

# 3. Install; the package's dependencies are what the build needed anyway.
step "dpkg -i"
dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i"; }
installed=1
[ "$(command -v dexmafs)" = /usr/bin/dexmafs ] || fail "dexmafs is not /usr/bin/dexmafs"
getent passwd dexmafs >/dev/null || fail "postinst did not create the user dexmafs"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify /usr/lib/systemd/system/dexmafs.service ||
		fail "systemd-analyze verify dexmafs.service"
fi

# 4. The simulator, as tests/demo.sh starts it.
python3 tests/sim/dexma_sim.py --port 0 --port-file "$work/port" \
	--log "$work/requests.jsonl" >/dev/null 2>"$work/sim.err" &
sim_pid=$!
i=0
while [ ! -s "$work/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$work/port" ] || fail "simulator did not start: $(cat "$work/sim.err")"
api="http://127.0.0.1:$(cat "$work/port")/v3"
install -m 600 /dev/null "$work/token"
echo 0123456789abcdef0123 >"$work/token"

check_listing() {
	ls "$1/devices" | grep -qx 'Main Meter (1200001)' || fail "no device listed under $1"
	head -c 100 "$1/devices/Main Meter (1200001)/EACTIVE/hourly/2024-10-01--2024-10-31.csv" |
		grep -q 'local_time (Europe/Madrid)[,;]utc_time[,;]EACTIVE' || fail "no CSV under $1"
}

# 5. mount -t fuse.dexmafs with the installed binary (mount.fuse3 runs it).
step "mount -t fuse.dexmafs"
mkdir "$work/mnt"
mount -t fuse.dexmafs -o "api_url=$api,token_file=$work/token,cache_dir=$work/cache,_netdev" \
	dexma:demo "$work/mnt" || fail "mount -t fuse.dexmafs"
grep -q " $work/mnt fuse.dexmafs ro," /proc/mounts || fail "not a read-only fuse.dexmafs mount"
check_listing "$work/mnt/demo"
umount "$work/mnt" || fail "umount"

# 6. The fstab line of the man page's EXAMPLES, word for word except for
# the paths, through a private fstab (mount -T): /etc/fstab is not touched.
step "the man page's fstab line"
line=$(grep -m1 '^dexma:acme  */srv/dexma  *fuse.dexmafs' man/dexmafs.1) ||
	fail "no fstab line in man/dexmafs.1"
mkdir -p "$work/etc/dexmafs" "$work/srv/dexma"
printf '[deployment acme]\ntoken_file = %s\napi_url = %s\n' "$work/token" "$api" \
	>"$work/etc/dexmafs/config"
echo "$line" | sed -e "s|/srv/dexma|$work/srv/dexma|" -e "s|/etc/dexmafs|$work/etc/dexmafs|" \
	-e "s|/var/cache/dexmafs|$work/fstab-cache|" >"$work/fstab"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin mount -T "$work/fstab" "$work/srv/dexma" ||
	fail "mount -T with the man page's fstab line: $(cat "$work/fstab")"
check_listing "$work/srv/dexma/acme"
umount "$work/srv/dexma" || fail "umount"

# 7. Remove the package; nothing of it stays in /usr.
step "dpkg -r"
dpkg -r dexmafs >/dev/null || fail "dpkg -r"
installed=0
[ ! -e /usr/bin/dexmafs ] || fail "/usr/bin/dexmafs left behind"
echo "package: ok ($(basename "$deb"))"
