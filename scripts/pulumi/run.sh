#!/usr/bin/env bash
# npm run pulumi -- <command>: the project's Pulumi CLI (npm run pulumi:install finds or builds it), with its bin
# directory first on PATH so the engine finds the language host and the dynamic-provider host beside it.
set -euo pipefail
BIN=$(bash "$(dirname "$0")/install.sh" --quiet) # progress and errors go to stderr
export PATH="$BIN:$PATH"
# The passphrase `npm run up` generated (scripts/local/lib.sh), when the caller set none: stack commands such as
# `npm run pulumi -- stack output --show-secrets adminPassword` then work in a new shell too.
if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ] &&
  [ -f "$HOME/.elastic-mesos/passphrase" ]; then
  export PULUMI_CONFIG_PASSPHRASE_FILE=$HOME/.elastic-mesos/passphrase
fi
exec pulumi "$@"
