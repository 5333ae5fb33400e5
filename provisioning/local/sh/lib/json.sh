# shellcheck shell=bash
# JSON in and out with python3 (on every Debian; no jq needed). Sourced.

# em_params: read one JSON object from stdin and set P_<key> for each top-level key: strings and numbers as
# they are, booleans as true/false, null as empty, arrays of strings joined with ",", objects as JSON text.
em_params() {
  local code
  code=$(python3 -c '
import json, re, shlex, sys
try:
    d = json.load(sys.stdin)
except Exception as e:
    sys.exit("parameters on stdin are not JSON: %s" % e)
if not isinstance(d, dict):
    sys.exit("parameters on stdin must be one JSON object")
for k, v in d.items():
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", k):
        sys.exit("bad parameter name %r" % k)
    if isinstance(v, bool): s = "true" if v else "false"
    elif v is None: s = ""
    elif isinstance(v, list):
        if not all(isinstance(x, str) and "," not in x for x in v): sys.exit("%s: a list of strings without commas" % k)
        s = ",".join(v)
    elif isinstance(v, dict): s = json.dumps(v)
    else: s = str(v)
    print("P_%s=%s" % (k, shlex.quote(s)))
') || em_die "reading parameters failed"
  eval "$code"
}

# em_need NAME...: each P_NAME is set and not empty.
em_need() {
  local n v
  for n in "$@"; do v=P_$n; [ -n "${!v:-}" ] || em_die "parameter '$n' is required"; done
}

# em_result KEY VALUE ...: print one JSON object on stdout. A value "json:TEXT" is embedded as JSON.
em_result() {
  python3 -c '
import json, sys
a = sys.argv[1:]; out = {}
for k, v in zip(a[0::2], a[1::2]):
    out[k] = json.loads(v[5:]) if v.startswith("json:") else v
print(json.dumps(out, separators=(",", ":")))
' "$@"
}
