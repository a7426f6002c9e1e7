#!/usr/bin/env bash
# Print the path of Debian's kubectl (package kubernetes-client), getting it first if needed.
#
#   bench/debian_kubectl.sh [DIR]     (DIR: where to unpack it when it cannot be installed)
#
# 1. kubernetes-client installed: the kubectl it installed (dpkg -L).
# 2. /usr/bin/kubectl missing: apt-get install -y kubernetes-client (as root; apt-get update first
#    when the package lists do not know it).
# 3. /usr/bin/kubectl present but from elsewhere (e.g. the Google Cloud SDK's "kubectl" package):
#    installing kubernetes-client would have to overwrite that file, which dpkg refuses (and
#    forcing it would replace the machine's kubectl). So the Debian package is downloaded with
#    apt-get download and unpacked into DIR/kubernetes-client; DIR/kubernetes-client/debian-package
#    records its name, version and SHA-256.
# Messages go to stderr; stdout is only the path.
set -euo pipefail

dir=${1:-bench/out}
package=kubernetes-client

say() { echo "debian_kubectl: $*" >&2; }

kubectl_of_package() {
  local files
  files=$(dpkg -L "$package")
  grep -m 1 -E '/bin/kubectl$' <<< "$files"
}

known_to_apt() {
  local policy
  policy=$(apt-cache policy "$package" 2>/dev/null || true)
  [[ $policy == *"Candidate: "[0-9]* ]]
}

ensure_lists() {
  if ! known_to_apt; then
    say "apt does not know $package yet: apt-get update"
    apt-get update -qq >&2
  fi
  known_to_apt || { say "no $package in the configured Debian archive"; exit 1; }
}

status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
if [ "$status" = "install ok installed" ]; then
  kubectl_of_package
  exit 0
fi

if [ ! -e /usr/bin/kubectl ]; then
  ensure_lists
  say "apt-get install -y $package"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >&2
  kubectl_of_package
  exit 0
fi

target="$dir/$package"
if [ ! -x "$target/usr/bin/kubectl" ]; then
  owner=$(dpkg-query -S /usr/bin/kubectl 2>/dev/null | cut -d: -f1 || true)
  say "/usr/bin/kubectl belongs to ${owner:-no package}; unpacking Debian's $package into $target"
  ensure_lists
  download=$(mktemp -d)
  chmod 755 "$download"  # apt-get download writes as the _apt user
  trap 'rm -rf "$download"' EXIT
  (cd "$download" && apt-get download -qq "$package" >&2)
  deb=$(ls "$download"/*.deb)
  rm -rf "$target"
  mkdir -p "$target"
  dpkg-deb -x "$deb" "$target"
  printf '%s %s sha256:%s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" \
    "$(sha256sum "$deb" | cut -d' ' -f1)" > "$target/debian-package"
fi
echo "$target/usr/bin/kubectl"
