// Where artifacts come from, as config values: the same rules the bootstrap applies when it resolves them
// (provisioning/artifacts.ts), checked here so a bad value is reported before any resource exists rather
// than when the first host's steps are rendered. The bootstrap keeps its checks as a second guard.
import { z } from "zod";
import { redactUrls } from "./errors";

/** What the bootstrap writes into shell scripts and apt/yum files unquoted (artifacts.ts checkUrl). */
const UNSAFE = /[\s"'\\$`;]/;

/**
 * Artifact URLs are written into every host's sources and scripts and kept in plain text in the stack state
 * (bare-metal host records, cloud user-data), so they may carry no credential: no user:password@, no token
 * in the query (the names errors redact).
 */
const hasCredential = (u: string) => redactUrls(u) !== u;
const NO_CREDENTIAL =
  "leave credentials out of the URL (no user:password@, no ?token=): it is written into every host's sources and " +
  "kept in plain text in the stack state; let the hosts reach the repository by network, or copy it to your mirror";

/** An http(s) URL the bootstrap can put into a script: no spaces, quotes, '\', '$', '`' or ';'. */
export const safeUrl = z
  .url({ protocol: /^https?$/, error: "use an http:// or https:// URL" })
  .refine((u) => !UNSAFE.test(u), {
    error: "use an http(s) URL without spaces, quotes, '\\', '$', '`' or ';' (it is written into the hosts' scripts)",
    abort: true,
  })
  .refine((u) => !hasCredential(u), { error: NO_CREDENTIAL });

/** A yum baseurl: as safeUrl, but dnf's $releasever and $basearch may appear. */
export const yumRepoUrl = z
  .string({ error: "use an http:// or https:// URL" })
  .refine((u) => /^https?:\/\/[^/\s]/.test(u) && !UNSAFE.test(u.replace(/\$(releasever|basearch)/g, "x")), {
    error: "use an http(s) URL without spaces, quotes, '\\', '`' or ';'; $releasever and $basearch are the only '$' allowed",
    abort: true,
  })
  .refine((u) => !hasCredential(u), { error: NO_CREDENTIAL });

/** artifacts.mirror: the plain base the bootstrap accepts (artifacts.ts baseOf): host and path, nothing else. */
const PLAIN_MIRROR = /^https?:\/\/[A-Za-z0-9.\-[\]:]+(\/[A-Za-z0-9._~\-/]*)?$/;
export const mirrorUrl = z.string({ error: "use an http:// or https:// URL" }).refine((u) => PLAIN_MIRROR.test(u.replace(/\/+$/, "")), {
  error:
    "use a plain http(s) base URL: host and path only, such as https://mirror.example.com/elastic-mesos; no user:password@, " +
    "query (?token=...) or fragment: the URL is written into every host's apt/yum sources and scripts, so grant access by network",
});

/** artifacts.offlineBundle: an absolute path the bootstrap can use unquoted (artifacts.ts baseOf). */
export const bundlePath = z.string({ error: "use an absolute path on the hosts, such as /opt/elastic-mesos/bundle" }).refine(
  (p) => /^\/[A-Za-z0-9._\-/]+$/.test(p.replace(/\/+$/, "")),
  { error: "use an absolute path of letters, digits and . _ - / on the hosts, such as /opt/elastic-mesos/bundle" },
);

const APT_EXAMPLE = '"https://apt.example.com/mesos bookworm main"';

/** "[deb] [[opts]] <uri> <suite> [component...]" as artifacts.ts normalizeAptLine accepts it. */
export const aptSource = z.string({ error: `use an apt source "<uri> <suite> <component>", e.g. ${APT_EXAMPLE}` }).superRefine((line, ctx) => {
  const parts = line.trim().replace(/^deb\s+/, "").replace(/^\[[^\]]*\]\s*/, "").split(/\s+/);
  if (parts.length === 1 && /^https?:\/\//.test(parts[0]))
    ctx.addIssue({
      code: "custom",
      message: `this is a URL alone; an apt source also names the suite and component: "<uri> <suite> <component>", e.g. ${APT_EXAMPLE}`,
    });
  else if (parts.length < 2 || !/^(https?:\/\/|file:)/.test(parts[0]) || parts.some((p) => /["'\\$`;]/.test(p)))
    ctx.addIssue({ code: "custom", message: `use an apt source "<uri> <suite> <component>", e.g. ${APT_EXAMPLE}` });
  else if (hasCredential(parts[0])) ctx.addIssue({ code: "custom", message: NO_CREDENTIAL });
});

/** An apt package, optionally pinned: "marathon" or "marathon=1.11.24-1" (artifacts.ts resolveMarathon). */
export const aptPackage = z
  .string({ error: "use a package name such as marathon, or name=version such as marathon=1.11.24-1" })
  .regex(/^[a-z0-9][a-z0-9.+-]+(=[0-9][A-Za-z0-9.:~+-]*)?$/, {
    error: "use a package name such as marathon, or name=version such as marathon=1.11.24-1",
  });

/** A Debian/RPM package name as the bootstrap accepts it (artifacts.ts checkPackage): two characters or more. */
export const packageName = z.string({ error: "use a package name such as mesos" }).regex(/^[a-z0-9][a-z0-9.+-]+$/, {
  error: "use a package name such as mesos",
});
