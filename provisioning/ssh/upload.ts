// Writing a file on the host atomically, with mode and owner: the content goes on stdin into a temp
// file created 0600 next to the target (same filesystem), which is chowned, chmodded and renamed over
// the target. A reader never sees a half-written or briefly world-readable file.
import type { SshConnection } from "./connect";
import { exec, shellQuote, type ExecOptions, type ExecResult } from "./exec";

export interface UploadFile {
  /** Absolute path on the host. */
  path: string;
  content: string | Buffer;
  /** Octal string, e.g. "0644", "0600". */
  mode: string;
  /** Default root. */
  owner?: string;
  /** Default: the owner's group (`owner:`). */
  group?: string;
}

/** Pure: the shell command that installs stdin as `f.path`. Exported for tests and the SSH plan. */
export function uploadCommand(f: Omit<UploadFile, "content">): string {
  if (!f.path.startsWith("/")) throw new Error(`upload: path must be absolute, got ${JSON.stringify(f.path)}`);
  if (!/^[0-7]{3,4}$/.test(f.mode)) throw new Error(`upload ${f.path}: mode must be octal like "0644", got ${JSON.stringify(f.mode)}`);
  const slash = f.path.lastIndexOf("/");
  const dir = f.path.slice(0, slash) || "/";
  const base = f.path.slice(slash + 1);
  if (!base) throw new Error(`upload: ${JSON.stringify(f.path)} names a directory, not a file`);
  const owner = `${f.owner ?? "root"}:${f.group ?? ""}`;
  const q = shellQuote;
  return [
    "set -eu",
    `[ -d ${q(dir)} ] || mkdir -p -m 0755 -- ${q(dir)}`,
    "umask 077",
    `t=$(mktemp -- ${q(`${dir === "/" ? "" : dir}/.${base}.XXXXXX`)})`,
    `trap 'rm -f -- "$t"' EXIT`,
    `cat > "$t"`,
    `chown -- ${q(owner)} "$t"`,
    `chmod -- ${f.mode} "$t"`,
    `mv -f -- "$t" ${q(f.path)}`,
    "trap - EXIT",
  ].join("\n");
}

/** Upload one file (as root via sudo when the login user is not root). */
export function upload(conn: SshConnection, f: UploadFile, opts: Omit<ExecOptions, "stdin" | "sudo"> = {}): Promise<ExecResult> {
  return exec(conn, uploadCommand(f), {
    label: `upload of ${f.path}`,
    timeoutMs: 120_000,
    ...opts,
    sudo: true,
    stdin: f.content,
  });
}
