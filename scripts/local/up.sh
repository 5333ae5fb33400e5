#!/usr/bin/env bash
# npm run up: a Mesos cluster on this Linux machine (stack `local`: systemd-nspawn machines on a private bridge).
#   Pulumi CLI (found or built) → backend (yours, else ~/.elastic-mesos/state) → passphrase (yours, else
#   ~/.elastic-mesos/passphrase) → stack `local` (from stacks/Pulumi.local-example.yaml) → both secrets (only when
#   missing) → artifacts (upstream, your mirror, else the project's test mirror) → `pulumi up` → URLs.
# Running it again is a no-change run; after a config change (`pulumi config set --path ...`) it applies it.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
VERB=up
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

run_up() {
  say "pulumi up --stack $STACK (the program checks this machine first; Pulumi shows each resource's time)"
  pulumi up --yes --stack "$STACK" ||
    die "pulumi up failed (its output above says why); fix that, then run \`npm run up\` again: it continues" \
      "from where it stopped"
}

output() {
  pulumi stack output --stack "$STACK" "$1" 2>/dev/null ||
    die "the stack has no output $1 (\`npm run pulumi -- stack output\` lists them); run \`npm run up\` again"
}

# URLs, admin user and commands that work as printed (the password stays in Pulumi: no secret on screen).
summary() {
  local mesos marathon user
  mesos=$(output mesosUrl); marathon=$(output marathonUrl); user=$(output adminUser)
  local pw="npm run -s pulumi -- stack output --show-secrets adminPassword"
  if [ "$(config_get artifacts.testStandIns || true)" = true ]; then stand_in_banner; fi
  say "cluster ready"
  cat <<EOF
  Mesos      $mesos
  Marathon   $marathon
  user       $user
  password   $pw
  CA         npm run -s pulumi -- stack output caCertificate > ca.pem
  try it     printf 'user = "$user:%s"\\n' "\$($pw)" | curl -sS --cacert ca.pem -K - $marathon/v2/info
  scale      npm run pulumi -- config set --path 'elastic-mesos:agentPools[0].count' 3 && npm run up
  remove     npm run down          (npm run down -- --purge: also the stack, its config and the image cache)
EOF
}

main() {
  preflight
  say "Pulumi CLI: finding it (a first build from source takes a few minutes)"
  pulumi_cli
  ensure_backend
  ensure_passphrase
  ensure_stack
  ensure_secrets
  ensure_artifacts
  run_up
  summary
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
