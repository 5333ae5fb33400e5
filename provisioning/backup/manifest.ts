// A backup is a directory `<cluster>-<UTC stamp>/` (mode 0700) of gzip'ed tar files (0600: Marathon's state may
// hold secrets) and `manifest.json`, which says what each file is, where it came from and its SHA-256. A restore
// reads the manifest through this schema and checks every file against it before it touches a host.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const piece = z.object({
  /** The file in the backup directory. */
  file: z.string().regex(/^[a-z-]+\.tar\.gz$/),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The master it was copied from ("m2"). */
  from: z.string(),
});

export const manifestSchema = z.object({
  format: z.literal(1),
  cluster: z.string().min(1),
  stack: z.string(),
  /** ISO time the copy started. */
  takenAt: z.string(),
  /** The stack's master ids at the time. */
  masters: z.array(z.string()).min(1),
  zookeeper: piece,
  /** Absent when no master had a replicated log (a registry kept elsewhere): `absent` says why. */
  mesosLog: z.union([piece, z.object({ absent: z.string() })]),
  seconds: z.number(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type Piece = z.infer<typeof piece>;

export const MANIFEST = "manifest.json";

export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export function hasMesosLog(m: Manifest): m is Manifest & { mesosLog: Piece } {
  return "file" in m.mesosLog;
}

/** A backup read and verified (readBackup): what a restore sends. */
export interface Backup {
  dir: string;
  manifest: Manifest;
  /** File name → content, each checked against the manifest. */
  files: Record<string, Buffer>;
}

/** Reads and verifies a backup directory: the manifest's shape, then every file's size and SHA-256. */
export function readBackup(dir: string): Backup {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dir, MANIFEST), "utf8"));
  } catch (e) {
    throw new Error(`--from ${dir}: no readable ${MANIFEST} (${(e as Error).message.split("\n")[0]}); pass the directory ` +
      "`npm run backup` printed");
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`--from ${dir}: ${MANIFEST} is not an elastic-mesos backup manifest ` +
      `(${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")})`);
  }
  const manifest = parsed.data;
  const files: Record<string, Buffer> = {};
  for (const p of [manifest.zookeeper, ...(hasMesosLog(manifest) ? [manifest.mesosLog] : [])]) {
    const data = readFileSync(join(dir, p.file));
    if (data.length !== p.bytes || sha256(data) !== p.sha256) {
      throw new Error(`--from ${dir}: ${p.file} is not the file the manifest describes (${data.length} bytes, ` +
        `expected ${p.bytes} with SHA-256 ${p.sha256.slice(0, 16)}…): the backup is damaged; use another one`);
    }
    files[p.file] = data;
  }
  return { dir, manifest, files };
}
