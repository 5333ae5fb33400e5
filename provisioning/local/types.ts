// Inputs and outputs of the local provider's three resources, as stored in state. Nothing secret: the
// machines' authorized key is a public key line, host keys are public, the private key never comes here.

export type Egress = "nat" | "proxy";

export interface ImageInputs {
  /** Shared image cache (default /var/cache/elastic-mesos/images). */
  cacheDir: string;
  suite: string;
  debianMirror: string;
  /** Debian packages baked in (data: LOCAL_IMAGE_PACKAGES). */
  packages: string[];
  /** Used to fetch the packages while building; not part of the image. */
  aptProxy?: string;
}
export interface ImageOutputs extends ImageInputs {
  path: string;
  key: string;
}

export interface NetworkInputs {
  bridge: string;
  cidr: string;
  egress: Egress;
  stateDir: string;
  cluster: string;
}
export interface NetworkOutputs extends NetworkInputs {
  gateway: string;
  /** nat: net.ipv4.ip_forward before we set it ("0" or "1"); delete restores it. */
  forwardingWas?: string;
  natTable?: string;
}

export interface MachineInputs {
  cluster: string;
  /** The node's hostname: machine name, hostname, directory <stateDir>/<cluster>/<name>. */
  name: string;
  stateDir: string;
  bridge: string;
  cidr: string;
  gateway: string;
  /** Image directory the machine overlays (only new machines take a new one). */
  image: string;
  egress: Egress;
  aptProxy?: string;
  /** OpenSSH public key line root accepts (only new machines take a new one). */
  authorizedKey: string;
  /**
   * Absolute paths of this machine the machine sees read-only at the same path (artifacts.offlineBundle, so the
   * bootstrap installs from it with no network). Bound when the machine starts.
   */
  bindReadOnly?: string[];
}
export interface HostKey {
  type: string;
  publicKey: string;
  /** "SHA256:..." as ssh-keygen -l prints it. */
  fingerprint: string;
}
export interface MachineOutputs extends MachineInputs {
  ip: string;
  hostKey: HostKey;
}
export interface MachineStatus {
  running: boolean;
  ip?: string;
}
export interface NetworkStatus {
  bridge: boolean;
  nat: boolean;
}
