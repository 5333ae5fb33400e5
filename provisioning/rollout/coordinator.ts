// Turns within one `pulumi up`. The engine updates hosts that do not depend on each other all at once; a
// host whose update may restart a daemon first takes a turn here, so a group (the masters, or one pool's
// agents) rolls `slots` hosts at a time. Every host resource of a stack is served by the one dynamic-provider
// process of that deployment, which loads this module once: the queue below is shared by all of them.
//
// The leader goes last: diff() tells the coordinator which hosts of a group will update (expect), and a
// waiting host of a higher rank (a leader, plan.ts rankOf) starts only when every other expected host of
// its group is done, or has not arrived SETTLE_MS after the group went quiet (an update the engine never
// sent: a failed dependency, a replace). The first failure stops the rest of the cluster's waiting hosts
// with the failure's reason: they stay untouched, and the next `pulumi up` continues from there.

/** How long a group waits for updates the engine has not sent yet (they arrive within ms of each other). */
export const SETTLE_MS = 1_500;

export interface Turn {
  /** 1-based position of this host in its group's rollout. */
  position: number;
  /** Hosts of the group this rollout changes (expected or arrived). */
  total: number;
  /** Ends the turn; `error` stops every host of the cluster that is still waiting. */
  release(error?: Error): void;
}

interface Waiter {
  id: string;
  rank: number;
  arrived: number;
  start: (t: Turn) => void;
  stop: (e: Error) => void;
}

interface Group {
  cluster: string;
  slots: number;
  expected: Set<string>;
  running: Set<string>;
  done: Set<string>;
  waiting: Waiter[];
  /** Time of the last arrival or finish: a group is quiet SETTLE_MS after it. */
  lastEvent: number;
  timer?: ReturnType<typeof setTimeout>;
}

export class RolloutCoordinator {
  private readonly groups = new Map<string, Group>();
  /** cluster → why its rollout stopped (kept for this process: one deployment). */
  private readonly stopped = new Map<string, Error>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** diff() saw that `id` will take a turn in `group` (idempotent: preview and update may both say so). */
  expect(cluster: string, group: string, id: string, slots: number): void {
    const g = this.group(cluster, group, slots);
    if (!g.done.has(id)) g.expected.add(id);
    g.lastEvent = this.now();
  }

  /**
   * Resolves once `group` has rolled: quiet for SETTLE_MS, and every host expected to take a turn done, none
   * running or waiting. A master added to a running cluster waits here: Mesos requires the running masters to be
   * restarted with the new --quorum before a new master starts (membership/pin.ts). Rejects when the cluster's
   * rollout stopped on a failure.
   */
  async afterGroup(cluster: string, group: string, pollMs = 250): Promise<void> {
    const g = this.group(cluster, group, 1, false);
    for (;;) {
      const halted = this.stopped.get(cluster);
      if (halted) throw halted;
      const busy = g.running.size > 0 || g.waiting.length > 0 || [...g.expected].some((id) => !g.done.has(id));
      if (!busy && this.now() - g.lastEvent >= SETTLE_MS) return;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** Waits for `id`'s turn. Rejects at once, or while waiting, when another host of the cluster failed. */
  acquire(cluster: string, group: string, id: string, slots: number, rank: number): Promise<Turn> {
    const halted = this.stopped.get(cluster);
    if (halted) return Promise.reject(halted);
    const g = this.group(cluster, group, slots);
    g.expected.add(id);
    return new Promise<Turn>((start, stop) => {
      g.waiting.push({ id, rank, arrived: this.now(), start, stop });
      g.lastEvent = this.now();
      this.pump(g, group);
    });
  }

  private group(cluster: string, name: string, slots: number, setSlots = true): Group {
    const key = `${cluster}\n${name}`;
    let g = this.groups.get(key);
    if (!g) {
      g = { cluster, slots, expected: new Set(), running: new Set(), done: new Set(), waiting: [], lastEvent: this.now() };
      this.groups.set(key, g);
    }
    if (setSlots) g.slots = slots;
    return g;
  }

  /** Starts whoever may start now; re-arms a timer while someone waits for the group to settle. */
  private pump(g: Group, name: string): void {
    if (g.timer) clearTimeout(g.timer);
    g.timer = undefined;
    const now = this.now();
    const settled = now - g.lastEvent >= SETTLE_MS;
    // Rank first (leaders last), then arrival: a stable order whatever order the engine sent the updates in.
    g.waiting.sort((a, b) => a.rank - b.rank || a.arrived - b.arrived || (a.id < b.id ? -1 : 1));
    while (g.running.size < g.slots && g.waiting.length > 0) {
      const next = g.waiting[0];
      // The first turn of a wave waits for the wave to arrive, so a leader that arrived first is not started
      // before the followers the engine is about to send.
      if (!settled && g.running.size === 0 && g.done.size === 0) break;
      if (next.rank > 0) {
        const others = [...g.expected].filter((id) => id !== next.id && !g.done.has(id));
        // Hosts of a lower rank still running or waiting go first; expected ones not arrived get SETTLE_MS. One of
        // the same rank (the ZooKeeper leader and the Mesos leader, two masters) waits behind this one, not before:
        // each waiting for the other stopped a ZooKeeper upgrade for good (measured through the CLI on h5-h10).
        const pending = others.some((id) => g.running.has(id) ||
          g.waiting.some((w) => w.id === id && w.rank < next.rank));
        if (pending || (others.length > 0 && !settled) || g.running.size > 0) break;
      }
      g.waiting.shift();
      g.running.add(next.id);
      const position = g.done.size + g.running.size;
      const total = Math.max(g.expected.size, position);
      let released = false;
      next.start({
        position,
        total,
        release: (error?: Error) => {
          if (released) return;
          released = true;
          g.running.delete(next.id);
          g.lastEvent = this.now();
          if (error) this.halt(g.cluster, error);
          else g.done.add(next.id);
          this.pump(g, name);
        },
      });
    }
    if (g.waiting.length > 0 && !settled) {
      g.timer = setTimeout(() => this.pump(g, name), SETTLE_MS - (now - g.lastEvent) + 5);
      g.timer.unref?.();
    }
  }

  /**
   * Stops every waiting host of the cluster with `error`'s reason; running ones finish. Also for a host that was
   * expected to take a turn and failed before it took one (its turn never ends): a new master waiting for the
   * group (afterGroup) would otherwise wait for it forever.
   */
  halt(cluster: string, error: Error): void {
    if (!this.stopped.has(cluster)) this.stopped.set(cluster, error);
    for (const g of this.groups.values()) {
      if (g.cluster !== cluster) continue;
      for (const w of g.waiting.splice(0)) w.stop(error);
      if (g.timer) clearTimeout(g.timer);
    }
  }
}

/** The coordinator of this process (one deployment). */
export const rollouts = new RolloutCoordinator();
