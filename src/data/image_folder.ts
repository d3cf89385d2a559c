/**
 * torchvision-style ImageFolder: `root/<class>/.../<image>` with classes sorted
 * by name, or an unlabeled folder of images.
 */
import { extname, join, resolve } from "node:path";
import { IMAGE_EXTENSIONS, sniff, UNSUPPORTED_IMAGE_EXTENSIONS } from "./decode.ts";
import { DataError, describeError, fileError } from "./errors.ts";
import type { ImageSet } from "./image_set.ts";
import { type DecodeOptions, decodePlan, decodeSpec } from "./load_images.ts";

/** Options for {@link imageFolder}. */
export interface ImageFolderOptions extends DecodeOptions {
  /**
   * true: each sub-folder of `root` is a class (files directly in `root` are
   * ignored, as torchvision does). false: every image under `root`,
   * recursively, unlabeled. Default: true when some sub-folder holds images.
   */
  labeled?: boolean;
}

/** Extensions that are certainly not images: skipped without looking inside. */
const NON_IMAGE_EXTENSIONS = new Set([
  ".txt",
  ".md",
  ".csv",
  ".tsv",
  ".json",
  ".jsonl",
  ".xml",
  ".yaml",
  ".yml",
  ".ini",
  ".cfg",
  ".log",
  ".db",
  ".py",
  ".ipynb",
  ".sh",
  ".npy",
  ".npz",
  ".pt",
  ".pth",
  ".zip",
  ".tar",
  ".gz",
  ".pdf",
  ".html",
  ".mat",
  ".pkl",
]);

/** Python's str ordering (code points), which torchvision's sorted() uses. */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

async function sniffFile(path: string): Promise<boolean> {
  let f: Deno.FsFile | null = null;
  try {
    f = await Deno.open(path, { read: true });
    const head = new Uint8Array(8);
    let n = 0;
    while (n < head.length) {
      const r = await f.read(head.subarray(n));
      if (r === null) break;
      n += r;
    }
    return sniff(head.subarray(0, n)) !== null;
  } catch (err) {
    throw fileError(path, "file", err);
  } finally {
    f?.close();
  }
}

/** Decides whether a directory entry is an image to load; throws for unsupported formats. */
async function isImage(path: string, name: string, root: string): Promise<boolean> {
  // Hidden files include macOS "._x.png" AppleDouble files, which are not images.
  if (name.startsWith(".")) return false;
  const ext = extname(name).toLowerCase();
  if (IMAGE_EXTENSIONS.includes(ext)) return true;
  if (UNSUPPORTED_IMAGE_EXTENSIONS.includes(ext)) {
    throw new DataError(
      `${path}: unsupported image format '${ext}' (only PNG and JPEG are decoded); ` +
        `convert it to PNG or JPEG or move it out of ${root}`,
    );
  }
  if (NON_IMAGE_EXTENSIONS.has(ext) || name === "Thumbs.db" || name === "desktop.ini") {
    return false;
  }
  // Unknown or no extension: an image is recognised by its content.
  return await sniffFile(path);
}

async function readDirSorted(dir: string): Promise<Deno.DirEntry[]> {
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) entries.push(e);
  } catch (err) {
    throw fileError(dir, "folder", err);
  }
  return entries.sort((a, b) => compareCodePoints(a.name, b.name));
}

/** Entry kind, following symlinks (as torchvision's os.walk(followlinks=True)). */
async function kindOf(path: string, e: Deno.DirEntry): Promise<"file" | "dir" | "other"> {
  if (e.isFile) return "file";
  if (e.isDirectory) return "dir";
  if (!e.isSymlink) return "other";
  try {
    const st = await Deno.stat(path);
    return st.isFile ? "file" : st.isDirectory ? "dir" : "other";
  } catch {
    return "other"; // dangling symlink
  }
}

/** Collects [folder, file name] of every image under `dir` (unordered). */
async function collectImages(
  dir: string,
  root: string,
  seen: Set<string>,
  out: [string, string][],
): Promise<void> {
  let real: string;
  try {
    real = await Deno.realPath(dir);
  } catch (err) {
    throw fileError(dir, "folder", err);
  }
  if (seen.has(real)) return; // symlink loop
  seen.add(real);
  const subdirs: string[] = [];
  for (const e of await readDirSorted(dir)) {
    const p = join(dir, e.name);
    const kind = await kindOf(p, e);
    if (kind === "dir") {
      if (!e.name.startsWith(".")) subdirs.push(p);
    } else if (kind === "file" && await isImage(p, e.name, root)) {
      out.push([dir, e.name]);
    }
  }
  for (const s of subdirs) await collectImages(s, root, seen, out);
}

/**
 * All images under `dir` in torchvision's make_dataset order: sorted by
 * (folder path, file name) as strings, which is not depth-first order when
 * folder names hold characters below "/" (e.g. "a/x" sorts after "a-b").
 */
async function walkImages(dir: string, root: string): Promise<string[]> {
  const found: [string, string][] = [];
  await collectImages(dir, root, new Set(), found);
  found.sort((a, b) => compareCodePoints(a[0], b[0]) || compareCodePoints(a[1], b[1]));
  return found.map(([d, n]) => join(d, n));
}

/**
 * Loads a folder of PNG/JPEG images (decoded by content, not extension) as
 * one uint8 NCHW set.
 *
 * Labeled mode (torchvision ImageFolder): classes are the non-hidden
 * sub-folder names sorted by code point, label = class index, images found
 * recursively in each class folder. Unlabeled mode: every image under
 * `root`, labels null.
 *
 * Each image is resized to exactly `size` (torchvision `Resize((h, w))` with
 * Pillow's bilinear filter: aspect ratio not kept, antialiased when
 * downscaling) and converted to `channels` (RGB -> 1: BT.601 luma rounded;
 * gray -> 3: repeated; alpha dropped for 1 and 3, kept for 4 (255 when the
 * file has none)). EXIF orientation is ignored, as Pillow does by default.
 *
 * Hidden files and folders (".*") and files with non-image extensions are
 * skipped. A .png/.jpg/.jpeg file that does not decode is left out and named,
 * with the reason, in the set's `skipped` (its label is dropped with it). An
 * unsupported image format (.gif, .bmp, .webp, .tif ...), an empty class
 * folder, a folder without images or one whose every image is corrupt is a
 * DataError.
 */
export async function imageFolder(root: string, options: ImageFolderOptions): Promise<ImageSet> {
  const spec = decodeSpec(options, `imageFolder(${root})`);
  const absRoot = resolve(root);
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(absRoot);
  } catch (err) {
    throw fileError(absRoot, "image folder", err, "check the path");
  }
  if (!st.isDirectory) {
    throw new DataError(`${absRoot}: not a folder; imageFolder expects a folder of images`);
  }
  const top = await readDirSorted(absRoot);
  const classDirs: string[] = [];
  for (const e of top) {
    if (e.name.startsWith(".")) continue;
    if (await kindOf(join(absRoot, e.name), e) === "dir") classDirs.push(e.name);
  }

  const perClass: string[][] = [];
  for (const c of classDirs) {
    perClass.push(await walkImages(join(absRoot, c), absRoot));
  }
  const labeled = options.labeled ?? perClass.some((f) => f.length > 0);

  let paths: string[];
  let labels: Int32Array | null = null;
  let classes: string[] | null = null;
  if (labeled) {
    if (classDirs.length === 0) {
      throw new DataError(
        `${absRoot}: no class sub-folders found (labeled mode wants root/<class>/<image>); ` +
          `put images in one folder per class, or pass labeled: false`,
      );
    }
    const empty = classDirs.filter((_, i) => perClass[i].length === 0);
    if (empty.length > 0) {
      throw new DataError(
        `${absRoot}: class folder(s) ${empty.map((e) => JSON.stringify(e)).join(", ")} ` +
          `contain no PNG/JPEG images; add images, remove the folder(s), or pass labeled: false`,
      );
    }
    paths = perClass.flat();
    labels = new Int32Array(paths.length);
    let i = 0;
    perClass.forEach((files, c) => {
      labels!.fill(c, i, i + files.length);
      i += files.length;
    });
    classes = classDirs;
  } else {
    paths = await walkImages(absRoot, absRoot);
  }
  if (paths.length === 0) {
    throw new DataError(
      `${absRoot}: no images found (looked for ${IMAGE_EXTENSIONS.join("/")} files and ` +
        `extension-less PNG/JPEG, recursively); check the path`,
    );
  }
  try {
    return await decodePlan(
      {
        kind: `imageFolder:${labeled ? "labeled" : "unlabeled"}`,
        source: absRoot,
        paths,
        labels,
        classes,
        label: (i) => paths[i],
      },
      spec,
      options,
    );
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${absRoot}: loading images failed (${describeError(err)})`, {
      cause: err,
    });
  }
}
