// TensorBoard event files (src/io/tfevents.ts): CRC32C and its mask against published vectors,
// the TFRecord framing and the Event encoding through the TypeScript reader, corruption, the
// writer's files and argument checks; then the independent truth, TensorBoard's own Python
// readers (EventAccumulator, event_file_loader and the record reader that checks both CRCs) on
// files written here. Those need a python with tensorboard (tests/helpers/tensorboard_python.ts)
// and are ignored, with the reason printed, where there is none.
import { join } from "node:path";
import { Image } from "../../deps/imagescript.ts";
import {
  crc32c,
  decodeEvent,
  encodeEvent,
  EventFileError,
  EventFileWriter,
  FILE_VERSION,
  frameRecord,
  maskCrc,
  maskedCrc32c,
  readEventFile,
  readRecords,
  type TfEvent,
} from "../../src/io/tfevents.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../helpers/asserts.ts";
import { findTensorboardPython, runPythonJson } from "../helpers/tensorboard_python.ts";
import { canMount, mountTmpfs, umount } from "../helpers/tmpfs.ts";

const enc = new TextEncoder();

const TB = await findTensorboardPython();
const NO_TB = TB.python === undefined ? " (ignored: no python with tensorboard)" : "";
if (TB.python === undefined) {
  console.log(`tfevents: ignoring the TensorBoard reader tests: ${TB.reason}`);
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "byol-tb-events-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function eventFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.includes("tfevents")) names.push(e.name);
  return names.sort().map((n) => join(dir, n));
}

/** A w x h PNG from imagescript: a gradient, so the bytes are not trivial. */
async function pngOf(w: number, h: number): Promise<Uint8Array> {
  const im = new Image(w, h);
  for (let y = 1; y <= h; y++) {
    for (let x = 1; x <= w; x++) {
      im.setPixelAt(x, y, Image.rgbaToColor((x * 40) & 255, (y * 60) & 255, 128, 255));
    }
  }
  return await im.encode();
}

// ---------- CRC32C and the mask ----------

Deno.test("crc32c: the check value and RFC 3720's vectors", () => {
  assertEquals(crc32c(enc.encode("123456789")), 0xe3069283);
  assertEquals(crc32c(new Uint8Array()), 0);
  assertEquals(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assertEquals(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assertEquals(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assertEquals(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  // A subarray is read from its own offset.
  const big = enc.encode("xx123456789yy");
  assertEquals(crc32c(big.subarray(2, 11)), 0xe3069283);
});

Deno.test("crc32c: TFRecord's mask (rotate right 15, add 0xa282ead8, mod 2^32)", () => {
  // Values from TensorBoard's own masked_crc32c (tensorflow_stub).
  assertEquals(maskedCrc32c(enc.encode("123456789")), 0xc78ab0e5);
  assertEquals(maskedCrc32c(new Uint8Array()), 0xa282ead8);
  assertEquals(maskedCrc32c(new Uint8Array(8)), 0x07980329);
  assertEquals(maskCrc(0), 0xa282ead8);
  // The sum wraps modulo 2^32 and stays unsigned.
  assertEquals(maskCrc(0xffffffff), (0xffffffff + 0xa282ead8) % 2 ** 32);
  // Unmasking (subtract, rotate left 15) gives the CRC back, as TensorFlow's crc32c::Unmask.
  for (const crc of [0, 1, 0xe3069283, 0x80000000, 0xffffffff]) {
    const m = maskCrc(crc);
    assert(m >= 0 && m < 2 ** 32, `${m}`);
    const r = (m - 0xa282ead8) >>> 0;
    assertEquals(((r >>> 17) | (r << 15)) >>> 0, crc);
  }
});

// ---------- framing ----------

Deno.test("tfrecord: an empty record's bytes, and records round trip with their offsets", () => {
  assertEquals(
    Array.from(frameRecord(new Uint8Array())),
    [0, 0, 0, 0, 0, 0, 0, 0, 0x29, 0x03, 0x98, 0x07, 0xd8, 0xea, 0x82, 0xa2],
  );
  const datas = [enc.encode("first"), new Uint8Array(), new Uint8Array(300).map((_, i) => i)];
  const framed = datas.map(frameRecord);
  const file = new Uint8Array(framed.reduce((n, r) => n + r.length, 0));
  let off = 0;
  const offsets: number[] = [];
  for (const r of framed) {
    offsets.push(off);
    file.set(r, off);
    off += r.length;
  }
  const back = readRecords(file);
  assertEquals(back.map((r) => r.offset), offsets);
  assertEquals(back.map((r) => Array.from(r.data)), datas.map((d) => Array.from(d)));
  assertEquals(new DataView(framed[2].buffer).getBigUint64(0, true), 300n);
  // A view into a larger buffer reads the same.
  const padded = new Uint8Array(file.length + 7);
  padded.set(file, 3);
  assertEquals(readRecords(padded.subarray(3, 3 + file.length)).length, 3);
});

Deno.test("tfrecord: a corrupted length, data or CRC is an error naming the record's offset", () => {
  const a = frameRecord(enc.encode("record a"));
  const b = frameRecord(enc.encode("record b, longer"));
  const file = new Uint8Array([...a, ...b]);
  const cases: [string, number, RegExp][] = [
    ["length", a.length + 0, /the length's CRC does not match/],
    ["length's CRC", a.length + 9, /the length's CRC does not match/],
    ["data", a.length + 14, /the data's CRC does not match/],
    ["data's CRC", file.length - 1, /the data's CRC does not match/],
  ];
  for (const [what, at, re] of cases) {
    const bad = file.slice();
    bad[at] ^= 0x10;
    const e = assertThrows(() => readRecords(bad), EventFileError) as EventFileError;
    assertEquals(e.offset, a.length, what);
    assert(e.message.includes(`record at byte offset ${a.length}`), e.message);
    assert(re.test(e.message) && /corrupted/.test(e.message), e.message);
  }
  // readEventFile says the same through its decoding.
  const bad = file.slice();
  bad[5] ^= 1;
  assertThrows(() => readEventFile(bad), EventFileError, "record at byte offset 0");
});

Deno.test("tfrecord: a file cut inside a record is an error, or the records before it", () => {
  const a = frameRecord(encodeEvent({ wallTime: 1, step: 0, fileVersion: FILE_VERSION }));
  const b = frameRecord(encodeEvent({ wallTime: 2, step: 1, summary: { value: [] } }));
  const file = new Uint8Array([...a, ...b]);
  for (const cut of [a.length + 5, a.length + 12, file.length - 1]) {
    const part = file.subarray(0, cut);
    assertThrows(() => readEventFile(part), EventFileError, `offset ${a.length}: the file ends`);
    const events = readEventFile(part, { allowTruncated: true });
    assertEquals(events.map((e) => e.fileVersion), [FILE_VERSION]);
  }
  assertEquals(readEventFile(file).length, 2);
  assertEquals(readEventFile(new Uint8Array()), []);
});

Deno.test("tfrecord: valid CRCs around bytes that are no Event are an error with the offset", () => {
  const good = frameRecord(encodeEvent({ wallTime: 1, step: 0, fileVersion: FILE_VERSION }));
  const junk = frameRecord(new Uint8Array([0x0a, 0x50, 0x01])); // field 1 claims 80 bytes
  const e = assertThrows(
    () => readEventFile(new Uint8Array([...good, ...junk])),
    EventFileError,
    "not a valid Event protobuf",
  ) as EventFileError;
  assertEquals(e.offset, good.length);
  assertThrows(
    () => readEventFile([1, 2, 3] as unknown as Uint8Array),
    TypeError,
    "readEventFile(bytes, opts): bytes must be a Uint8Array, got an array of 3",
  );
});

// ---------- the Event encoding ----------

Deno.test("event: encode and decode round trip, float32 values, NaN and infinities kept", () => {
  const png = new Uint8Array([1, 2, 3]);
  const ev: TfEvent = {
    wallTime: 1700000000.123456,
    step: 2 ** 40 + 3,
    summary: {
      value: [
        { tag: "a", simpleValue: 0.1 },
        { tag: "zero", simpleValue: 0 },
        { tag: "nan", simpleValue: NaN },
        { tag: "inf", simpleValue: Infinity },
        { tag: "-inf", simpleValue: -Infinity },
        { tag: "huge", simpleValue: 1e39 },
        { tag: "im", image: { height: 2, width: 3, colorspace: 4, encodedImageString: png } },
        { tag: "ünï/cödé", simpleValue: -2.5 },
      ],
    },
  };
  const back = decodeEvent(encodeEvent(ev));
  assertEquals(back.wallTime, ev.wallTime);
  assertEquals(back.step, ev.step);
  assertEquals(back.fileVersion, undefined);
  const v = back.summary!.value;
  assertEquals(v.map((x) => x.tag), ev.summary!.value.map((x) => x.tag));
  assertEquals(v[0].simpleValue, Math.fround(0.1));
  assertEquals(v[1].simpleValue, 0); // written although 0: simple_value is in a oneof
  assert(Number.isNaN(v[2].simpleValue), `${v[2].simpleValue}`);
  assertEquals([v[3].simpleValue, v[4].simpleValue], [Infinity, -Infinity]);
  assertEquals(v[5].simpleValue, Infinity); // past float32's range, as Python's protobuf stores it
  assertEquals(v[6].image, ev.summary!.value[6].image);
  assertEquals(v[6].simpleValue, undefined);
  assertEquals(v[7].simpleValue, -2.5);
  const start = decodeEvent(encodeEvent({ wallTime: 3, step: 9, sessionLog: { status: "start" } }));
  assertEquals(start, { wallTime: 3, step: 9, sessionLog: { status: "start" } });
  // Field by field, the bytes protoc would write: wall_time fixed64, step varint, file_version.
  const head = encodeEvent({ wallTime: 0.5, step: 300, fileVersion: "v" });
  assertEquals(
    Array.from(head),
    [0x09, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 0x10, 0xac, 0x02, 0x1a, 0x01, 0x76],
  );
});

Deno.test("event: fields and value kinds the reader does not know are skipped", () => {
  // Event { wall_time: 1, step: 7, source_metadata (field 10): {...},
  //         summary { value { tag "h", histo (5): {...} }, value { tag "s", simple_value 2 } } }
  const known = encodeEvent({
    wallTime: 1,
    step: 7,
    summary: { value: [{ tag: "s", simpleValue: 2 }] },
  });
  const histoValue = [0x0a, 0x06, 0x0a, 0x01, 0x68, 0x2a, 0x01, 0x00]; // Value {tag "h", 5: {}}
  const summaryIdx = known.indexOf(0x2a); // field 5, length-delimited: the summary
  const summaryBody = Array.from(known.subarray(summaryIdx + 2));
  const bytes = new Uint8Array([
    ...known.subarray(0, summaryIdx),
    0x52,
    0x02,
    0x0a,
    0x00, // field 10, a message of 2 bytes
    0x2a,
    histoValue.length + summaryBody.length,
    ...histoValue,
    ...summaryBody,
  ]);
  const e = decodeEvent(bytes);
  assertEquals(e.step, 7);
  assertEquals(e.summary!.value, [{ tag: "h" }, { tag: "s", simpleValue: 2 }]);
});

// ---------- the writer ----------

Deno.test("writer: file name, file version first, scalars, several values, an image", async () => {
  await withTempDir(async (dir) => {
    const sub = join(dir, "runs", "a");
    const png = await pngOf(5, 3);
    let path: string;
    {
      await using w = await EventFileWriter.open(sub);
      path = w.path;
      await w.addScalar("loss", 0.5, 0, 1000.25);
      await w.addScalar("loss", 0.25, 1);
      await w.addScalars(2, { "train/loss": 0.125, "train/lr": 0.1, knn: NaN }, 1002);
      await w.addScalars(3, {});
      await w.addImage("views", png, 3, 5, 4, 2);
    }
    const name = path.slice(sub.length + 1);
    const m = /^events\.out\.tfevents\.(\d{10})\.(.+)\.(\d+)\.(\d+)$/.exec(name);
    assert(m !== null, name);
    assertEquals(Number(m[3]), Deno.pid);
    assert(Math.abs(Number(m[1]) - Date.now() / 1000) < 60, name);
    assertEquals(await eventFiles(sub), [path]);

    const events = readEventFile(await Deno.readFile(path));
    assertEquals(events.length, 5);
    assertEquals(events[0].fileVersion, FILE_VERSION);
    assertEquals(events[0].summary, undefined);
    assert(Math.abs(events[0].wallTime - Date.now() / 1000) < 60);
    assertEquals(events[1], {
      wallTime: 1000.25,
      step: 0,
      summary: { value: [{ tag: "loss", simpleValue: 0.5 }] },
    });
    assertEquals(events[2].step, 1);
    assertEquals(events[3].wallTime, 1002);
    assertEquals(events[3].step, 2);
    const vals = events[3].summary!.value;
    assertEquals(vals.map((v) => v.tag), ["train/loss", "train/lr", "knn"]);
    assertEquals(vals[1].simpleValue, Math.fround(0.1));
    assert(Number.isNaN(vals[2].simpleValue));
    assertEquals(events[4].step, 2);
    assertEquals(events[4].summary!.value[0].tag, "views");
    assertEquals(events[4].summary!.value[0].image, {
      height: 3,
      width: 5,
      colorspace: 4,
      encodedImageString: png,
    });
  });
});

Deno.test("writer: each open makes a new file that sorts after the others; suffix", async () => {
  await withTempDir(async (dir) => {
    // TensorBoard reads a folder's files in name order. Twelve opens in a row, most in the same
    // second, cross a counter's 9 -> 10 (which sorts first as text) at least once.
    const paths: string[] = [];
    for (let i = 0; i < 12; i++) {
      using w = await EventFileWriter.open(dir, i === 11 ? { suffix: ".worker1" } : {});
      paths.push(w.path);
      await w.addScalar("x", i, i);
    }
    assertEquals(new Set(paths).size, 12);
    assert(paths[11].endsWith(".worker1"), paths[11]);
    assertEquals(await eventFiles(dir), paths);
    for (const [i, p] of paths.entries()) {
      const events = readEventFile(await Deno.readFile(p));
      assertEquals(events.map((e) => e.summary?.value[0].simpleValue), [undefined, i]);
    }
  });
});

Deno.test("writer: adds not awaited land whole and in order; flush waits for them", async () => {
  await withTempDir(async (dir) => {
    const w = await EventFileWriter.open(dir);
    const png = await pngOf(40, 30);
    const n = 200;
    const adds = Array.from(
      { length: n },
      (_, i) => i % 20 === 0 ? w.addImage("im", png, 30, 40, 4, i) : w.addScalar("s", i, i),
    );
    await w.flush();
    w.close();
    await Promise.all(adds);
    const events = readEventFile(await Deno.readFile(w.path));
    assertEquals(events.slice(1).map((e) => e.step), Array.from({ length: n }, (_, i) => i));
    assertEquals(events[21].summary!.value[0].image?.encodedImageString, png);
  });
});

Deno.test("writer: wrong arguments are TypeErrors naming the function and argument", async () => {
  await withTempDir(async (dir) => {
    using w = await EventFileWriter.open(dir);
    const png = await pngOf(4, 2);
    const sc = "EventFileWriter.addScalar(tag, value, step, wallTime)";
    const cases: [() => Promise<void>, string][] = [
      [() => w.addScalar("a", 1, -1), `${sc}: step must be an integer >= 0, got -1`],
      [() => w.addScalar("a", 1, 1.5), `${sc}: step must be an integer >= 0, got 1.5`],
      [() => w.addScalar("a", 1, "3" as unknown as number), `got "3"`],
      [() => w.addScalar("a", 1, 2 ** 53), `step must be an integer >= 0`],
      [() => w.addScalar("", 1, 0), `${sc}: tag must be a non-empty string, got ""`],
      [() => w.addScalar("a", "1" as unknown as number, 0), `${sc}: value must be a number`],
      [() => w.addScalar("a", 1, 0, NaN), `${sc}: wallTime must be a finite number`],
      [
        () => w.addScalars(0, { a: 1, b: null as unknown as number }),
        `EventFileWriter.addScalars(step, record, wallTime): record["b"] must be a number, got null`,
      ],
      [() => w.addScalars(0, [1] as unknown as Record<string, number>), `record must be an object`],
      [() => w.addScalars(-2, { a: 1 }), `addScalars(step, record, wallTime): step must be`],
      [() => w.addImage("i", png, 2, 4, 5, 0), `channels must be 1, 2, 3 or 4, got 5`],
      [() => w.addImage("i", png, 0, 4, 3, 0), `height must be an integer from 1`],
      [() => w.addImage("i", enc.encode("GIF89a..."), 2, 4, 3, 0), `png must be PNG file bytes`],
      [
        () => w.addImage("i", [1] as unknown as Uint8Array, 2, 4, 3, 0),
        `png must be a Uint8Array of PNG bytes, got an array of 1`,
      ],
    ];
    for (const [f, msg] of cases) await assertRejects(f, TypeError, msg);
    await assertRejects(
      () => w.addImage("i", png, 4, 2, 4, 0),
      RangeError,
      "the PNG is 4 wide and 2 high, but width 2 and height 4 were given",
    );
    await assertRejects(
      () => EventFileWriter.open(dir, { suffix: "/x" }),
      TypeError,
      "EventFileWriter.open(dir, opts): opts.suffix must be a string without '/'",
    );
    // Nothing of the refused calls reached the file.
    assertEquals(readEventFile(await Deno.readFile(w.path)).length, 1);
    w.close();
    await assertRejects(() => w.addScalar("a", 1, 0), Error, `writer for ${w.path} is closed`);
    w.close(); // idempotent
  });
});

Deno.test("writer: a folder that cannot be made is an error naming it", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a-file");
    await Deno.writeTextFile(file, "");
    const target = join(file, "events");
    await assertRejects(
      () => EventFileWriter.open(target),
      Error,
      `cannot create the folder ${target}`,
    );
  });
});

Deno.test({
  name: "writer: a full disk is an error naming the file and free space; nothing is written " +
    "after the cut record" + (canMount ? "" : " (ignored: needs root to mount a tmpfs)"),
  ignore: !canMount,
  async fn() {
    const mnt = await Deno.makeTempDir({ prefix: "byol-tb-full-" });
    assert(await mountTmpfs(mnt, "size=64k"), "mount tmpfs");
    try {
      using w = await EventFileWriter.open(join(mnt, "run"));
      await w.addScalar("loss", 1, 0);
      const whole = (await Deno.stat(w.path)).size;
      // Fill the file system to the last byte: the event file's own page keeps some room, so
      // the image below is cut short inside its record.
      {
        using f = await Deno.open(join(mnt, "filler"), { write: true, create: true });
        for (const size of [4096, 1]) {
          const block = new Uint8Array(size);
          try {
            for (;;) await f.write(block);
          } catch { /* ENOSPC */ }
        }
      }
      const noise = new Image(64, 64);
      let x = 1;
      for (let i = 0; i < noise.bitmap.length; i++) {
        // xorshift32: noise that PNG cannot compress
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        noise.bitmap[i] = x & 255;
      }
      const png = await noise.encode();
      assert(png.length > 8192, `${png.length}`);
      const e = await assertRejects(() => w.addImage("im", png, 64, 64, 4, 1), Error);
      assert(e.message.startsWith(`cannot write ${w.path}: `), e.message);
      assert(e.message.endsWith("check free space and permissions"), e.message);
      const cut = (await Deno.stat(w.path)).size;
      assert(cut > whole, `the image's record was not cut short (${whole} -> ${cut} bytes)`);
      // With room again, a later record must still not go after the cut one.
      await Deno.remove(join(mnt, "filler"));
      await assertRejects(() => w.addScalar("loss", 2, 2), Error, `cannot write ${w.path}`);
      await assertRejects(() => w.flush(), Error, `cannot write ${w.path}`);
      assertEquals((await Deno.stat(w.path)).size, cut);
      const bytes = await Deno.readFile(w.path);
      assertThrows(() => readEventFile(bytes), EventFileError, "the file ends inside");
      const events = readEventFile(bytes, { allowTruncated: true });
      assertEquals(events.map((e) => e.step), [0, 0]);
      assertEquals(events[1].summary!.value, [{ tag: "loss", simpleValue: 1 }]);
    } finally {
      await umount(mnt);
      await Deno.remove(mnt, { recursive: true });
    }
  },
});

// ---------- TensorBoard's own readers ----------

/** Python: every record of each file through the stub's record reader (both CRCs checked). */
const PY_RECORDS = `
import json, sys
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub import errors
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New, masked_crc32c
out = {"masked": masked_crc32c(b"123456789"), "files": []}
for path in sys.argv[1:]:
    reader = PyRecordReader_New(path.encode())
    events = []
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            break
        record = reader.record()
        ev = event_pb2.Event.FromString(record)
        events.append({"step": ev.step, "wall_time": ev.wall_time, "file_version": ev.file_version,
                       "what": ev.WhichOneof("what"), "tags": [v.tag for v in ev.summary.value],
                       "session_log": ev.session_log.status if ev.HasField("session_log") else None,
                       "same_bytes": ev.SerializeToString() == record})
    out["files"].append(events)
print(json.dumps(out))
`;

/** Python: EventAccumulator over a folder; scalars as [step, repr(value)], images' fields. */
const PY_ACCUMULATOR = `
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
ea = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "images": 0})
ea.Reload()
tags = ea.Tags()
out = {"scalars": {}, "images": {}}
for tag in tags["scalars"]:
    out["scalars"][tag] = [[e.step, repr(e.value)] for e in ea.Scalars(tag)]
for tag in tags["images"]:
    out["images"][tag] = [{"step": e.step, "width": e.width, "height": e.height,
                           "png": e.encoded_image_string.hex()} for e in ea.Images(tag)]
print(json.dumps(out))
`;

/** Python: event_file_loader.EventFileLoader over one file, with its compat migrations. */
const PY_LOADER = `
import json, sys
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.util import tensor_util
out = []
for ev in EventFileLoader(sys.argv[1]).Load():
    vals = [[v.tag, repr(float(tensor_util.make_ndarray(v.tensor)))] for v in ev.summary.value
            if v.HasField("tensor")]
    out.append({"step": ev.step, "file_version": ev.file_version, "values": vals})
print(json.dumps(out))
`;

interface Accumulated {
  scalars: Record<string, [number, string][]>;
  images: Record<string, { step: number; width: number; height: number; png: string }[]>;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: `tensorboard: its record reader checks both CRCs of every record, and protobuf ` +
    `serializes each Event to the bytes written${NO_TB}`,
  ignore: TB.python === undefined,
  async fn() {
    await withTempDir(async (dir) => {
      const w = await EventFileWriter.open(dir);
      await w.addSessionStart(0);
      for (let s = 0; s < 5; s++) await w.addScalars(s, { a: s, b: -s, c: NaN, d: -Infinity });
      await w.addScalar("big step", 0.5, 2 ** 40);
      await w.addImage("im", await pngOf(3, 3), 3, 3, 3, 5);
      w.close();
      const r = await runPythonJson<{
        masked: number;
        files: {
          step: number;
          file_version: string;
          what: string;
          tags: string[];
          session_log: number | null;
          same_bytes: boolean;
        }[][];
      }>(TB.python!, PY_RECORDS, [w.path]);
      assertEquals(r.masked, maskedCrc32c(enc.encode("123456789")));
      const events = r.files[0];
      assertEquals(events.length, 9);
      assertEquals(events[0].file_version, FILE_VERSION);
      assertEquals(events.map((e) => e.what), [
        "file_version",
        "session_log",
        ...Array(7).fill("summary"),
      ]);
      assertEquals(events[1].session_log, 1); // SessionLog.START
      assertEquals(events.slice(2).map((e) => e.step), [0, 1, 2, 3, 4, 2 ** 40, 5]);
      assertEquals(events[3].tags, ["a", "b", "c", "d"]);
      assertEquals(events[8].tags, ["im"]);
      assertEquals(events.map((e) => e.same_bytes), Array(9).fill(true));
    });
  },
});

Deno.test({
  name: `tensorboard: EventAccumulator reads scalars of several tags and steps, values sharing ` +
    `an Event, NaN and infinities, and a PNG image${NO_TB}`,
  ignore: TB.python === undefined,
  async fn() {
    await withTempDir(async (dir) => {
      const png = await pngOf(7, 4);
      {
        await using w = await EventFileWriter.open(dir);
        for (let s = 0; s < 6; s++) {
          await w.addScalar("loss", 2 / (s + 1), s * 10);
          if (s % 2 === 0) await w.addScalars(s * 10, { "knn/top1": s * 10.5, lr: 0.1 * s });
        }
        await w.addScalars(60, { "odd/nan": NaN, "odd/inf": Infinity, "odd/-inf": -Infinity });
        await w.addScalar("odd/nan", 1, 70);
        await w.addImage("views/pair", png, 4, 7, 4, 30);
      }
      const r = await runPythonJson<Accumulated>(TB.python!, PY_ACCUMULATOR, [dir]);
      const f32 = (x: number) => String(Math.fround(x));
      const pyRepr = (x: number) => {
        const s = f32(x);
        return /^-?\d+$/.test(s) ? `${s}.0` : s.replace(/e\+?/, "e"); // Python's repr of a float
      };
      assertEquals(
        r.scalars["loss"],
        [0, 1, 2, 3, 4, 5].map((s) => [s * 10, pyRepr(2 / (s + 1))] as [number, string]),
      );
      assertEquals(r.scalars["knn/top1"], [[0, "0.0"], [20, "21.0"], [40, "42.0"]]);
      assertEquals(r.scalars["lr"].map(([s]) => s), [0, 20, 40]);
      assertEquals(r.scalars["lr"][2][1], pyRepr(0.4));
      // TensorBoard keeps NaN and the infinities as they are.
      assertEquals(r.scalars["odd/nan"], [[60, "nan"], [70, "1.0"]]);
      assertEquals(r.scalars["odd/inf"], [[60, "inf"]]);
      assertEquals(r.scalars["odd/-inf"], [[60, "-inf"]]);
      assertEquals(r.images["views/pair"], [{ step: 30, width: 7, height: 4, png: hex(png) }]);
    });
  },
});

Deno.test({
  name: `tensorboard: event_file_loader reads the file version and the scalars (as tensors, ` +
    `its compat migration)${NO_TB}`,
  ignore: TB.python === undefined,
  async fn() {
    await withTempDir(async (dir) => {
      const w = await EventFileWriter.open(dir);
      await w.addScalar("loss", 0.75, 3);
      await w.addScalars(4, { loss: 0.5, acc: NaN });
      w.close();
      const r = await runPythonJson<
        { step: number; file_version: string; values: [string, string][] }[]
      >(TB.python!, PY_LOADER, [w.path]);
      assertEquals(r, [
        { step: 0, file_version: FILE_VERSION, values: [] },
        { step: 3, file_version: "", values: [["loss", "0.75"]] },
        { step: 4, file_version: "", values: [["loss", "0.5"], ["acc", "nan"]] },
      ]);
    });
  },
});

Deno.test({
  name: `tensorboard: a folder with two event files (a resumed run) shows the scalars of ` +
    `both${NO_TB}`,
  ignore: TB.python === undefined,
  async fn() {
    await withTempDir(async (dir) => {
      {
        using first = await EventFileWriter.open(dir);
        for (let s = 0; s < 4; s++) await first.addScalar("loss", s, s);
        await first.addScalar("only/first", 1, 0);
      }
      {
        using resumed = await EventFileWriter.open(dir);
        for (let s = 4; s < 7; s++) await resumed.addScalar("loss", 10 * s, s);
        await resumed.addScalar("only/second", 2, 6);
      }
      assertEquals((await eventFiles(dir)).length, 2);
      const r = await runPythonJson<Accumulated>(TB.python!, PY_ACCUMULATOR, [dir]);
      assertEquals(r.scalars["loss"], [
        [0, "0.0"],
        [1, "1.0"],
        [2, "2.0"],
        [3, "3.0"],
        [4, "40.0"],
        [5, "50.0"],
        [6, "60.0"],
      ]);
      assertEquals(r.scalars["only/first"], [[0, "1.0"]]);
      assertEquals(r.scalars["only/second"], [[6, "2.0"]]);
    });
  },
});

Deno.test({
  name: `tensorboard: a resumed run that logs steps again: both points show, unless the resumed ` +
    `file starts with addSessionStart, which drops the earlier run's${NO_TB}`,
  ignore: TB.python === undefined,
  async fn() {
    for (const sessionStart of [false, true]) {
      await withTempDir(async (dir) => {
        {
          // The first run logs steps 0-5; its last checkpoint was at step 3.
          using first = await EventFileWriter.open(dir);
          if (sessionStart) await first.addSessionStart(0);
          for (let s = 0; s < 6; s++) await first.addScalars(s, { loss: s, other: 100 + s });
        }
        {
          using resumed = await EventFileWriter.open(dir);
          if (sessionStart) await resumed.addSessionStart(3);
          for (let s = 3; s < 8; s++) await resumed.addScalar("loss", 10 * s, s);
        }
        const events = readEventFile(await Deno.readFile((await eventFiles(dir))[1]));
        if (sessionStart) assertEquals(events[1].sessionLog, { status: "start" });
        const r = await runPythonJson<Accumulated>(TB.python!, PY_ACCUMULATOR, [dir]);
        const first = [0, 1, 2, 3, 4, 5].map((s) => [s, `${s}.0`]);
        const resumed = [3, 4, 5, 6, 7].map((s) => [s, `${10 * s}.0`]);
        if (sessionStart) {
          // Every tag's points at steps >= 3 from before the START are gone.
          assertEquals(r.scalars["loss"], [...first.slice(0, 3), ...resumed]);
          assertEquals(r.scalars["other"], [[0, "100.0"], [1, "101.0"], [2, "102.0"]]);
        } else {
          assertEquals(r.scalars["loss"], [...first, ...resumed]);
          assertEquals(r.scalars["other"].length, 6);
        }
      });
    }
  },
});
