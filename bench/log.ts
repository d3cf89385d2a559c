// The bench's progress lines: on stderr with the time of day, so that stdout
// holds only the report.

export function log(s: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);
}
