#!/bin/sh
# Installs what the real-browser and compose tests need when missing, from
# Debian's packages (sudo when not root): Chromium (TestBrowserParentConsole,
# TestBrowserStaffDashboard), Firefox ESR (TestBrowserFirefox) and
# docker-compose (TestComposeCluster). Never fails: without a tool its tests
# skip locally and fail when CI=true.
need=
have() {
  for b in "$@"; do command -v "$b" >/dev/null 2>&1 && return 0; done
  return 1
}
have chromium chromium-browser google-chrome || need="$need chromium"
have firefox-esr firefox || need="$need firefox-esr"
have docker-compose || need="$need docker-compose"
need=$(echo $need)
[ -n "$need" ] || exit 0
echo "installing $need for the tests"
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
# shellcheck disable=SC2086 # $need is a list of package names
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null 2>&1 ||
  { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null; } ||
  echo "could not install $need: their tests will skip (and fail when CI=true)"
exit 0
