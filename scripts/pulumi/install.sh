#!/usr/bin/env bash
# npm run pulumi:install: make the Pulumi CLI that matches @pulumi/pulumi available; print its bin directory last.
#
#  1. A `pulumi` on PATH whose version fits (same major, not older than the SDK) is used as it is.
#  2. Otherwise the CLI is built once from the Go module proxy into a cache outside the repo,
#     ${ELASTIC_MESOS_CACHE:-~/.cache/elastic-mesos}/pulumi-<version>/bin, and reused from there (seconds).
#
# How the build works: the CLI is ./cmd/pulumi in github.com/pulumi/pulumi/pkg/v3, whose go.mod replaces
# github.com/pulumi/pulumi/sdk/v3 with ../sdk, so `go install ...@version` refuses it. We download both modules
# at the same version (go.sum verifies every module), lay them side by side as the repository does, and build.
# The proxy does not serve the Node.js language host's module, so the bin directory gets ours
# (scripts/pulumi/language-host.js, see its header) and the SDK's dynamic-provider launcher.
#
# Usage: install.sh [--quiet]   (--quiet: stdout is just the bin directory; only a build reports progress, on stderr)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
QUIET=0; [ "${1:-}" = "--quiet" ] && QUIET=1
say() { [ $QUIET = 1 ] || echo "[pulumi:install] $*"; }
progress() { echo "[pulumi:install] $*" >&2; } # a build takes minutes: always say what it does
die() { echo "[pulumi:install] error: $*" >&2; exit 1; }

VERSION=$(node -p "require('$ROOT/node_modules/@pulumi/pulumi/package.json').version" 2>/dev/null) ||
  die "node_modules/@pulumi/pulumi is missing: run \`npm ci\` first"
CACHE=${ELASTIC_MESOS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/elastic-mesos}
BIN=$CACHE/pulumi-$VERSION/bin

# "v3.248.0" -> 0 when it can drive SDK $VERSION: same major version and not older.
fits() {
  local have=${1#v} want=$VERSION
  [ "${have%%.*}" = "${want%%.*}" ] && [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" = "$want" ]
}

install_helpers() {
  install -m 0755 "$ROOT/scripts/pulumi/language-host.js" "$BIN/pulumi-language-nodejs"
  install -m 0755 "$ROOT/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs" "$BIN/pulumi-resource-pulumi-nodejs"
}

# module_field JSON PATH FIELD: FIELD of module PATH (any module when PATH is empty) in `go mod download -json` output.
module_field() {
  node -e 'const [, text, path, field] = process.argv; let out = "";
    for (const m of text.split(/\n(?=\{)/).map((t) => JSON.parse(t)))
      if (!path || m.Path === path) out ||= m[field] ?? "";
    console.log(out)' "$@"
}

build() {
  command -v go >/dev/null ||
    die "no Go toolchain: install Go 1.25 or newer (Debian 12's golang is too old), then run npm run pulumi:install again"
  local work t0=$SECONDS
  work=$(mktemp -d); trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' RETURN
  progress "building the Pulumi CLI v$VERSION from the Go module proxy (once; a few minutes on 2 cores)"
  local mods=("github.com/pulumi/pulumi/pkg/v3@v$VERSION" "github.com/pulumi/pulumi/sdk/v3@v$VERSION")
  local json
  json=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "${mods[@]}") || true
  local pkg sdk
  pkg=$(module_field "$json" github.com/pulumi/pulumi/pkg/v3 Dir)
  sdk=$(module_field "$json" github.com/pulumi/pulumi/sdk/v3 Dir)
  if [ ! -d "$pkg" ] || [ ! -d "$sdk" ]; then
    die "downloading ${mods[*]} failed: $(module_field "$json" '' Error). Retry: npm run pulumi:install"
  fi
  progress "modules downloaded in $((SECONDS - t0)) s; compiling ./cmd/pulumi"
  cp -r "$pkg" "$work/pkg"; cp -r "$sdk" "$work/sdk"; chmod -R u+w "$work"
  mkdir -p "$BIN"
  (cd "$work/pkg" && go build -trimpath -o "$BIN/pulumi.new.$$" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION" ./cmd/pulumi) ||
    die "go build of github.com/pulumi/pulumi/pkg/v3@v$VERSION ./cmd/pulumi failed (output above)." \
      "Retry: npm run pulumi:install"
  mv -f "$BIN/pulumi.new.$$" "$BIN/pulumi" # a name of its own: two builds at once (CI, a test) must not collide
  progress "built $BIN/pulumi in $((SECONDS - t0)) s"
}

T0=$SECONDS
if onpath=$(command -v pulumi 2>/dev/null) && [ "$(dirname "$onpath")" != "$BIN" ] &&
  v=$(PULUMI_SKIP_UPDATE_CHECK=true pulumi version 2>/dev/null) && fits "$v"; then
  say "using $onpath ($v)"
  dirname "$onpath"
  exit 0
fi
if [ -x "$BIN/pulumi" ] && [ "$(PULUMI_SKIP_UPDATE_CHECK=true "$BIN/pulumi" version 2>/dev/null)" = "v$VERSION" ]; then
  say "cached: $BIN/pulumi (v$VERSION)"
else
  build
fi
install_helpers
say "ready in $((SECONDS - T0)) s; add it to PATH: export PATH=\"$BIN:\$PATH\""
echo "$BIN"
