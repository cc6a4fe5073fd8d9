/**
 * The CLI reference in README.md and docs/cli.md is generated from the commander definitions
 * (`npm run gen:cli-docs`); these tests fail when the committed text is stale, and keep the
 * generator light: walking the command tree must not load the `*-actions.ts` modules.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  README_END,
  README_START,
  renderCliDoc,
  renderReadmeSection,
  spliceReadme,
} from "../../cli/cli-reference.js";
import { buildProgram } from "../../cli/program.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const regen = "run `npm run build && npm run gen:cli-docs`";
const read = (file: string) => readFileSync(path.join(root, file), "utf8");

describe("CLI reference", () => {
  const program = buildProgram("slipway");

  it("README.md's table is current", () => {
    const readme = read("README.md");
    const section = readme.slice(
      readme.indexOf(README_START),
      readme.indexOf(README_END) + README_END.length,
    );
    expect(section, `README.md's CLI reference is stale: ${regen}`).toBe(renderReadmeSection(program));
  });

  it("docs/cli.md is current", () => {
    expect(read("docs/cli.md"), `docs/cli.md is stale: ${regen}`).toBe(renderCliDoc(program));
  });

  it("lists every command with every option, default and environment variable", () => {
    const doc = renderCliDoc(program);
    expect(doc).toContain("##### slipway rollout set image");
    expect(doc).toContain("slipway rollout set image <name> <container=image...>");
    expect(doc).toMatch(
      /\| `--app-resync <duration>` +\| how often every Application is compared.*\| `180s` +\|/,
    );
    expect(doc).toMatch(/\| `--redis-prefix <prefix>` +\| .*env `SLIPWAY_REDIS_PREFIX` +\| `slipway` +\|/);
    expect(doc).toContain("one of: `git`, `live`");
    // Help text added after the options (addHelpText) is part of the reference.
    expect(doc).toContain("Icons: ✔ Healthy");
    const table = renderReadmeSection(program);
    expect(table).toMatch(
      /\| \[`slipway app sync <name> \[options\]`\]\(docs\/cli.md#slipway-app-sync\) +\| sync/,
    );
    // Nouns with subcommands are headings in docs/cli.md, not rows.
    expect(table).not.toContain("docs/cli.md#slipway-rollout)");
  });

  it("refuses a README without the markers instead of losing it", () => {
    expect(() => spliceReadme("# no markers\n", "x")).toThrow(/cli-reference:start/);
    expect(spliceReadme(`a\n${README_START}\nold\n${README_END}\nb`, "NEW")).toBe("a\nNEW\nb");
  });

  it("is generated without loading the lazy *-actions.ts modules", () => {
    // Follow the static (non type-only) imports of the generator through cli/: the heavy action
    // modules must only be reachable through `await import(...)` inside command actions.
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = read(file);
      const imports = text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+"(\.{1,2}\/[^"]+)\.js"/gms);
      for (const m of imports) visit(path.posix.join(path.posix.dirname(file), `${m[1]}.ts`));
    };
    visit("cli/gen-cli-docs.ts");
    expect([...seen]).toContain("cli/rollout.ts");
    expect([...seen].filter((f) => /-actions\.ts$/.test(f))).toEqual([]);
  });
});
