#!/bin/sh
# Builds a Debian package of DaisyDog Edge from a static binary:
#   /usr/bin/daisydog, the hardened unit /lib/systemd/system/daisydog.service
#   (deploy/systemd, started from /usr/bin), the docs; the maintainer scripts
#   create the system user daisydog and /var/lib/daisydog (0700) and never
#   start or enable the service: a node is created first, by hand, with
#   `daisydog init` or `daisydog join` (docs/operations.md "Installing the package").
#
# Usage: deploy/debian/build-deb.sh BIN VERSION OUTDIR   (make deb)
# Env:   DEB_COMPRESSION (xz; gzip is faster to build, for tests)
# VERSION is made a valid Debian version: a leading "v" is dropped, one that
# is not N.N… (a commit) becomes 0.0.0+git<version>, and '-' becomes '+'.
set -eu
BIN=${1:?usage: build-deb.sh BIN VERSION OUTDIR}
VERSION=${2:?usage: build-deb.sh BIN VERSION OUTDIR}
OUT=${3:?usage: build-deb.sh BIN VERSION OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
command -v dpkg-deb >/dev/null || { echo "build-deb.sh: dpkg-deb is required (apt-get install -y dpkg)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "build-deb.sh: not an executable: $BIN" >&2; exit 2; }

VERSION=${VERSION#v}
if ! printf '%s' "$VERSION" | grep -Eq '^[0-9]+\.[0-9]'; then
  VERSION="0.0.0+git$VERSION" # a commit (git describe --always), maybe -dirty
fi
# A native package: no Debian revision, so no '-'; only [A-Za-z0-9.+~].
VERSION=$(printf '%s' "$VERSION" | tr -- '-' '+' | tr -c 'A-Za-z0-9.+~' '.')
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
chmod 0755 "$STAGE"
install -d -m 0755 "$STAGE/DEBIAN" "$STAGE/usr/bin" "$STAGE/lib/systemd/system" "$STAGE/usr/share/doc/daisydog"
install -m 0755 "$BIN" "$STAGE/usr/bin/daisydog"
sed 's#/usr/local/bin/daisydog#/usr/bin/daisydog#g' "$ROOT/deploy/systemd/daisydog.service" > "$STAGE/lib/systemd/system/daisydog.service"
chmod 0644 "$STAGE/lib/systemd/system/daisydog.service"
for f in README.md docs/operations.md docs/security.md docs/api.md; do
  install -m 0644 "$ROOT/$f" "$STAGE/usr/share/doc/daisydog/$(basename "$f")"
done
for s in postinst prerm postrm; do
  install -m 0755 "$HERE/$s" "$STAGE/DEBIAN/$s"
done
SIZE=$(du -sk "$STAGE/usr" "$STAGE/lib" | awk '{s += $1} END {print s}')
cat > "$STAGE/DEBIAN/control" <<CONTROL
Package: daisydog
Version: $VERSION
Architecture: $ARCH
Maintainer: DaisyDog Edge maintainers <maintainers@daisydog.invalid>
Section: net
Priority: optional
Installed-Size: $SIZE
Depends: passwd
Homepage: https://github.com/daisydog/edge
Description: DaisyDog Edge, the backend of a safe chat companion for children
 One static binary per server: a three-node cluster (Raft over TLS) on an
 encrypted SQLite database, content-safety policies in WebAssembly, and the
 HTTPS API with the parent console. This package installs the binary and a
 hardened systemd unit; create the node with daisydog init or join, then
 systemctl enable --now daisydog (docs in /usr/share/doc/daisydog).
CONTROL
mkdir -p "$OUT"
DEB="$OUT/daisydog_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group "-Z${DEB_COMPRESSION:-xz}" --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
