// Typed errors for everything a user meets when we drive their hosts over SSH. Each one names the
// host, says what happened and what to do next, so `pulumi up` output is enough to fix it.

export type SshErrorCode =
  | "HOST_UNREACHABLE"
  | "AUTH_FAILED"
  | "HOST_KEY_MISMATCH"
  | "SUDO_PASSWORD_REQUIRED"
  | "COMMAND_FAILED"
  | "CONNECTION_DROPPED"
  | "TIMEOUT";

/** Base class: `host` is the label used in every message ("m1 (10.0.0.11:22)"), `fix` the next step. */
export class SshError extends Error {
  constructor(
    readonly code: SshErrorCode,
    readonly host: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    const message = `${host}: ${problem}; ${fix}`;
    super(message);
    // Set by hand: serialized into a dynamic provider, this constructor runs as `Error.call(this, ...)`,
    // which initialises nothing on `this` (and `new.target` is undefined there).
    this.message = message;
    this.name = "SshError";
    Error.captureStackTrace?.(this, SshError);
  }
}

/** TCP or SSH handshake never completed (refused, timed out, no route), after the retries. */
export class HostUnreachable extends SshError {
  constructor(host: string, readonly reason: string, readonly attempts: number, fix: string) {
    super("HOST_UNREACHABLE", host, `cannot connect (${reason}) after ${attempts} attempt${attempts === 1 ? "" : "s"}`, fix);
    this.name = "HostUnreachable";
  }
}

/** The server refused the user/key pair. Never retried: the same key will be refused again. */
export class AuthFailed extends SshError {
  constructor(host: string, readonly user: string, fix: string) {
    super("AUTH_FAILED", host, `the server refused user "${user}" with the configured private key`, fix);
    this.name = "AuthFailed";
  }
}

/** The host presented another key than the pinned or first-seen one. Nothing was sent to it. */
export class HostKeyMismatch extends SshError {
  constructor(host: string, readonly expected: string, readonly seen: string, readonly seenType: string, fix: string) {
    super("HOST_KEY_MISMATCH", host,
      `host key mismatch: expected ${expected}, the host presented ${seen} (${seenType}); nothing was run on it`, fix);
    this.name = "HostKeyMismatch";
  }
}

/** `sudo -n` refused because the login user needs a password (or may not sudo at all). */
export class SudoPasswordRequired extends SshError {
  constructor(host: string, readonly user: string, detail: string) {
    super("SUDO_PASSWORD_REQUIRED", host, `sudo for user "${user}" ${detail}`,
      `grant passwordless sudo on the host (echo '${user} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/${user}; chmod 0440 /etc/sudoers.d/${user}) or connect as root`);
    this.name = "SudoPasswordRequired";
  }
}

/** The command ran and exited non-zero (or was killed by a signal). `tail` holds its last output lines. */
export class CommandFailed extends SshError {
  constructor(host: string, readonly label: string, readonly exitCode: number | null, readonly signal: string | undefined,
    readonly tail: string[], fix = "fix the cause shown in the output above, then run `pulumi up` again (steps are idempotent)") {
    super("COMMAND_FAILED", host,
      `${label} ${exitCode === null ? `was killed by signal ${signal ?? "?"}` : `exited with code ${exitCode}`}; last output:\n${indent(tail)}\n`,
      fix);
    this.name = "CommandFailed";
  }
}

/** The connection went away after the command was sent: it may have partly run, so it is never retried here. */
export class ConnectionDropped extends SshError {
  /** `started` false: the command provably never reached the host (the pool may reconnect and send it). */
  constructor(host: string, readonly label: string, readonly tail: string[], readonly started = true) {
    super("CONNECTION_DROPPED", host,
      `the connection was lost ${started ? `while running ${label}; it may have partly run` : `before ${label} could start`}${tail.length ? `; last output:\n${indent(tail)}\n` : ""}`,
      "check that the host is up and sshd is running, then run `pulumi up` again: every step is idempotent and re-running converges");
    this.name = "ConnectionDropped";
  }
}

/** An operation exceeded its deadline. */
export class SshTimeout extends SshError {
  constructor(host: string, readonly label: string, readonly timeoutMs: number, readonly tail: string[] = []) {
    super("TIMEOUT", host, `${label} did not finish within ${Math.round(timeoutMs / 1000)} s${tail.length ? `; last output:\n${indent(tail)}\n` : ""}`,
      "check the host's load and network (package mirror reachable?), or raise the timeout, then run `pulumi up` again");
    this.name = "SshTimeout";
  }
}

function indent(lines: string[]): string {
  return lines.length ? lines.map((l) => `    ${l}`).join("\n") : "    (no output)";
}
