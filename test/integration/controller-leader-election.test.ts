/**
 * Lease-based leader election between real candidates against one sandbox: exactly one leads,
 * a stopped leader hands over at once, a crashed one after the lease expires, and a leader
 * that cannot renew stops leading after renewDeadline. Durations are short (lease 1 s).
 */
import { CoordinationV1Api } from "@kubernetes/client-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterClient } from "../../controller/kube/cluster-client.js";
import { type LeaderElectionOptions, LeaderElector } from "../../controller/kube/leader-election.js";
import { delay, startCluster, type TestCluster, until } from "./controller-helpers.js";

let cluster: TestCluster;
let client: ClusterClient;
let leases: CoordinationV1Api;

beforeAll(async () => {
  cluster = await startCluster("leader");
  client = new ClusterClient(cluster.kc);
  leases = cluster.kc.makeApiClient(CoordinationV1Api);
});

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

interface Candidate {
  elector: LeaderElector;
  log: string[];
}

function candidate(identity: string, lease: string, extra: Partial<LeaderElectionOptions> = {}): Candidate {
  const log: string[] = [];
  const elector = new LeaderElector(client, {
    namespace: "default",
    name: lease,
    identity,
    leaseDurationMs: 1000,
    renewDeadlineMs: 600,
    retryPeriodMs: 100,
    log: pino({ level: "silent" }),
    onStartedLeading: (signal) => {
      log.push("started");
      signal.addEventListener("abort", () => log.push("signal aborted"));
    },
    onStoppedLeading: () => {
      log.push("stopped");
    },
    ...extra,
  });
  return { elector, log };
}

/** Samples leadership for `ms` and fails if two candidates ever lead at once. */
async function neverTwoLeaders(candidates: Candidate[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    expect(candidates.filter((c) => c.elector.isLeader()).length).toBeLessThanOrEqual(1);
    await delay(10);
  }
}

async function holder(lease: string) {
  const l = await leases.readNamespacedLease({ namespace: "default", name: lease });
  return l.spec ?? {};
}

describe("LeaderElector", () => {
  it("elects exactly one of two candidates; the other takes over when the leader stops", async () => {
    const one = candidate("one", "pair");
    const two = candidate("two", "pair");
    one.elector.start();
    two.elector.start();
    try {
      const first = await until("a leader", () => [one, two].find((c) => c.elector.isLeader()));
      const other = first === one ? two : one;
      await neverTwoLeaders([one, two], 700);
      expect(first.elector.isLeader()).toBe(true);
      expect(other.elector.isLeader()).toBe(false);
      expect(other.elector.leader()).toBe(first === one ? "one" : "two");
      const spec = await holder("pair");
      expect(spec.holderIdentity).toBe(first === one ? "one" : "two");
      expect(spec.leaseDurationSeconds).toBe(1);

      const stoppedAt = Date.now();
      await first.elector.stop();
      expect(first.log).toEqual(["started", "signal aborted", "stopped"]);
      // Released on stop (holder emptied, unless the successor was already quicker), so the
      // successor does not wait for the lease to expire.
      expect(["", other === one ? "one" : "two"]).toContain((await holder("pair")).holderIdentity ?? "");
      await until("the other to lead", () => other.elector.isLeader());
      expect(Date.now() - stoppedAt).toBeLessThan(1000);
      const after = await holder("pair");
      expect(after.holderIdentity).toBe(other === one ? "one" : "two");
      expect(after.leaseTransitions).toBe((spec.leaseTransitions ?? 0) + 1);
    } finally {
      await one.elector.stop();
      await two.elector.stop();
    }
    expect(one.log.filter((l) => l === "started").length).toBe(1);
    expect(two.log.filter((l) => l === "started").length).toBe(1);
  });

  it("takes over from a leader that vanished without releasing once the lease expires", async () => {
    const crashed = candidate("crashed", "crash", { releaseOnStop: false });
    crashed.elector.start();
    await until("the first leader", () => crashed.elector.isLeader());
    const heir = candidate("heir", "crash");
    heir.elector.start();
    try {
      await delay(300);
      expect(heir.elector.isLeader()).toBe(false);
      const goneAt = Date.now();
      await crashed.elector.stop(); // stops renewing, keeps the lease: as a crash would
      expect((await holder("crash")).holderIdentity).toBe("crashed");
      await until("the heir to lead", () => heir.elector.isLeader(), 5000);
      // It waited for the lease to lapse (1 s from the last renewal it saw), not less.
      expect(Date.now() - goneAt).toBeGreaterThanOrEqual(500);
      expect((await holder("crash")).holderIdentity).toBe("heir");
    } finally {
      await heir.elector.stop();
    }
  });

  it("stops leading when it cannot renew within renewDeadline", async () => {
    const solo = candidate("solo", "flaky");
    solo.elector.start();
    try {
      await until("leadership", () => solo.elector.isLeader());
      await cluster.setFaults([
        { verbs: ["get", "update"], resources: ["leases"], errorRate: 1, status: 503 },
      ]);
      const failingSince = Date.now();
      await until("leadership to end", () => !solo.elector.isLeader(), 3000);
      const lostAfter = Date.now() - failingSince;
      expect(lostAfter).toBeGreaterThanOrEqual(450);
      expect(solo.log).toEqual(["started", "signal aborted", "stopped"]);
      await cluster.setFaults([]);
      await until("leadership again", () => solo.elector.isLeader(), 3000);
    } finally {
      await cluster.setFaults([]);
      await solo.elector.stop();
    }
  });

  it("refuses inconsistent durations", () => {
    const base = { namespace: "default", name: "x", identity: "i", onStartedLeading: () => undefined };
    expect(
      () => new LeaderElector(client, { ...base, leaseDurationMs: 1000, renewDeadlineMs: 1000 }),
    ).toThrow(/leaseDurationMs/);
    expect(() => new LeaderElector(client, { ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 })).toThrow(
      /renewDeadlineMs/,
    );
  });
});
