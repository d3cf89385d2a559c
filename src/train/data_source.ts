// Turns `--data` into a training set (and a labelled test set for the kNN
// monitor and the final evaluation, when there is one), and tells what the
// data holds before it is decoded (probeData) so defaults can follow it.
import { dirname, join, resolve } from "node:path";
import { parse as parseCsv } from "../../deps/csv_parse.ts";
import { DataError } from "../data/errors.ts";
import { cifar } from "../data/cifar.ts";
import { csvImages } from "../data/csv_images.ts";
import { fashionMnist } from "../data/idx.ts";
import { imageFolder, type ImageFolderOptions } from "../data/image_folder.ts";
import { terminalProgress } from "../data/decode_progress.ts";
import { mappedCacheSet } from "../data/mapped_set.ts";
import { diskAvailable } from "../../ffi/files.ts";
import { type ImageSet, sliceSet, subset } from "../data/image_set.ts";
import { type ImageProbe, probeImageFiles, sampleImageFiles } from "../data/probe.ts";

export interface DataSource {
  /** What was loaded, for logs. */
  description: string;
  train: ImageSet;
  /** Labelled held-out images, or null. */
  test: ImageSet | null;
  /** What `test` is: the data's test split, or the validation images carved by --val-size. */
  testSplit: "test" | "validation";
  /** What loading did that the run's log should say (mixed sizes resized, corrupt files skipped). */
  notes?: string[];
}

export interface DataRequest {
  data: string;
  /** View side (the augmentation's output). */
  imageSize: number;
  /** Side of the square folders and CSV images are decoded and stored at. */
  storedSize: number;
  /** Channels folders and CSV images are converted to (1 or 3). */
  channels: number;
  /** First N training images only (0: all). */
  limit: number;
  /** Hold the last N training images out as the validation split (0: none). */
  valSize: number;
}

type Kind = "fashion-mnist" | "csv" | "cifar" | "folder";

async function isDir(p: string): Promise<boolean> {
  return (await Deno.stat(p).catch(() => null))?.isDirectory ?? false;
}

async function exists(p: string): Promise<boolean> {
  return (await Deno.stat(p).catch(() => null)) !== null;
}

async function isCifarDir(p: string): Promise<boolean> {
  for (const f of ["data_batch_1.bin", "train.bin", "cifar-10-batches-bin", "cifar-100-binary"]) {
    if (await exists(join(p, f))) return true;
  }
  return false;
}

async function kindOf(data: string): Promise<Kind> {
  if (data === "fashion-mnist") return "fashion-mnist";
  if (!(await exists(data))) {
    throw new DataError(
      `--data ${data}: no such file or folder; give "fashion-mnist", an image folder, ` +
        "a CSV of path,label rows or a CIFAR binary folder",
    );
  }
  if (data.toLowerCase().endsWith(".csv")) return "csv";
  if (!(await isDir(data))) {
    throw new DataError(
      `--data ${data}: a file that is not a .csv; give a folder of images, a CSV or a CIFAR folder`,
    );
  }
  return (await isCifarDir(data)) ? "cifar" : "folder";
}

/** What `--data` holds: channels and typical image side, from the format or a sample of headers. */
export async function probeData(data: string): Promise<ImageProbe & { kind: Kind }> {
  const kind = await kindOf(data);
  if (kind === "fashion-mnist") return { kind, channels: 1, side: 28, withAlpha: 0, sampled: 0 };
  if (kind === "cifar") return { kind, channels: 3, side: 32, withAlpha: 0, sampled: 0 };
  let paths: string[];
  if (kind === "csv") {
    // The first column of the first rows, relative to the CSV's folder; a header row
    // names no file and is skipped by the probe.
    const rows = parseCsv(await Deno.readTextFile(data), {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      to: 64,
    }) as string[][];
    const root = dirname(resolve(data));
    paths = rows.map((r) => resolve(root, String(r[0] ?? "").trim()));
  } else paths = await sampleImageFiles(data);
  // Nothing readable: the loader's own checks will name the problem.
  return {
    kind,
    ...((await probeImageFiles(paths)) ?? { channels: 3, side: 0, withAlpha: 0, sampled: 0 }),
  };
}

/** Loads `--data` as the request says (sizes and channels already chosen). */
export async function loadDataSource(req: DataRequest): Promise<DataSource> {
  const { data } = req;
  const kind = await kindOf(data);
  // Decoded folders and CSVs: the decode streams into the cache file, which
  // is then mapped (no copy in memory; the page cache is the one copy, shared
  // by every process on the machine), after a check that the disk has room.
  // Progress on stderr, from the first process of a job only.
  const quiet = (Deno.env.get("RANK") ?? "0") !== "0";
  const opts: ImageFolderOptions = {
    size: req.storedSize,
    channels: req.channels as 1 | 3,
    mapped: mappedCacheSet,
    diskAvailable,
    ...(quiet ? {} : { onProgress: terminalProgress() }),
  };
  let src: Omit<DataSource, "testSplit">;
  if (kind === "fashion-mnist") {
    const train = await fashionMnist({ split: "train" });
    const test = await fashionMnist({ split: "test" });
    src = { description: "Fashion-MNIST (Debian dataset-fashion-mnist)", train, test };
  } else if (kind === "csv") {
    src = { description: `CSV ${data}`, train: await csvImages(data, opts), test: null };
  } else if (kind === "cifar") {
    src = {
      description: `CIFAR ${data}`,
      train: await cifar(data, { split: "train" }),
      test: await cifar(data, { split: "test" }).catch(() => null),
    };
  } else {
    // A folder with train/ and val/ (or test/) gets both; else it is all training data.
    const trainDir = join(data, "train");
    const testDir = (await isDir(join(data, "val")))
      ? join(data, "val")
      : (await isDir(join(data, "test")))
      ? join(data, "test")
      : null;
    if ((await isDir(trainDir)) && testDir !== null) {
      src = {
        description: `image folders ${trainDir} and ${testDir}`,
        train: await imageFolder(trainDir, opts),
        test: await imageFolder(testDir, { ...opts, labeled: true }),
      };
    } else {
      src = {
        description: `image folder ${data}`,
        train: await imageFolder(data, opts),
        test: null,
      };
    }
  }
  if (src.train.channels !== req.channels) {
    throw new DataError(
      `--channels ${req.channels}: ${src.description} has ${src.train.channels}-channel images`,
    );
  }
  let testSplit: DataSource["testSplit"] = "test";
  if (req.valSize > 0) {
    // The validation split is the last images of the training set, carved
    // before --limit, so a recipe is tuned without looking at the test split.
    const n = src.train.length;
    if (src.train.labels === null) {
      throw new DataError(
        `--val-size ${req.valSize}: ${src.description} has no labels to score a validation split with`,
      );
    }
    if (req.valSize > n - 2) {
      throw new DataError(
        `--val-size ${req.valSize}: ${src.description} has ${n} training images; ` +
          `hold out at most ${n - 2}`,
      );
    }
    src.test = sliceSet(src.train, n - req.valSize, n);
    src.train = sliceSet(src.train, 0, n - req.valSize);
    src.description += ` (last ${req.valSize} training images held out for validation)`;
    testSplit = "validation";
  }
  if (req.limit > 0) src.train = subset(src.train, req.limit);
  if (src.train.length < 2) {
    throw new DataError(`${src.description}: ${src.train.length} image(s); BYOL needs at least 2`);
  }
  if (src.test !== null && src.test.labels === null) src.test = null;
  return { ...src, testSplit, notes: decodeNotes(src.train, req.storedSize) };
}

/** What the decode did to a folder's or CSV's images, for the run's log. */
function decodeNotes(set: ImageSet, stored: number): string[] {
  const notes: string[] = [];
  const sides = set.sourceSides;
  if (sides !== undefined && sides.max > 0 && (sides.min !== stored || sides.max !== stored)) {
    notes.push(
      `images ${
        sides.min === sides.max
          ? `of ${sides.min} px`
          : `of mixed sizes (shorter side ${sides.min}` +
            `-${sides.max} px)`
      } each resized to ${set.height} x ${set.width} px, aspect ratio not kept (--stored-size)`,
    );
  }
  const skipped = set.skipped?.length ?? 0;
  if (skipped > 0) {
    notes.push(
      `${skipped} corrupt file(s) skipped: ${
        set.skipped!.slice(0, 3).map((f) => f.path).join(", ")
      }` +
        (skipped > 3
          ? ` and ${skipped - 3} more (the decode's summary and the cache header list them)`
          : ""),
    );
  }
  return notes;
}
