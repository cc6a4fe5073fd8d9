import { stringify } from "yaml";

/** One clear line for the user; the stack only with --debug. */
export function formatError(error: unknown, debug: boolean): string {
  if (error instanceof Error) {
    const line = `error: ${error.message}`;
    return debug && error.stack ? `${line}\n${error.stack}` : line;
  }
  return `error: ${String(error)}`;
}

/** Prints objects in the requested machine format; returns false when the caller should draw a table. */
export function printStructured(value: unknown, format: string | undefined): boolean {
  if (format === "json") {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return true;
  }
  if (format === "yaml") {
    process.stdout.write(stringify(value, { sortMapEntries: false }));
    return true;
  }
  return false;
}

/** Renders rows as aligned columns, as kubectl does (two spaces between columns). */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
