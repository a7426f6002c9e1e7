#!/usr/bin/env bash
# Print the path of Debian's Chromium (package chromium), installing it first if needed.
#
#   .ci/debian_chromium.sh
#
# The HTML report is rendered in headless Chromium by tests/adapters/test_report_html.py; make test
# exports the path as CHROMIUM.
# 1. chromium installed: the binary it installed (/usr/bin/chromium).
# 2. not installed: apt-get install -y chromium (as root; apt-get update first when the package
#    lists do not know it). Not root and not installed: a message and exit 1, so `make test` fails
#    loudly instead of skipping the browser tests.
# Messages go to stderr; stdout is only the path.
set -euo pipefail

package=chromium

say() { echo "debian_chromium: $*" >&2; }

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)" = "install ok installed" ]
}

known_to_apt() {
  local policy
  policy=$(apt-cache policy "$package" 2>/dev/null || true)
  [[ $policy == *"Candidate: "[0-9]* ]]
}

if ! installed; then
  if [ "$(id -u)" != 0 ]; then
    say "$package is not installed and this is not root: run 'sudo apt-get install -y $package'"
    exit 1
  fi
  if ! known_to_apt; then
    say "apt does not know $package yet: apt-get update"
    apt-get update -qq >&2
  fi
  known_to_apt || { say "no $package in the configured Debian archive"; exit 1; }
  say "apt-get install -y $package"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >&2
fi
binary=$(dpkg -L "$package" | grep -m 1 -E '^/usr/bin/chromium$')
echo "$binary"
