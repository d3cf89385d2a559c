import { join } from "node:path";
import { csvImages, imageAt } from "../../src/data/mod.ts";
import { assert, assertBytes, assertEquals } from "./_assert.ts";
import { assertDataError, planes, rgbaImage, tempDir, writeBytes, writePng } from "./_helpers.ts";

type Px = [number, number, number, number];
const fs: ((x: number, y: number) => Px)[] = [
  (x, y) => [x * 30, y * 40, 7, 255],
  (x, y) => [200, x + y, 90, 255],
  (x, y) => [(x * 13 + y * 29) & 255, 0, 255, 255],
];
const noCache = { cache: false } as const;
const write = (p: string, text: string) => writeBytes(p, new TextEncoder().encode(text));

/** Writes a.png, "b, with comma.png", sub/c.png into `root`. */
async function images(root: string) {
  await writePng(join(root, "a.png"), rgbaImage(4, 3, fs[0]));
  await writePng(join(root, "b, with comma.png"), rgbaImage(4, 3, fs[1]));
  await writePng(join(root, "sub", "c.png"), rgbaImage(4, 3, fs[2]));
}

Deno.test("csvImages: header, quoted names with commas, integer labels, exact pixels", async () => {
  await using dir = await tempDir();
  await images(dir.path);
  const csv = join(dir.path, "list.csv");
  await write(csv, 'path,label\nsub/c.png,7\n"b, with comma.png",0\na.png, 3\n');
  const set = await csvImages(csv, { size: [3, 4], channels: 3, ...noCache });
  assertEquals([set.length, set.channels, set.height, set.width], [3, 3, 3, 4]);
  assertEquals(Array.from(set.labels!), [7, 0, 3]);
  assertEquals(set.classes, null);
  [2, 1, 0].forEach((f, i) => assertBytes(imageAt(set, i), planes(4, 3, 3, fs[f]), `row ${i}`));
  assertEquals(set.source, csv);
});

Deno.test("csvImages: string labels map to sorted class indices", async () => {
  await using dir = await tempDir();
  await images(dir.path);
  const csv = join(dir.path, "list.csv");
  await write(csv, 'a.png,zebra\nsub/c.png,Ant\n"b, with comma.png",cat\na.png,cat\n');
  const set = await csvImages(csv, { size: 2, channels: 1, ...noCache });
  assertEquals(set.classes, ["Ant", "cat", "zebra"]); // code-point order, like sorted()
  assertEquals(Array.from(set.labels!), [2, 0, 1, 1]);
  assertEquals([set.length, set.height, set.width], [4, 2, 2]);
});

Deno.test("csvImages: header detection, root option, unlabeled CSV, CRLF + BOM", async () => {
  await using dir = await tempDir();
  await images(dir.path);
  const lists = join(dir.path, "lists");
  // No header: the first row is data, since a.png exists under root.
  await write(join(lists, "nohdr.csv"), "a.png,1\nsub/c.png,2\n");
  const nh = await csvImages(join(lists, "nohdr.csv"), {
    root: dir.path,
    size: 3,
    channels: 3,
    ...noCache,
  });
  assertEquals(Array.from(nh.labels!), [1, 2]);
  // header: false forces the first row to be data (here it then fails on "file").
  await write(join(lists, "hdr.csv"), "\uFEFFfile,label\r\na.png,1\r\n\r\nsub/c.png,0\r\n");
  const h = await csvImages(join(lists, "hdr.csv"), {
    root: dir.path,
    size: 3,
    channels: 3,
    ...noCache,
  });
  assertEquals(Array.from(h.labels!), [1, 0]);
  await assertDataError(
    csvImages(join(lists, "hdr.csv"), {
      root: dir.path,
      size: 3,
      channels: 3,
      header: false,
      ...noCache,
    }),
    `${join(lists, "hdr.csv")}:1`,
    '"file"',
  );
  // One column: unlabeled.
  await write(join(dir.path, "paths.csv"), "a.png\nsub/c.png\n");
  const un = await csvImages(join(dir.path, "paths.csv"), {
    size: [3, 4],
    channels: 3,
    ...noCache,
  });
  assertEquals([un.length, un.labels, un.classes], [2, null, null]);
  assertBytes(imageAt(un, 1), planes(4, 3, 3, fs[2]));
  // Absolute paths ignore root.
  await write(join(lists, "abs.csv"), `${join(dir.path, "a.png")},4\n`);
  const ab = await csvImages(join(lists, "abs.csv"), { size: [3, 4], channels: 3, ...noCache });
  assertBytes(imageAt(ab, 0), planes(4, 3, 3, fs[0]));
});

Deno.test("csvImages: a row whose file is missing names the CSV line and the path", async () => {
  await using dir = await tempDir();
  await images(dir.path);
  const csv = join(dir.path, "list.csv");
  // Line 3 is blank and the record on lines 4-5 holds a quoted newline: the
  // missing file is on line 6.
  await write(csv, 'path,label\na.png,1\n\n"multi\nline.png",2\nmissing/x.png,3\n');
  await writePng(join(dir.path, "multi\nline.png"), rgbaImage(4, 3, fs[0]));
  await assertDataError(
    csvImages(csv, { size: 3, channels: 3, ...noCache }),
    `${csv}:6`,
    '"missing/x.png"',
    join(dir.path, "missing/x.png"),
    "not found",
  );
  // The failing record itself spans lines 3-4: the error names its first line.
  await write(csv, 'path,label\na.png,1\n"gone\nfile.png",2\n');
  await assertDataError(csvImages(csv, { size: 3, channels: 3, ...noCache }), `${csv}:3:`);
  await write(csv, "path,label\r\na.png,1\r\n\r\nsub,2\r\n");
  await assertDataError(
    csvImages(csv, { size: 3, channels: 3, ...noCache }),
    `${csv}:4`,
    "is a folder",
  );
});

Deno.test("csvImages: bad labels name the line", async () => {
  await using dir = await tempDir();
  await images(dir.path);
  const csv = join(dir.path, "list.csv");
  for (const bad of ["-1", "3.5", "", " ", "1e3", "+2", "99999999999"]) {
    await write(csv, `path,label\na.png,0\nsub/c.png,${bad}\n`);
    await assertDataError(
      csvImages(csv, { size: 3, channels: 3, ...noCache }),
      `${csv}:3`,
      "bad label",
    );
  }
  await write(csv, "a.png,cat\nsub/c.png,4\n");
  await assertDataError(
    csvImages(csv, { size: 3, channels: 3, ...noCache }),
    `${csv}:2`,
    "not both",
  );
});

Deno.test("csvImages: malformed CSV, empty CSV, missing CSV are DataErrors; a corrupt image is skipped", async () => {
  await using dir = await tempDir();
  await images(dir.path);
  const csv = join(dir.path, "list.csv");
  await write(csv, "path,label\na.png,1\nsub/c.png\n");
  await assertDataError(
    csvImages(csv, { size: 3, channels: 3, ...noCache }),
    `${csv}:3`,
    "malformed CSV",
  );
  await write(csv, 'path,label\n"a.png,1\n');
  await assertDataError(csvImages(csv, { size: 3, channels: 3, ...noCache }), csv, "malformed CSV");
  await write(csv, "path,label\n");
  await assertDataError(csvImages(csv, { size: 3, channels: 3, ...noCache }), csv, "no image rows");
  await write(csv, "");
  await assertDataError(csvImages(csv, { size: 3, channels: 3, ...noCache }), csv, "no image rows");
  // A corrupt image is skipped and named by its line; the others keep their labels.
  await write(join(dir.path, "bad.png"), "GIF89a nope");
  await write(csv, "path,label\na.png,1\nbad.png,2\nsub/c.png,3\n");
  const set = await csvImages(csv, { size: [3, 4], channels: 3, ...noCache });
  assertEquals([set.length, Array.from(set.labels!)], [2, [1, 3]]);
  assertBytes(imageAt(set, 1), planes(4, 3, 3, fs[2]));
  assertEquals(set.skipped?.length, 1);
  assertEquals(set.skipped![0].path, `${csv}:3: ${join(dir.path, "bad.png")}`);
  assert(set.skipped![0].reason.includes("corrupt or unsupported image"), set.skipped![0].reason);
  await write(csv, "path,label\nbad.png,2\n");
  await assertDataError(
    csvImages(csv, { size: 3, channels: 3, ...noCache }),
    `${csv}:2`,
    join(dir.path, "bad.png"),
    "corrupt or unsupported image",
    "all 1 image files failed",
  );
  await writeBytes(csv, new Uint8Array([0x61, 0xff, 0xfe, 0x2c, 0x31]));
  await assertDataError(csvImages(csv, { size: 3, channels: 3, ...noCache }), csv, "UTF-8");
  await assertDataError(
    csvImages(join(dir.path, "nope.csv"), { size: 3, channels: 3, ...noCache }),
    join(dir.path, "nope.csv"),
    "not found",
  );
});
