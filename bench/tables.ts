// Plain-text and Markdown tables for the bench report, and its number format.

/** A figure with 3 significant digits or so ("-" for NaN and infinities). */
export function fmt(x: number): string {
  return !Number.isFinite(x)
    ? "-"
    : Math.abs(x) >= 100
    ? x.toFixed(0)
    : Math.abs(x) >= 10
    ? x.toFixed(1)
    : x.toFixed(2);
}

/** Columns padded to their widest cell: the first left-aligned, the rest right-aligned. */
export function textTable(head: string[], body: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n");
}

/** A Markdown table, the first column left-aligned, the rest right-aligned. */
export function mdTable(head: string[], body: string[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`,
    ...body.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}
