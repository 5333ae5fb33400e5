# shellcheck shell=bash
# Files clients (tests, ssh, the bootstrap engineer) use to reach the lab. Sourced by lab-up.sh.

# write_client_files hosts...: inventory, ssh config with strict host-key checking, known_hosts, lab.json.
write_client_files() {
  local n first=1
  : >"$LAB/inventory.tmp"; : >"$LAB/ssh/known_hosts.tmp"
  {
    echo "# elastic-mesos lab: ssh -F $LAB/ssh/config h1"
    echo "Host h*"
    echo "  User root"
    echo "  IdentityFile $LAB/ssh/id_ed25519"
    echo "  IdentitiesOnly yes"
    echo "  StrictHostKeyChecking yes"
    echo "  UserKnownHostsFile $LAB/ssh/known_hosts"
    echo "  HostKeyAlgorithms ssh-ed25519"
    echo "  LogLevel ERROR"
    echo "  ConnectTimeout 5"
    echo "  BatchMode yes"
  } >"$LAB/ssh/config.tmp"
  for n in "$@"; do
    echo "$n $(ip_of "$n")" >>"$LAB/inventory.tmp"
    printf 'Host %s\n  HostName %s\n' "$n" "$(ip_of "$n")" >>"$LAB/ssh/config.tmp"
    echo "$n,$(ip_of "$n") $(cut -d' ' -f1-2 "$LAB/hostkeys/$n/ssh_host_ed25519_key.pub")" >>"$LAB/ssh/known_hosts.tmp"
  done
  mv "$LAB/inventory.tmp" "$LAB/inventory"; mv "$LAB/ssh/config.tmp" "$LAB/ssh/config"
  mv "$LAB/ssh/known_hosts.tmp" "$LAB/ssh/known_hosts"
  {
    printf '{\n  "lab": "%s",\n  "net": "%s.0/24",\n  "bridge": "%s",\n  "gateway": "%s",\n' "$LAB" "$NET" "$BR" "$GW"
    printf '  "aptProxy": "http://%s:%s",\n  "mirror": "%s",\n' "$GW" "$PROXY_PORT" "$(cat "$LAB/mirror/url")"
    printf '  "sshKey": "%s",\n  "sshConfig": "%s",\n  "knownHosts": "%s",\n' "$LAB/ssh/id_ed25519" "$LAB/ssh/config" "$LAB/ssh/known_hosts"
    printf '  "base": "%s",\n  "hosts": [' "$BASE"
    for n in "$@"; do
      [ $first = 1 ] || printf ','; first=0
      printf '\n    { "name": "%s", "ip": "%s", "hostKey": "%s" }' "$n" "$(ip_of "$n")" \
        "$(cut -d' ' -f1-2 "$LAB/hostkeys/$n/ssh_host_ed25519_key.pub")"
    done
    printf '\n  ]\n}\n'
  } >"$LAB/lab.json.tmp"
  mv "$LAB/lab.json.tmp" "$LAB/lab.json"
}
