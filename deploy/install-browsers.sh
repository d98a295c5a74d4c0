#!/bin/sh
# Installs the browsers of the real-browser tests when missing: Chromium
# (TestBrowserParentConsole, TestBrowserStaffDashboard) and Firefox ESR
# (TestBrowserFirefox), Debian's packages; sudo when not root. Never fails:
# without a browser its tests skip locally and fail when CI=true.
need=
found=
for b in chromium chromium-browser google-chrome; do
  command -v "$b" >/dev/null 2>&1 && found=1
done
[ -n "$found" ] || need="chromium"
found=
for b in firefox-esr firefox; do
  command -v "$b" >/dev/null 2>&1 && found=1
done
[ -n "$found" ] || need="$need firefox-esr"
need=$(echo $need)
[ -n "$need" ] || exit 0
echo "installing $need for the browser tests"
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
# shellcheck disable=SC2086 # $need is a list of package names
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null 2>&1 ||
  { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null; } ||
  echo "could not install $need: those browser tests will skip (and fail when CI=true)"
exit 0
