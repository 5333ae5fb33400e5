#!/usr/bin/env bash
# npm run down [-- --purge]: destroy the `local` stack's cluster (machines, bridge, NAT rules, files: `pulumi
# destroy`). --purge also removes the stack itself, stacks/Pulumi.local.yaml and the base-image cache. Asks nothing.
# Kept: ~/.elastic-mesos (the file backend and passphrase other stacks may use) and the lab's test mirror.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
VERB=down
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PURGE=0
DEFAULT_IMAGE_CACHE=/var/cache/elastic-mesos/images # local.imageCache's default (components/config/defaults.ts)
parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --purge) PURGE=1 ;;
      *) die "unknown argument $1; usage: npm run down [-- --purge]" ;;
    esac
    shift
  done
}

# The backend `npm run up` used: the user's login, else ~/.elastic-mesos/state if it exists.
use_backend() {
  [ -n "$(current_backend)" ] && return
  local state=$EM_HOME/state
  [ -d "$state" ] || die "not logged in to a Pulumi backend and no $state: \`npm run up\` made no stack as this user;" \
    "log in to the backend you used (\`pulumi login <url>\`), then \`npm run down\` again"
  pulumi login "file://$state" >/dev/null || die "pulumi login file://$state failed (output above)"
}

# The passphrase `npm run up` generated, when the user set none (never a new one: it could decrypt nothing).
use_passphrase() {
  if [ -n "${PULUMI_CONFIG_PASSPHRASE+set}" ] || [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then return; fi
  if [ -f "$EM_HOME/passphrase" ]; then export PULUMI_CONFIG_PASSPHRASE_FILE=$EM_HOME/passphrase; fi
}

# An absolute directory at least two levels below / (a config typo must not remove /var or /).
removable_dir() {
  local d; d=$(realpath -m -- "$1")
  [[ $1 == /* && $d =~ ^/[^/]+/[^/]+ ]]
}

purge() {
  local cache=$1 had_file=0
  if [ -f "$STACK_FILE" ]; then had_file=1; fi # `pulumi stack rm` removes it too
  if pulumi stack select "$STACK" >/dev/null 2>&1; then
    pulumi stack rm --yes "$STACK" >/dev/null || die "pulumi stack rm --yes $STACK failed (output above)"
    say "removed the stack $STACK"
  fi
  rm -f -- "$STACK_FILE"
  if [ "$had_file" = 1 ]; then say "removed ${STACK_FILE#"$EM_ROOT"/}"; fi
  if [ -d "$cache" ]; then as_root rm -rf -- "$cache"; say "removed the base-image cache $cache"; fi
  say "kept $EM_HOME (backend and passphrase) and the test mirror (lab/lab-down.sh removes that)"
}

main() {
  parse_args "$@"
  preflight
  pulumi_cli
  use_backend
  use_passphrase
  local cache=$DEFAULT_IMAGE_CACHE found=0
  if pulumi stack select "$STACK" >/dev/null 2>&1; then
    found=1; cache=$(config_get local.imageCache || echo "$DEFAULT_IMAGE_CACHE")
  fi
  if [ "$PURGE" = 1 ] && ! removable_dir "$cache"; then # checked before anything is destroyed
    die "--purge: local.imageCache is $cache, not a directory to remove whole; fix the key or run without --purge"
  fi
  if [ "$found" = 1 ]; then
    say "pulumi destroy --stack $STACK"
    pulumi destroy --yes --stack "$STACK" ||
      die "pulumi destroy failed (its output above says why); fix that, then run \`npm run down\` again"
    say "the cluster is gone (machines, bridge, NAT rules and their files)"
  else
    say "no stack $STACK on this backend: nothing to destroy"
  fi
  if [ "$PURGE" = 1 ]; then purge "$cache"; return; fi
  if [ "$found" = 1 ]; then say "kept the stack $STACK and its config: \`npm run up\` brings the cluster back;" \
    "\`npm run down -- --purge\` removes them and the base-image cache too"; fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
