// Where every artifact comes from, for one host OS: upstream by default, else the user's mirror or an
// offline bundle, else a per-artifact override. Pure: the scripts in provisioning/steps/ fetch and verify.
//
// Mirror layout. `artifacts.mirror` (an http(s) base URL) replaces every upstream host by `<mirror>` and keeps
// each upstream path, so a plain copy of the upstream trees works (the lab's mirror is laid out the same way):
//   <mirror>/zookeeper/zookeeper-<v>/apache-zookeeper-<v>-bin.tar.gz   dlcdn/archive.apache.org's /dist layout
//                                          (artifacts.zookeeper.sha512 is then required)
//   <mirror>/Debian/ bookworm main, <mirror>/Ubuntu/<codename> <codename> main, <mirror>/CentOS/9/<arch>/
//                                          rpm.aventer.biz's Mesos repositories (package aventer-mesos / mesos)
//   <mirror>/assets/support_aventer.asc    www.aventer.biz's key; a re-signed mirror sets artifacts.mesos.keyUrl
//                                          and keyFingerprint
//   <mirror>/linux/<debian|ubuntu> <codename> stable, <mirror>/linux/rhel/9/<arch>/stable, <mirror>/linux/<distro>/gpg
//                                          download.docker.com's layout (Docker's fingerprint stays the default)
//   <mirror>/marathon/marathon-v<v>.tar    our convention: `docker save mesosphere/marathon:v<v>`, loaded (Docker
//                                          Hub has no path layout to copy); or set artifacts.marathon.image
// `artifacts.offlineBundle` is a directory on every host with the same layout, used through file:// URLs
// (apt: `deb [signed-by=…] file:/<dir>/Debian/ bookworm main`), so no network is needed for our artifacts.
// Distro packages (OpenJDK, curl, gpg) still come from the host's own configured repositories.
import type { ArtifactOverrides, OsFamily, VersionsModel } from "../components/model";
import { OS_FAMILIES } from "../components/model";
import { redactUrls } from "../components/config/errors";
import type { ResolvedArtifacts } from "./steps/types";

/** Docker's release signing keys (docs.docker.com/engine/install). */
const DOCKER_KEY_APT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88";
const DOCKER_KEY_RPM = "060A61C51B558A7F742B77AAC52FEB6B621E9F35";
/** Clusterd/AVENTER: Mesos built for cgroup v2 hosts (see shared reference §1.6). Fingerprint not published. */
const AVENTER_KEY_PATH = "assets/support_aventer.asc";

interface OsInfo {
  family: "apt" | "yum";
  /** Docker's distro path segment and apt suite (codename). */
  distro: "debian" | "ubuntu" | "rhel";
  codename?: string;
  /** rpm.aventer.biz's repository, as "<path> <suite> <component>" or the yum path. */
  aventer: string;
}

const OS: Record<OsFamily, OsInfo> = {
  "debian-12": { family: "apt", distro: "debian", codename: "bookworm", aventer: "Debian/ bookworm main" },
  "ubuntu-22.04": { family: "apt", distro: "ubuntu", codename: "jammy", aventer: "Ubuntu/jammy jammy main" },
  "ubuntu-24.04": { family: "apt", distro: "ubuntu", codename: "noble", aventer: "Ubuntu/noble noble main" },
  "rocky-9": { family: "yum", distro: "rhel", aventer: "CentOS/$releasever/$basearch/" },
};

/** The OS families the bootstrap supports; anything else is refused with this message. */
export function assertOsFamily(os: string): asserts os is OsFamily {
  if (!(OS_FAMILIES as readonly string[]).includes(os)) {
    throw new Error(
      `os: "${os}" is not supported; use one of ${OS_FAMILIES.join(", ")}. ` +
        "RHEL/Rocky 8 (cgroup v1), CentOS 7, Debian 11 and older Ubuntu releases are refused: Clusterd's Mesos " +
        "packages need cgroup v2 and these releases lack the pinned packages.",
    );
  }
}

export function resolveArtifacts(versions: VersionsModel, overrides: ArtifactOverrides, os: OsFamily): ResolvedArtifacts {
  assertOsFamily(os);
  const info = OS[os];
  checkVersions(versions);
  const base = baseOf(overrides);
  const zookeeper = resolveZookeeper(versions.zookeeper, overrides, base);
  const mesos = resolveMesos(versions.mesos, overrides, info, base);
  const docker = resolveDocker(versions.docker, overrides, info, base);
  const marathon = resolveMarathon(versions.marathon, overrides, base);
  return { zookeeper, mesos, marathon, docker, ...(overrides.offlineBundle ? { offlineBundle: overrides.offlineBundle } : {}) };
}

/** Where the mirror layout lives: an http(s) mirror, a file:// offline bundle, or nowhere (upstream). */
interface Base {
  /** For curl (keys, tarballs): "https://m.example/x" or "file:///srv/bundle". */
  url: string;
  /** For apt/dnf repo definitions ("file:/srv/bundle" form for apt). */
  repo: string;
  what: "artifacts.mirror" | "artifacts.offlineBundle";
}

function baseOf(o: ArtifactOverrides): Base | undefined {
  if (o.mirror && o.offlineBundle) {
    throw new Error("artifacts: set either mirror or offlineBundle, not both (the offline bundle replaces the mirror)");
  }
  if (o.mirror) {
    const m = o.mirror.replace(/\/+$/, "");
    if (!/^https?:\/\/[A-Za-z0-9.\-\[\]:]+(\/[A-Za-z0-9._~\-\/]*)?$/.test(m)) {
      throw new Error(`artifacts.mirror: "${redactUrls(o.mirror)}" is not a plain http(s) URL; use e.g. https://mirror.example.com/elastic-mesos`);
    }
    return { url: m, repo: m, what: "artifacts.mirror" };
  }
  if (o.offlineBundle) {
    const d = o.offlineBundle.replace(/\/+$/, "");
    if (!/^\/[A-Za-z0-9._\-\/]+$/.test(d)) {
      throw new Error(`artifacts.offlineBundle: "${o.offlineBundle}" must be an absolute path on the hosts, e.g. /srv/elastic-mesos-bundle`);
    }
    return { url: `file://${d}`, repo: `file:${d}`, what: "artifacts.offlineBundle" };
  }
  return undefined;
}

const SAFE_VERSION = /^[0-9][A-Za-z0-9.:~+\-]*$/;

function checkVersions(v: VersionsModel): void {
  for (const key of ["mesos", "zookeeper", "marathon", "docker"] as const) {
    if (!SAFE_VERSION.test(v[key] ?? "")) {
      throw new Error(`versions.${key}: "${v[key]}" is not a version string; use e.g. ${EXAMPLE[key]}`);
    }
  }
  if (!/^3\.(8|9)\.\d+$/.test(v.zookeeper)) {
    throw new Error(`versions.zookeeper: "${v.zookeeper}" is not supported; use a 3.8.x or 3.9.x release, e.g. 3.8.6`);
  }
}
const EXAMPLE = { mesos: "1.11.0-0.9.0", zookeeper: "3.8.6", marathon: "1.11.24", docker: "27.5.1" };

function resolveZookeeper(v: string, o: ArtifactOverrides, base: Base | undefined): ResolvedArtifacts["zookeeper"] {
  const path = `zookeeper/zookeeper-${v}/apache-zookeeper-${v}-bin.tar.gz`;
  const sha512 = o.zookeeper?.sha512 === undefined ? undefined : normalizeSha512(o.zookeeper.sha512);
  const custom = o.zookeeper?.url ?? (base ? `${base.url}/${path}` : undefined);
  if (custom) {
    checkUrl(custom, "artifacts.zookeeper.url");
    if (!sha512) {
      const key = o.zookeeper?.url ? "artifacts.zookeeper.url" : base!.what;
      throw new Error(
        `artifacts.zookeeper.sha512: required with ${key} (a checksum served next to a mirrored tarball proves nothing); ` +
          `copy it from https://archive.apache.org/dist/${path}.sha512`,
      );
    }
    return { version: v, url: custom, sha512 };
  }
  // Upstream, as Apache recommends: the tarball from the CDN (archive.apache.org if the CDN has dropped this
  // release), the checksum from archive.apache.org over HTTPS, unless the user pinned it.
  return {
    version: v,
    url: `https://dlcdn.apache.org/${path}`,
    fallbackUrl: `https://archive.apache.org/dist/${path}`,
    ...(sha512 ? { sha512 } : { sha512Url: `https://archive.apache.org/dist/${path}.sha512` }),
  };
}

function resolveMesos(v: string, o: ArtifactOverrides, info: OsInfo, base: Base | undefined): ResolvedArtifacts["mesos"] {
  const m = o.mesos ?? {};
  const keyUrl = m.keyUrl ?? `${base ? base.url : "https://www.aventer.biz"}/${AVENTER_KEY_PATH}`;
  checkUrl(keyUrl, "artifacts.mesos.keyUrl");
  const keyFingerprint = m.keyFingerprint === undefined ? undefined : normalizeFingerprint(m.keyFingerprint, "artifacts.mesos.keyFingerprint");
  const fpr = keyFingerprint ? { keyFingerprint } : {};
  if (info.family === "apt") {
    const repoLine = m.aptRepo
      ? normalizeAptLine(m.aptRepo, "artifacts.mesos.aptRepo")
      : `${base ? base.repo : "https://rpm.aventer.biz"}/${info.aventer}`;
    return { kind: "apt", repoLine, keyUrl, ...fpr, package: checkPackage(m.package ?? "aventer-mesos", "artifacts.mesos.package"), version: v };
  }
  // dnf takes file:/// base URLs as they are, so the curl form of the base serves both cases.
  const baseUrl = m.yumRepo ?? `${base ? base.url : "https://rpm.aventer.biz"}/${info.aventer}`;
  checkUrl(baseUrl.replace(/\$(releasever|basearch)/g, "x"), "artifacts.mesos.yumRepo");
  return { kind: "yum", baseUrl, keyUrl, ...fpr, package: checkPackage(m.package ?? "mesos", "artifacts.mesos.package"), version: v };
}

function resolveDocker(v: string, o: ArtifactOverrides, info: OsInfo, base: Base | undefined): ResolvedArtifacts["docker"] {
  const d = o.docker ?? {};
  const upstream = `${base ? base.url : "https://download.docker.com"}/linux/${info.distro}`;
  const keyUrl = d.keyUrl ?? `${upstream}/gpg`;
  checkUrl(keyUrl, "artifacts.docker.keyUrl");
  // Docker's published fingerprint stays the default with a mirror too: a mirror serves Docker's own signed repo.
  const keyFingerprint = normalizeFingerprint(d.keyFingerprint ?? (info.family === "apt" ? DOCKER_KEY_APT : DOCKER_KEY_RPM), "artifacts.docker.keyFingerprint");
  if (info.family === "apt") {
    const repoBase = base ? `${base.repo}/linux/${info.distro}` : upstream;
    const repoLine = d.aptRepo ? normalizeAptLine(d.aptRepo, "artifacts.docker.aptRepo") : `${repoBase} ${info.codename} stable`;
    return { repoLine, keyUrl, keyFingerprint, version: v };
  }
  const repoLine = d.yumRepo ?? `${upstream}/9/$basearch/stable`;
  checkUrl(repoLine.replace(/\$(releasever|basearch)/g, "x"), "artifacts.docker.yumRepo");
  return { repoLine, keyUrl, keyFingerprint, version: v };
}

function resolveMarathon(v: string, o: ArtifactOverrides, base: Base | undefined): ResolvedArtifacts["marathon"] {
  const m = o.marathon ?? {};
  if (m.aptPackage) {
    const [name, version] = m.aptPackage.split("=", 2);
    return { kind: "apt", package: checkPackage(name, "artifacts.marathon.aptPackage"), version: version ?? v };
  }
  const image = m.image ?? `mesosphere/marathon:v${v}`;
  if (!/^[a-z0-9][a-z0-9._\-\/:@]*$/.test(image)) {
    throw new Error(`artifacts.marathon.image: "${image}" is not a docker image reference, e.g. registry.example.com/mesosphere/marathon:v1.11.24`);
  }
  // With a mirror and no explicit image, the image comes as a `docker save` tarball from the mirror.
  return m.image || !base ? { kind: "image", image } : { kind: "image", image, archiveUrl: `${base.url}/marathon/marathon-v${v}.tar` };
}

function normalizeSha512(s: string): string {
  const hex = s.trim().toLowerCase();
  if (!/^[0-9a-f]{128}$/.test(hex)) {
    throw new Error("artifacts.zookeeper.sha512: must be the 128 hex digits of the tarball's SHA-512 (the first field of the official .sha512 file)");
  }
  return hex;
}

function normalizeFingerprint(s: string, key: string): string {
  const f = s.replace(/\s+/g, "").toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(f)) throw new Error(`${key}: "${s}" is not a 40-hex-digit OpenPGP fingerprint (gpg --show-keys --with-colons <key>)`);
  return f;
}

/** Accepts "deb [opts] <uri> <suite> <comp>" or "<uri> <suite> <comp>"; returns the latter. */
function normalizeAptLine(line: string, key: string): string {
  const parts = line.trim().replace(/^deb\s+/, "").replace(/^\[[^\]]*\]\s*/, "").split(/\s+/);
  if (parts.length < 2 || !/^(https?:\/\/|file:)/.test(parts[0]) || parts.some((p) => /["'\\$`;]/.test(p))) {
    throw new Error(`${key}: "${redactUrls(line)}" is not an apt source line; use "<uri> <suite> <component>", e.g. "https://apt.example.com/mesos bookworm main"`);
  }
  return parts.join(" ");
}

function checkUrl(url: string, key: string): void {
  if (!/^(https?|file):\/\/[^\s"'\\$`;]+$/.test(url)) throw new Error(`${key}: "${redactUrls(url)}" is not an http(s):// or file:// URL`);
}

function checkPackage(name: string, key: string): string {
  if (!/^[a-z0-9][a-z0-9+.\-]+$/.test(name)) throw new Error(`${key}: "${name}" is not a package name`);
  return name;
}
