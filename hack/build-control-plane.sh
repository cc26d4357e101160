#!/usr/bin/env bash
# Builds kube-apiserver and etcd from source through the Go module proxy into
# bin/k8s/<kubernetes version>-<os>-<arch>/, the layout setup-envtest uses, and
# prints that folder on stdout as its last line. The versions come from
# hack/controlplane/go.mod. Binaries that exist and run with --version are reused.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module_dir="$root/hack/controlplane"

log() { printf 'control-plane: %s\n' "$*" >&2; }
fail() { printf 'control-plane: FAILED at step "%s". %s\n' "$1" "$2" >&2; exit 1; }

command -v go >/dev/null || fail "find go" "Install Go 1.26 and put it on PATH."

module_version() {
  # Prints the version a module is required at in hack/controlplane/go.mod.
  (cd "$module_dir" && go list -m -f '{{.Version}}' "$1")
}

kube_version=$(module_version k8s.io/kubernetes) ||
  fail "read versions" "go list could not read k8s.io/kubernetes from $module_dir/go.mod."
etcd_version=$(module_version go.etcd.io/etcd/server/v3) ||
  fail "read versions" "go list could not read go.etcd.io/etcd/server/v3 from $module_dir/go.mod."

goos=$(go env GOOS)
goarch=$(go env GOARCH)
out_dir="$root/bin/k8s/${kube_version#v}-$goos-$goarch"
mkdir -p "$out_dir"

# Version stamps that the Kubernetes release build sets; without them the
# server reports v0.0.0 and clients warn about version skew.
minor=$(echo "$kube_version" | cut -d. -f2)
ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=$kube_version \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=$kube_version"

build() {
  local name=$1 pkg=$2 version=$3
  local target="$out_dir/$name"
  if [ -x "$target" ] && [ -f "$target.version" ] && [ "$(cat "$target.version")" = "$version" ] &&
    "$target" --version >/dev/null 2>&1; then
    log "$name $version is already built at $target"
    return
  fi
  log "building $name $version from $pkg (the first build takes several minutes)"
  local start=$SECONDS
  if ! (cd "$module_dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$target.tmp" "$pkg"); then
    rm -f "$target.tmp"
    fail "build $name" "go build $pkg failed in $module_dir; the compiler output is above."
  fi
  mv "$target.tmp" "$target"
  echo "$version" >"$target.version"
  "$target" --version >/dev/null 2>&1 || fail "check $name" "$target --version did not run."
  log "built $name in $((SECONDS - start))s"
}

log "downloading modules listed in $module_dir/go.mod"
(cd "$module_dir" && go mod download) || fail "download modules" "go mod download failed; check that the Go module proxy is reachable (GOPROXY=$(go env GOPROXY))."

build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kube_version"
build etcd ./etcd "$etcd_version"

echo "$out_dir"
