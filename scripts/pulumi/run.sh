#!/usr/bin/env bash
# npm run pulumi -- <command>: the project's Pulumi CLI (npm run pulumi:install finds or builds it), with its bin
# directory first on PATH so the engine finds the language host and the dynamic-provider host beside it.
set -euo pipefail
BIN=$(bash "$(dirname "$0")/install.sh" --quiet) # progress and errors go to stderr
export PATH="$BIN:$PATH"
exec pulumi "$@"
