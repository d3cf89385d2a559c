/**
 * Images listed in a CSV of `path,label` rows (the seed notebook's custom
 * dataset: pandas.read_csv + torchvision.io.read_image).
 */
import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { parse } from "../../deps/csv_parse.ts";
import { IMAGE_EXTENSIONS } from "./decode.ts";
import { DataError, describeError, readFileChecked } from "./errors.ts";
import type { ImageSet } from "./image_set.ts";
import { compareCodePoints } from "./image_folder.ts";
import { type DecodeOptions, decodePlan, decodeSpec } from "./load_images.ts";

/** Options for {@link csvImages}. */
export interface CsvImagesOptions extends DecodeOptions {
  /** Folder relative paths are resolved against; default the CSV's folder. */
  root?: string;
  /**
   * Whether the first row is a header. "auto" (default): it is when its path
   * cell names no existing file and has no image extension (e.g. "path").
   */
  header?: boolean | "auto";
}

interface Row {
  line: number;
  cells: string[];
}

const INT_LABEL = /^\d+$/;
const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

async function statKind(p: string): Promise<"file" | "dir" | "missing" | "error"> {
  try {
    const st = await Deno.stat(p);
    return st.isFile ? "file" : st.isDirectory ? "dir" : "error";
  } catch (err) {
    return err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory
      ? "missing"
      : "error";
  }
}

/**
 * Loads the images a CSV lists. Column 1 is the image path (relative to
 * `root`, or absolute), column 2 the label; further columns are ignored, and a
 * one-column CSV gives an unlabeled set. Labels are either all integers >= 0
 * (classes null) or all class names (mapped to indices in code-point order,
 * like ImageFolder). Quoted fields, commas and newlines in names, a UTF-8 BOM
 * and CRLF line ends are handled. Errors name the CSV line. Decoding, resizing,
 * caching and skipping corrupt images (named "<csv>:<line>: <path>" in
 * `skipped`) are as in imageFolder.
 */
export async function csvImages(csvPath: string, options: CsvImagesOptions): Promise<ImageSet> {
  const absCsv = resolve(csvPath);
  const spec = decodeSpec(options, `csvImages(${absCsv})`);
  const root = resolve(options.root ?? dirname(absCsv));
  const headerOpt = options.header ?? "auto";
  if (headerOpt !== true && headerOpt !== false && headerOpt !== "auto") {
    throw new DataError(`csvImages(${absCsv}): header must be true, false or "auto"`);
  }
  const raw = await readFileChecked(absCsv, "CSV file", "check the path");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch (err) {
    throw new DataError(`${absCsv}: not UTF-8 text; save the CSV as UTF-8`, { cause: err });
  }
  // csv-parse miscounts lines on CRLF input with empty lines; LF-only counts right.
  text = text.replace(/\r\n?/g, "\n");
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, info: true, skip_empty_lines: true }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    throw new DataError(
      `${absCsv}${line ? `:${line}` : ""}: malformed CSV (${describeError(err)}); ` +
        `every row needs the same columns (path,label), quote fields that contain commas`,
      { cause: err },
    );
  }
  // info.lines is the record's last line; a quoted newline inside moves its start up.
  const rows: Row[] = records.map(({ record, info }) => ({
    cells: record,
    line: info.lines - record.reduce((n, c) => n + c.split("\n").length - 1, 0),
  }));
  const where = (r: Row) => `${absCsv}:${r.line}`;
  const resolvePath = (cell: string) => (isAbsolute(cell) ? cell : join(root, cell));

  if (rows.length > 0) {
    let isHeader = headerOpt === true;
    if (headerOpt === "auto") {
      const cell = rows[0].cells[0] ?? "";
      isHeader = cell.length > 0 && !IMAGE_EXTENSIONS.includes(extname(cell).toLowerCase()) &&
        (await statKind(resolvePath(cell))) !== "file";
    }
    if (isHeader) rows.shift();
  }
  if (rows.length === 0) {
    throw new DataError(`${absCsv}: no image rows; the CSV needs one 'path,label' row per image`);
  }
  const labeled = rows[0].cells.length >= 2;

  const paths: string[] = [];
  for (const r of rows) {
    const cell = r.cells[0];
    if (cell.length === 0) {
      throw new DataError(`${where(r)}: empty image path; every row needs a path in column 1`);
    }
    const p = resolvePath(cell);
    const kind = await statKind(p);
    if (kind !== "file") {
      const why = kind === "missing"
        ? "not found"
        : kind === "dir"
        ? "is a folder, not an image file"
        : "cannot be accessed";
      throw new DataError(
        `${where(r)}: image ${JSON.stringify(cell)} ${why} (looked at ${p}); fix the row, or ` +
          `pass root (relative paths are resolved against ${root})`,
      );
    }
    paths.push(p);
  }

  let labels: Int32Array | null = null;
  let classes: string[] | null = null;
  if (labeled) {
    const kinds = rows.map((r) => {
      const v = r.cells[1].trim();
      if (INT_LABEL.test(v) && Number(v) <= 0x7fffffff) return "int";
      if (v.length === 0 || NUMERIC.test(v) || INT_LABEL.test(v)) {
        throw new DataError(
          `${where(r)}: bad label ${JSON.stringify(r.cells[1])}; labels must be integers >= 0 ` +
            `(below 2^31) or class names`,
        );
      }
      return "name";
    });
    const firstKind = kinds[0];
    const odd = kinds.findIndex((k) => k !== firstKind);
    if (odd >= 0) {
      throw new DataError(
        `${where(rows[odd])}: label ${JSON.stringify(rows[odd].cells[1].trim())} is ` +
          `${kinds[odd] === "int" ? "an integer" : "a class name"} but line ${rows[0].line} has ` +
          `${firstKind === "int" ? "an integer" : "a class name"}; use integers or names, not both`,
      );
    }
    const values = rows.map((r) => r.cells[1].trim());
    if (firstKind === "int") {
      labels = Int32Array.from(values, Number);
    } else {
      classes = [...new Set(values)].sort(compareCodePoints);
      const index = new Map(classes.map((c, i) => [c, i]));
      labels = Int32Array.from(values, (v) => index.get(v)!);
    }
  }

  try {
    return await decodePlan(
      {
        kind: "csvImages",
        source: absCsv,
        paths,
        labels,
        classes,
        label: (i) => `${where(rows[i])}: ${paths[i]}`,
        extraFiles: [absCsv],
      },
      spec,
      options,
    );
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${absCsv}: loading images failed (${describeError(err)})`, {
      cause: err,
    });
  }
}
