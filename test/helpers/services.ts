/**
 * Tests that need a service the machine may lack (Prometheus, the Python Kubernetes client,
 * Redis) are skipped with a clear message, except when REQUIRE_SERVICES=1 (CI), where a missing
 * service fails the run instead.
 */
import { execFileSync } from "node:child_process";

export const REQUIRE_SERVICES = process.env.REQUIRE_SERVICES === "1";

/** True when `check` passes; otherwise warns (or throws in CI) naming what is missing and how to get it. */
export function serviceAvailable(name: string, check: () => boolean, howToInstall: string): boolean {
  let ok = false;
  try {
    ok = check();
  } catch {
    ok = false;
  }
  if (ok) return true;
  const message = `${name} is not available (${howToInstall})`;
  if (REQUIRE_SERVICES) throw new Error(`REQUIRE_SERVICES=1 but ${message}`);
  process.stderr.write(`skipping tests that need ${message}\n`);
  return false;
}

export function commandWorks(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore", timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}
