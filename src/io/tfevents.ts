/**
 * TensorBoard event files, written and read in TypeScript (no TensorFlow involved).
 *
 * A file is a sequence of TFRecords, framed as TensorFlow's `RecordWriter` frames them:
 *
 *   uint64 LE  length of the data
 *   uint32 LE  masked CRC32C of those 8 length bytes
 *   bytes      data: one serialized `Event` protobuf (tensorflow/core/util/event.proto)
 *   uint32 LE  masked CRC32C of the data
 *
 * The mask is `((crc >>> 15) | (crc << 17)) + 0xa282ead8` modulo 2^32. The first record carries
 * `file_version: "brain.Event:2"`; each later one a `Summary` of scalars (`simple_value`) or
 * PNG images (`Summary.Image`), or a `session_log` START marking a resumed run's restart. The protobuf wire encoding goes through @bufbuild/protobuf's
 * BinaryWriter / BinaryReader (deps/protobuf.ts); the few messages are encoded by field number
 * here, with no generated code.
 *
 * Argument checks follow ffi/args.ts's messages (`sig: arg must be ..., got ...`) but do not
 * import it: ffi/args.ts loads the libtorch shim, and this module stays pure TypeScript.
 *
 * @module
 */

import { join } from "node:path";
import { BinaryReader, BinaryWriter, WireType } from "../../deps/protobuf.ts";

/** The `file_version` of the first record, as TensorFlow and TensorBoard write it. */
export const FILE_VERSION = "brain.Event:2";

// ---------- CRC32C ----------

/** CRC32C (Castagnoli): the reflected polynomial 0x82F63B78, one table entry per byte value. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32C of `bytes` (crc32c("123456789") is 0xE3069283), as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's mask of a CRC: rotated right by 15 bits, plus 0xa282ead8, modulo 2^32. */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** The masked CRC32C of `bytes`, as a TFRecord stores it. */
export function maskedCrc32c(bytes: Uint8Array): number {
  return maskCrc(crc32c(bytes));
}

// ---------- TFRecord framing ----------

/** One TFRecord around `data`: length, its masked CRC, the data, the data's masked CRC. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** A malformed event file: a bad CRC, a cut-short record, an undecodable Event. */
export class EventFileError extends Error {
  /** Byte offset of the record the problem is in. */
  readonly offset: number;

  constructor(offset: number, problem: string, options?: ErrorOptions) {
    super(`event file: record at byte offset ${offset}: ${problem}`, options);
    this.name = "EventFileError";
    this.offset = offset;
  }
}

/**
 * The data of every TFRecord in `bytes`, with its byte offset, both CRCs checked. A file that
 * ends inside a record is an error unless `allowTruncated` (a write cut short by a crash:
 * the records before it are returned, as TensorBoard reads them).
 */
export function readRecords(
  bytes: Uint8Array,
  allowTruncated = false,
): { offset: number; data: Uint8Array }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { offset: number; data: Uint8Array }[] = [];
  let off = 0;
  while (off < bytes.length) {
    const truncated = (what: string) => {
      if (allowTruncated) return true;
      throw new EventFileError(
        off,
        `the file ends inside the record's ${what} (${bytes.length - off} bytes left): a write ` +
          "cut short, e.g. by a crash; pass { allowTruncated: true } to read the records before it",
      );
    };
    if (bytes.length - off < 12) {
      if (truncated("header")) break;
    }
    const header = bytes.subarray(off, off + 8);
    const headerCrc = view.getUint32(off + 8, true);
    if (maskedCrc32c(header) !== headerCrc) {
      throw new EventFileError(
        off,
        `the length's CRC does not match (stored 0x${hex32(headerCrc)}, computed ` +
          `0x${hex32(maskedCrc32c(header))}): the file is corrupted`,
      );
    }
    const length = view.getBigUint64(off, true);
    if (length > BigInt(bytes.length - off - 16)) {
      if (truncated(`data (length ${length})`)) break;
    }
    const n = Number(length);
    const data = bytes.subarray(off + 12, off + 12 + n);
    const dataCrc = view.getUint32(off + 12 + n, true);
    if (maskedCrc32c(data) !== dataCrc) {
      throw new EventFileError(
        off,
        `the data's CRC does not match (stored 0x${hex32(dataCrc)}, computed ` +
          `0x${hex32(maskedCrc32c(data))}): the file is corrupted`,
      );
    }
    out.push({ offset: off, data });
    off += 16 + n;
  }
  return out;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}

// ---------- Event protobufs ----------

/** `Summary.Image`: a PNG with its size and channel count. */
export interface TfImage {
  height: number;
  width: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
  colorspace: number;
  /** The PNG file's bytes. */
  encodedImageString: Uint8Array;
}

/** One `Summary.Value`: a tag and a scalar or an image (other kinds are skipped when read). */
export interface TfValue {
  tag: string;
  simpleValue?: number;
  image?: TfImage;
}

/** `SessionLog.status`. */
export type SessionStatus = "unspecified" | "start" | "stop" | "checkpoint";

const SESSION_STATUS: readonly SessionStatus[] = ["unspecified", "start", "stop", "checkpoint"];

/** An `Event`, with the fields this module writes. */
export interface TfEvent {
  /** Seconds since the Unix epoch. */
  wallTime: number;
  step: number;
  /** Only in a file's first record: "brain.Event:2". */
  fileVersion?: string;
  summary?: { value: TfValue[] };
  /** `session_log`: a (re)start of the run at `step` (EventFileWriter.addSessionStart). */
  sessionLog?: { status: SessionStatus };
}

/**
 * Serializes an Event (field numbers of tensorflow/core/util/event.proto) to the bytes protobuf's
 * own serializer writes: fields in number order, proto3's zeros left out (but for a value in a
 * oneof, which is written even when 0).
 */
export function encodeEvent(e: TfEvent): Uint8Array {
  const w = new BinaryWriter();
  if (e.wallTime !== 0) w.tag(1, WireType.Bit64).double(e.wallTime);
  if (e.step !== 0) w.tag(2, WireType.Varint).int64(e.step);
  if (e.fileVersion !== undefined) w.tag(3, WireType.LengthDelimited).string(e.fileVersion);
  if (e.summary !== undefined) {
    w.tag(5, WireType.LengthDelimited).fork();
    for (const v of e.summary.value) {
      w.tag(1, WireType.LengthDelimited).fork();
      w.tag(1, WireType.LengthDelimited).string(v.tag);
      // simple_value and image sit in Summary.Value's oneof, so a 0 is written too. A number
      // past float32's range becomes ±Infinity (Math.fround), as Python's protobuf stores it;
      // the writer refuses such a number unrounded.
      if (v.simpleValue !== undefined) w.tag(2, WireType.Bit32).float(Math.fround(v.simpleValue));
      if (v.image !== undefined) {
        const im = v.image;
        w.tag(4, WireType.LengthDelimited).fork();
        w.tag(1, WireType.Varint).int32(im.height);
        w.tag(2, WireType.Varint).int32(im.width);
        w.tag(3, WireType.Varint).int32(im.colorspace);
        w.tag(4, WireType.LengthDelimited).bytes(im.encodedImageString);
        w.join();
      }
      w.join();
    }
    w.join();
  }
  if (e.sessionLog !== undefined) {
    w.tag(7, WireType.LengthDelimited).fork();
    w.tag(1, WireType.Varint).int32(SESSION_STATUS.indexOf(e.sessionLog.status));
    w.join();
  }
  return w.finish();
}

/** Reads fields of one message until its end; `field` returns false for one it does not know. */
function readMessage(
  bytes: Uint8Array,
  field: (r: BinaryReader, no: number, type: WireType) => boolean,
): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, type] = r.tag();
    if (!field(r, no, type)) r.skip(type, no);
  }
}

function decodeImage(bytes: Uint8Array): TfImage {
  const im: TfImage = { height: 0, width: 0, colorspace: 0, encodedImageString: new Uint8Array() };
  readMessage(bytes, (r, no, type) => {
    if (type === WireType.Varint && no >= 1 && no <= 3) {
      const v = r.int32();
      if (no === 1) im.height = v;
      else if (no === 2) im.width = v;
      else im.colorspace = v;
    } else if (no === 4 && type === WireType.LengthDelimited) {
      im.encodedImageString = r.bytes().slice();
    } else return false;
    return true;
  });
  return im;
}

function decodeValue(bytes: Uint8Array): TfValue {
  const v: TfValue = { tag: "" };
  readMessage(bytes, (r, no, type) => {
    if (no === 1 && type === WireType.LengthDelimited) v.tag = r.string();
    else if (no === 2 && type === WireType.Bit32) v.simpleValue = r.float();
    else if (no === 4 && type === WireType.LengthDelimited) v.image = decodeImage(r.bytes());
    else return false;
    return true;
  });
  return v;
}

/** Parses a serialized Event; unknown fields and value kinds (histograms, tensors) are skipped. */
export function decodeEvent(bytes: Uint8Array): TfEvent {
  const e: TfEvent = { wallTime: 0, step: 0 };
  readMessage(bytes, (r, no, type) => {
    if (no === 1 && type === WireType.Bit64) e.wallTime = r.double();
    else if (no === 2 && type === WireType.Varint) {
      const s = BigInt(r.int64());
      if (s < BigInt(Number.MIN_SAFE_INTEGER) || s > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new Error(`step ${s} is beyond 2^53 and has no exact number`);
      }
      e.step = Number(s);
    } else if (no === 3 && type === WireType.LengthDelimited) e.fileVersion = r.string();
    else if (no === 5 && type === WireType.LengthDelimited) {
      const value: TfValue[] = [];
      readMessage(r.bytes(), (s, n, t) => {
        if (n !== 1 || t !== WireType.LengthDelimited) return false;
        value.push(decodeValue(s.bytes()));
        return true;
      });
      e.summary = { value };
    } else if (no === 7 && type === WireType.LengthDelimited) {
      const log: { status: SessionStatus } = { status: "unspecified" };
      readMessage(r.bytes(), (s, n, t) => {
        if (n !== 1 || t !== WireType.Varint) return false; // checkpoint_path, msg
        log.status = SESSION_STATUS[s.int32()] ?? "unspecified";
        return true;
      });
      e.sessionLog = log;
    } else return false;
    return true;
  });
  return e;
}

/** Options of readEventFile. */
export interface ReadEventFileOptions {
  /**
   * Return the records before a last one that the file ends inside (a crash mid-write), as
   * TensorBoard does, instead of throwing. Default false.
   */
  allowTruncated?: boolean;
}

/**
 * Every Event of an event file's bytes, in order, both CRCs of each record checked. A bad CRC
 * or an undecodable Event is an EventFileError naming the record's byte offset.
 */
export function readEventFile(bytes: Uint8Array, opts: ReadEventFileOptions = {}): TfEvent[] {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `readEventFile(bytes, opts): bytes must be a Uint8Array, got ${show(bytes)}`,
    );
  }
  return readRecords(bytes, opts.allowTruncated ?? false).map(({ offset, data }) => {
    try {
      return decodeEvent(data);
    } catch (e) {
      throw new EventFileError(offset, `not a valid Event protobuf: ${(e as Error).message}`, {
        cause: e,
      });
    }
  });
}

// ---------- argument checks ----------

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "bigint") return `${v}n`;
  if (v === null || typeof v !== "object") return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  const name = (Object.getPrototypeOf(v)?.constructor as { name?: string } | undefined)?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}

function typeError(sig: string, arg: string, must: string, got: unknown): TypeError {
  return new TypeError(`${sig}: ${arg} must be ${must}, got ${show(got)}`);
}

function checkStep(sig: string, v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) {
    throw typeError(sig, "step", "an integer >= 0", v);
  }
  return v as number;
}

function checkTag(sig: string, arg: string, v: unknown): string {
  if (typeof v !== "string" || v === "") throw typeError(sig, arg, "a non-empty string", v);
  return v;
}

function checkValue(sig: string, arg: string, v: unknown): number {
  // NaN and ±Infinity are valid float32 values, and TensorBoard shows them: kept.
  if (typeof v !== "number") throw typeError(sig, arg, "a number", v);
  return v;
}

function checkWallTime(sig: string, v: unknown): number {
  if (v === undefined) return Date.now() / 1000;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw typeError(sig, "wallTime", "a finite number of seconds since the epoch", v);
  }
  return v;
}

const INT32_MAX = 2 ** 31 - 1;

function checkSize(sig: string, arg: string, v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1 || (v as number) > INT32_MAX) {
    throw typeError(sig, arg, "an integer from 1 to 2^31 - 1", v);
  }
  return v as number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Checks that `png` is a PNG (signature, IHDR first) of `width` x `height`. */
function checkPng(sig: string, png: unknown, height: number, width: number): Uint8Array {
  if (!(png instanceof Uint8Array)) throw typeError(sig, "png", "a Uint8Array of PNG bytes", png);
  const isPng = png.length >= 24 && PNG_SIGNATURE.every((b, i) => png[i] === b) &&
    String.fromCharCode(...png.subarray(12, 16)) === "IHDR";
  if (!isPng) {
    throw new TypeError(
      `${sig}: png must be PNG file bytes (TensorBoard shows PNGs), got ` +
        `${png.length} bytes not starting with a PNG signature and IHDR chunk`,
    );
  }
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const [w, h] = [view.getUint32(16), view.getUint32(20)];
  if (w !== width || h !== height) {
    throw new RangeError(
      `${sig}: the PNG is ${w} wide and ${h} high, but width ${width} and height ${height} ` +
        "were given",
    );
  }
  return png;
}

// ---------- the writer ----------

/** Options of EventFileWriter.open. */
export interface EventFileWriterOptions {
  /** Appended to the file's name (TensorBoard's `filename_suffix`), e.g. ".worker0". */
  suffix?: string;
}

// Process-wide, like TensorBoard's _global_uid: two writers opened in the same second get
// different names.
let fileCounter = 0;

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    // No --allow-sys: the name only has to be unique with the pid and counter beside it.
    return "localhost";
  }
}

/**
 * Whether `name` sorts at or before an event file of the same second (`seconds`) in `dir`.
 * Files of later seconds (another host's clock running ahead) are not considered.
 */
async function sortsBefore(dir: string, name: string, seconds: string): Promise<boolean> {
  const prefix = `events.out.tfevents.${seconds}.`;
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith(prefix) && e.name >= name) return true;
    }
  } catch {
    // Unlistable: the open below says what is wrong.
  }
  return false;
}

function writeError(path: string, e: unknown): Error {
  return new Error(
    `cannot write ${path}: ${(e as Error).message}; check free space and permissions`,
    { cause: e },
  );
}

/**
 * Writes a TensorBoard event file: `await EventFileWriter.open(dir)`, on a resume
 * `addSessionStart(step)`, then `addScalar`, `addScalars` and `addImage` per step. Every record
 * goes to the file whole, in the order the calls were made, before the call's promise resolves
 * (no buffering: a crash loses nothing that was awaited). A wrong argument rejects the call's
 * promise and writes nothing. After a failed write (a full disk) every later call fails with
 * the same error, so nothing follows a record cut short. `flush()` waits for the writes under
 * way and makes them durable (fdatasync); `close()` (`using`) closes the file at once, so await
 * the adds first; `await using` waits for them.
 */
export class EventFileWriter {
  /** The event file's path: `<dir>/events.out.tfevents.<seconds>.<host>.<pid>.<n><suffix>`. */
  readonly path: string;
  #file: Deno.FsFile | null;
  #queue: Promise<void> = Promise.resolve();
  #failed: Error | null = null;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /**
   * Creates `dir` (with its parents) and a new event file in it, and writes the file-version
   * record. Each open makes a file of its own: a resumed run adds a second file to the same
   * folder. TensorBoard reads a folder's files in name order, so the new name sorts after those
   * of the files already there (when one of the same second would sort after it, the open waits
   * for the next second, under a second).
   */
  static async open(dir: string, opts: EventFileWriterOptions = {}): Promise<EventFileWriter> {
    const sig = "EventFileWriter.open(dir, opts)";
    if (typeof dir !== "string" || dir === "") throw typeError(sig, "dir", "a folder path", dir);
    if (typeof opts !== "object" || opts === null) {
      throw typeError(sig, "opts", "an options object {suffix}", opts);
    }
    const suffix = opts.suffix ?? "";
    if (typeof suffix !== "string" || suffix.includes("/")) {
      throw typeError(sig, "opts.suffix", "a string without '/'", suffix);
    }
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (e) {
      throw new Error(
        `cannot create the folder ${dir}: ${(e as Error).message}; check permissions`,
        { cause: e },
      );
    }
    const host = hostname();
    for (;;) {
      const seconds = String(Math.floor(Date.now() / 1000)).padStart(10, "0");
      const name = `events.out.tfevents.${seconds}.${host}.${Deno.pid}.${fileCounter++}${suffix}`;
      if (await sortsBefore(dir, name, seconds)) {
        // TensorBoard reads a folder's event files in name order, so a file opened before ours
        // in this second whose name sorts after ours (this process's counter 9 after 10, another
        // process's pid) would be read after ours. The next second's names sort after it.
        await new Promise((r) => setTimeout(r, 1005 - (Date.now() % 1000)));
        continue;
      }
      const path = join(dir, name);
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { write: true, createNew: true });
      } catch (e) {
        // Another writer took the name (a process with the same pid in another container).
        if (e instanceof Deno.errors.AlreadyExists) continue;
        throw writeError(path, e);
      }
      const w = new EventFileWriter(path, file);
      try {
        await w.#append({ wallTime: Date.now() / 1000, step: 0, fileVersion: FILE_VERSION });
      } catch (e) {
        w.close();
        throw e;
      }
      return w;
    }
  }

  /** Writes one scalar (a float32: NaN and ±Infinity are kept) at `step`. */
  async addScalar(tag: string, value: number, step: number, wallTime?: number): Promise<void> {
    const sig = "EventFileWriter.addScalar(tag, value, step, wallTime)";
    const v = { tag: checkTag(sig, "tag", tag), simpleValue: checkValue(sig, "value", value) };
    await this.#append({
      wallTime: checkWallTime(sig, wallTime),
      step: checkStep(sig, step),
      summary: { value: [v] },
    });
  }

  /**
   * Writes several scalars at `step` in one Event, `{ tag: value }` (an empty record writes
   * nothing).
   */
  async addScalars(
    step: number,
    record: Record<string, number>,
    wallTime?: number,
  ): Promise<void> {
    const sig = "EventFileWriter.addScalars(step, record, wallTime)";
    const s = checkStep(sig, step);
    if (typeof record !== "object" || record === null || Array.isArray(record)) {
      throw typeError(sig, "record", "an object { tag: value }", record);
    }
    const value = Object.entries(record).map(([tag, v]) => ({
      tag: checkTag(sig, "a tag of record", tag),
      simpleValue: checkValue(sig, `record[${JSON.stringify(tag)}]`, v),
    }));
    const t = checkWallTime(sig, wallTime);
    if (value.length > 0) await this.#append({ wallTime: t, step: s, summary: { value } });
  }

  /**
   * Writes a PNG image at `step`: `png` is the file's bytes, `height` x `width` its size (checked
   * against the PNG's header), `channels` 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA).
   */
  async addImage(
    tag: string,
    png: Uint8Array,
    height: number,
    width: number,
    channels: number,
    step: number,
    wallTime?: number,
  ): Promise<void> {
    const sig = "EventFileWriter.addImage(tag, png, height, width, channels, step, wallTime)";
    checkTag(sig, "tag", tag);
    checkSize(sig, "height", height);
    checkSize(sig, "width", width);
    if (!(channels === 1 || channels === 2 || channels === 3 || channels === 4)) {
      throw typeError(sig, "channels", "1, 2, 3 or 4", channels);
    }
    checkPng(sig, png, height, width);
    const image = { height, width, colorspace: channels, encodedImageString: png };
    await this.#append({
      wallTime: checkWallTime(sig, wallTime),
      step: checkStep(sig, step),
      summary: { value: [{ tag, image }] },
    });
  }

  /**
   * Marks a (re)start of the run at `step` (an Event whose `session_log` is START), as
   * TensorFlow's training sessions do. TensorBoard then drops every point it read before this
   * record at a step >= `step`: for a run resumed from a checkpoint of `step`, the points the
   * earlier run logged after that checkpoint, which the resumed run logs again. Without it,
   * TensorBoard shows both runs' points for those steps. Call it right after `open`.
   */
  async addSessionStart(step: number, wallTime?: number): Promise<void> {
    const sig = "EventFileWriter.addSessionStart(step, wallTime)";
    await this.#append({
      wallTime: checkWallTime(sig, wallTime),
      step: checkStep(sig, step),
      sessionLog: { status: "start" },
    });
  }

  /** Waits for the writes under way, then fdatasyncs the file so its records survive a crash. */
  async flush(): Promise<void> {
    await this.#queue;
    if (this.#failed) throw this.#failed;
    if (this.#file === null) throw new Error(`event file writer for ${this.path} is closed`);
    try {
      await this.#file.syncData();
    } catch (e) {
      throw writeError(this.path, e);
    }
  }

  /** Closes the file (idempotent). Await the adds first: one still under way then fails. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using`: waits for the writes under way, flushes, then closes. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      if (this.#file !== null) await this.flush();
    } finally {
      this.close();
    }
  }

  /** Queues one record; records are written one after another, each whole. */
  #append(event: TfEvent): Promise<void> {
    if (this.#file === null) {
      return Promise.reject(new Error(`event file writer for ${this.path} is closed`));
    }
    const record = frameRecord(encodeEvent(event));
    const p = this.#queue.then(() => this.#write(record));
    this.#queue = p.catch(() => {});
    return p;
  }

  async #write(record: Uint8Array): Promise<void> {
    // After a failed write the file may end inside a record: nothing more goes after it.
    if (this.#failed) throw this.#failed;
    const file = this.#file;
    if (file === null) throw new Error(`event file writer for ${this.path} was closed`);
    try {
      for (let off = 0; off < record.length;) off += await file.write(record.subarray(off));
    } catch (e) {
      if (this.#file === null) {
        throw new Error(`event file writer for ${this.path} was closed during a write`);
      }
      this.#failed = writeError(this.path, e);
      throw this.#failed;
    }
  }
}
