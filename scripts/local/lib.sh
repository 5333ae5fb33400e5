# shellcheck shell=bash
# Shared by scripts/local/up.sh (npm run up) and down.sh (npm run down): the steps around `pulumi up` for the
# `local` stack, one short function each. Sourced, never run; the caller sets VERB (up|down) and `set -euo pipefail`.
# Tests source these files and call single steps (test/unit/local-scripts.test.ts).

EM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EM_HOME=$HOME/.elastic-mesos            # the file backend and the passphrase when the user has neither
STACK=local
STACK_FILE=$EM_ROOT/stacks/Pulumi.$STACK.yaml
EXAMPLE=$EM_ROOT/stacks/Pulumi.local-example.yaml
# Package sources of the real cluster: Clusterd's Mesos repository and Docker Hub (Marathon's image).
UPSTREAM_PROBES=(https://rpm.aventer.biz/ https://registry-1.docker.io/v2/)
TEST_ZOOKEEPER=3.8.6                     # the product's pin, which the test mirror serves (lab/lib/mirror.sh ZK_VERSIONS)
T0=${EPOCHREALTIME//[!0-9]/}             # microseconds; digits only, whatever the locale's decimal mark
CLEANUP=()                               # temp dirs removed on exit, however the script ends
trap 'rm -rf "${CLEANUP[@]}"' EXIT

# Seconds since the start, one decimal.
elapsed() {
  local us=$((${EPOCHREALTIME//[!0-9]/} - T0))
  printf '%d.%d' $((us / 1000000)) $((us / 100000 % 10))
}
say() { printf '[%s %ss] %s\n' "$VERB" "$(elapsed)" "$*"; }
die() { printf '[%s %ss] error: %s\n' "$VERB" "$(elapsed)" "$*" >&2; exit 1; }

# --- this machine -------------------------------------------------------------------------------------------

# Linux, Node dependencies installed, root or password-less sudo (the machines, bridge and image need root).
preflight() {
  local os; os=$(uname -s)
  [ "$os" = Linux ] || die "local clusters run as systemd-nspawn machines, which need Linux (this is $os)." \
    "Use a cloud or bare-metal stack instead: see the README quickstart (pulumi stack init, pulumi up)"
  [ -f "$EM_ROOT/node_modules/@pulumi/pulumi/package.json" ] ||
    die "the Node dependencies are missing: run \`npm ci\`, then \`npm run $VERB\` again"
  [ "$(id -u)" = 0 ] && return
  command -v sudo >/dev/null && sudo -n true 2>/dev/null && return
  die "creating machines, a bridge and a base image needs root: run \`sudo npm run $VERB\`," \
    "or allow this user password-less sudo (\`sudo -n true\` must succeed), then \`npm run $VERB\` again"
}

# Runs a command as root: directly, or through password-less sudo (checked by preflight).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

# --- the Pulumi CLI, backend and secrets provider ------------------------------------------------------------

# Finds the Pulumi CLI that fits, or builds it once (minutes), and puts it first on PATH.
pulumi_cli() {
  local bin
  bin=$(bash "$EM_ROOT/scripts/pulumi/install.sh" --quiet) ||
    die "no Pulumi CLI (the lines above say why); fix that, then run \`npm run pulumi:install\` and \`npm run $VERB\`"
  PATH=$bin:$PATH
  export PULUMI_SKIP_UPDATE_CHECK=true
}

# The backend the user is logged in to, else "" (whoami fails when there is none).
current_backend() {
  { pulumi whoami -v 2>/dev/null || true; } | sed -n 's/^Backend URL: *//p'
}

# The user's backend if `pulumi whoami` works; else a file backend under ~/.elastic-mesos/state (0700).
ensure_backend() {
  local url state=$EM_HOME/state; url=$(current_backend)
  if [ "$url" = "file://$state" ]; then say "backend: $url (made by an earlier npm run up)"; return; fi
  if [ -n "$url" ]; then say "backend: yours, $url"; return; fi
  (umask 077 && mkdir -p "$state")
  pulumi login "file://$state" >/dev/null ||
    die "pulumi login file://$state failed (output above); log in to a backend of yours (\`pulumi login\`), then \`npm run $VERB\`"
  say "backend: file://$state (not logged in to any: a local file backend of your own)"
}

# The passphrase of the passphrase secrets provider: the user's (PULUMI_CONFIG_PASSPHRASE[_FILE]) if set, else
# ~/.elastic-mesos/passphrase, made once from /dev/urandom (0600, never printed).
ensure_passphrase() {
  if [ -n "${PULUMI_CONFIG_PASSPHRASE+set}" ] || [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then return; fi
  local file=$EM_HOME/passphrase
  if [ ! -s "$file" ]; then
    (umask 077 && mkdir -p "$EM_HOME" && head -c 32 /dev/urandom | base64 -w0 >"$file.new" && mv "$file.new" "$file")
    say "secrets passphrase: generated $file (mode 0600; keep it, the stack's secrets are encrypted with it)"
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE=$file
}

# Selects the stack, or creates it from the example file (the backend picks the secrets provider: passphrase on a
# file backend, Pulumi Cloud's own there).
ensure_stack() {
  if pulumi stack select "$STACK" >/dev/null 2>&1; then
    # Its config (the encrypted secrets among it) lives in the stack file: a new one would mean new secrets,
    # which rotates every credential of a running cluster. Never guess.
    [ -f "$STACK_FILE" ] || die "stack $STACK exists in your backend but ${STACK_FILE#"$EM_ROOT"/} is missing" \
      "(it holds the stack's config and encrypted secrets): restore it from where the stack was made, or" \
      "remove the stack with \`npm run down -- --purge\` and run \`npm run up\` again"
    say "stack $STACK: selected"; return
  fi
  if [ ! -f "$STACK_FILE" ]; then
    cp "$EXAMPLE" "$STACK_FILE"
    say "stack $STACK: config written to ${STACK_FILE#"$EM_ROOT"/} from ${EXAMPLE##*/}"
  fi
  pulumi stack init "$STACK" >/dev/null ||
    die "pulumi stack init $STACK failed (output above); fix it, then run \`npm run $VERB\` again"
  say "stack $STACK: created"
}

# --- stack config --------------------------------------------------------------------------------------------

# Prints elastic-mesos:<path> of the stack (a secret decrypted: never print it); fails when the key is not set.
config_get() { pulumi config get --path "elastic-mesos:$1" --stack "$STACK" 2>/dev/null; }
has_config() { config_get "$1" >/dev/null; }

# Sets plain (non-secret) keys in one call: set_plain key=value...
set_plain() {
  local args=() kv
  for kv in "$@"; do args+=(--plaintext "elastic-mesos:$kv"); done
  pulumi config set-all --path --stack "$STACK" "${args[@]}" >/dev/null || die "pulumi config set-all failed (output above)"
}

# Both secrets, each only when missing: a second run sets nothing. Values go through stdin, never argv.
ensure_secrets() {
  if has_config clusterSecret; then say "clusterSecret: set already (kept)"; else
    openssl rand -base64 32 | pulumi config set --secret elastic-mesos:clusterSecret --stack "$STACK" >/dev/null ||
      die "setting clusterSecret failed (output above)"
    say "clusterSecret: generated and stored as a Pulumi secret"
  fi
  if has_config sshPrivateKey; then say "sshPrivateKey: set already (kept)"; else set_ssh_key; fi
}

# A new ed25519 key for the machines' root login: private half a Pulumi secret, public half ssh.publicKey.
# The key files live in a 0700 temp dir that is removed whatever happens.
set_ssh_key() {
  local dir; dir=$(mktemp -d); CLEANUP+=("$dir"); chmod 0700 "$dir"
  ssh-keygen -q -t ed25519 -N '' -C "elastic-mesos-$STACK" -f "$dir/key" || die "ssh-keygen failed (is openssh-client installed?)"
  pulumi config set --secret elastic-mesos:sshPrivateKey --stack "$STACK" <"$dir/key" >/dev/null ||
    die "setting sshPrivateKey failed (output above)"
  set_plain "ssh.publicKey=$(cat "$dir/key.pub")"
  rm -rf "$dir"
  say "sshPrivateKey: generated (ed25519) and stored as a Pulumi secret; ssh.publicKey is its public half"
}

# --- artifacts: the real package sources, the user's mirror, or the project's test mirror --------------------

# 0 when URL answers within 5 s (any HTTP status: Docker Hub's registry says 401 to everyone).
answers() { curl -s -m 5 -o /dev/null "$1"; }

# 0 when every upstream package source answers.
upstream_reachable() {
  local url
  for url in "${UPSTREAM_PROBES[@]}"; do answers "$url" || return 1; done
}

# 0 when the stack's test mirror and apt proxy answer (after a reboot they need lab-up.sh 0 again).
test_mirror_answers() {
  local mirror proxy
  mirror=$(config_get artifacts.mirror) && proxy=$(config_get local.aptProxy) || return 1
  curl -fs -m 5 -o /dev/null "$mirror/keys/lab-archive.fingerprint" && answers "$proxy"
}

ensure_artifacts() {
  if [ "$(config_get artifacts.testStandIns || true)" = true ]; then
    test_mirror_answers || lab_up
    say "artifacts: the project's test mirror (chosen by an earlier run)"; stand_in_banner; return
  fi
  if has_config artifacts.mirror || has_config artifacts.offlineBundle; then
    say "artifacts: your artifacts.mirror / artifacts.offlineBundle"; return
  fi
  if upstream_reachable; then
    say "artifacts: upstream package sources answer; the machines reach them through NAT on the bridge"; return
  fi
  use_test_mirror
}

lab_dir() { printf '%s' "${LAB:-/var/tmp/elastic-mesos-lab}"; }

# The test mirror's bridge, apt proxy and mirror, without lab hosts (idempotent; reuses a running lab).
lab_up() {
  local log=$EM_HOME/test-mirror.log
  say "test mirror: bash lab/lab-up.sh 0 (bridge emlab0, apt proxy and artifact mirror; as root; log $log)"
  mkdir -p "$EM_HOME"
  if ! as_root env "LAB=$(lab_dir)" bash "$EM_ROOT/lab/lab-up.sh" 0 >"$log" 2>&1; then
    tail -20 "$log" >&2
    die "lab/lab-up.sh 0 failed (its last lines above, all of it in $log). Give this machine access to" \
      "rpm.aventer.biz and registry-1.docker.io, or set artifacts.mirror to your mirror, then run \`npm run up\` again"
  fi
}

# One field of the lab's lab.json.
lab_field() {
  node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]];
    if (typeof v !== "string" || !v) process.exit(1); console.log(v)' "$(lab_dir)/lab.json" "$1" ||
    die "$(lab_dir)/lab.json has no \"$1\"; run \`sudo bash lab/lab-up.sh 0\` and then \`npm run up\` again"
}

# No package source answers: point the stack at the test mirror (its Mesos and Marathon are stand-ins).
use_test_mirror() {
  lab_up
  local mirror proxy sha fpr zk=$TEST_ZOOKEEPER
  mirror=$(lab_field mirror); proxy=$(lab_field aptProxy)
  sha=$(curl -fsS -m 10 "$mirror/zookeeper/zookeeper-$zk/apache-zookeeper-$zk-bin.tar.gz.sha512" | awk '{print $1}')
  fpr=$(curl -fsS -m 10 "$mirror/keys/lab-archive.fingerprint" | tr -d '[:space:]')
  [[ $sha =~ ^[0-9a-f]{128}$ && $fpr =~ ^[0-9A-F]{40}$ ]] ||
    die "the test mirror $mirror did not serve ZooKeeper's .sha512 or keys/lab-archive.fingerprint;" \
      "rerun \`sudo bash lab/lab-up.sh 0\`, then \`npm run up\`"
  set_plain "local.egress=proxy" "local.aptProxy=$proxy" "artifacts.mirror=$mirror" "versions.zookeeper=$zk" \
    "artifacts.zookeeper.sha512=$sha" "artifacts.mesos.keyUrl=$mirror/keys/lab-archive.asc" \
    "artifacts.mesos.keyFingerprint=$fpr" "artifacts.marathon.aptPackage=marathon" "artifacts.testStandIns=true"
  say "artifacts: no package source answers from here; the stack now uses the test mirror $mirror"
  stand_in_banner
}

stand_in_banner() {
  cat <<EOF
################################################################################################
#  TEST STAND-INS: this cluster installs from the project's TEST mirror, because no package
#  source (${UPSTREAM_PROBES[*]}) answered from this machine.
#  Mesos and Marathon are the project's small Python stand-ins, NOT Apache Mesos or Marathon;
#  ZooKeeper, SSH, TLS and systemd are real. For the real cluster: give this machine internet
#  access (or set artifacts.mirror to your mirror), then \`npm run down -- --purge && npm run up\`.
################################################################################################
EOF
}
