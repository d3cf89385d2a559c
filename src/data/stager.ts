/**
 * BatchStager: batches of images that stay on the host (a mapped decode cache
 * larger than the device, or any host set), gathered by index and sent to the
 * device one step ahead of use.
 *
 * stage(key, indices) gathers the rows into one of two reused host buffers
 * (pinned on a GPU, so the copy can be asynchronous) and, on a GPU, queues the
 * copy into a fresh device tensor on the copy stream (withCopyStream: joins
 * no other stream), so the copy overlaps the step the main stream computes. take(key) makes the main stream wait for
 * that copy (an event, not a host sync) and hands the batch over. A buffer is
 * refilled only after its previous copy finished (its event), two steps
 * later. On the CPU the same path runs without streams: the gathered rows are
 * the batch (a test vehicle for the bookkeeping, and what `placement: "host"`
 * does there).
 *
 * Ordering without record_stream: the device tensor is allocated on the main
 * stream, which records an event after the allocation; the copy stream waits
 * for it before writing, so no earlier user of that memory is overtaken, and
 * the main stream waits for the copy before any use.
 */
import { empty, tensor } from "../../ffi/creation.ts";
import type { Device } from "../../ffi/device.ts";
import { adviseRows } from "../../ffi/files.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import {
  copyNonBlocking,
  CudaEvent,
  indexSelectOut,
  pinMemory,
  withCopyStream,
} from "../../ffi/transfer.ts";

interface Slot {
  buffer: Tensor | null;
  /** Recorded on the side stream after the buffer's last copy (GPU only). */
  copied: CudaEvent | null;
}

interface Staged {
  key: string;
  images: Tensor;
  ready: CudaEvent | null;
}

export class BatchStager implements Disposable {
  readonly #host: Tensor;
  readonly #device: string;
  readonly #gpu: boolean;
  readonly #slots: Slot[] = [{ buffer: null, copied: null }, { buffer: null, copied: null }];
  #next = 0;
  #staged: Staged | null = null;
  #allocated: CudaEvent | null = null;

  /** `host`: uint8 (N, C, H, W) on the CPU (the caller keeps it alive); `device`: the batches'. */
  constructor(host: Tensor, device: Device | string) {
    this.#host = host;
    this.#device = String(device);
    this.#gpu = this.#device !== "cpu";
  }

  /** Batches staged and not yet taken (0 or 1). */
  get pending(): number {
    return this.#staged === null ? 0 : 1;
  }

  /** Gathers rows `indices` and starts their copy to the device, under `key`. */
  stage(key: string, indices: Int32Array): void {
    this.#drop();
    const slot = this.#slots[this.#next];
    this.#next ^= 1;
    // The buffer's previous copy (two stages ago) must be done before refilling it.
    slot.copied?.synchronize();
    const [, c, h, w] = this.#host.shape;
    const n = indices.length;
    if (slot.buffer === null || slot.buffer.size(0) !== n) {
      slot.buffer?.dispose();
      const plain = empty([n, c, h, w], { dtype: "uint8" });
      slot.buffer = (this.#gpu ? pinMemory(plain) : plain).keep();
      if (this.#gpu) plain.dispose();
    }
    const buffer = slot.buffer;
    {
      using idx = tensor(indices, { dtype: "int64" });
      indexSelectOut(this.#host, 0, idx, buffer);
    }
    if (!this.#gpu) {
      this.#staged = { key, images: buffer.clone().keep(), ready: null };
      return;
    }
    const images = empty([n, c, h, w], { dtype: "uint8", device: this.#device }).keep();
    this.#allocated ??= new CudaEvent(this.#device);
    slot.copied ??= new CudaEvent(this.#device);
    this.#allocated.record();
    const allocated = this.#allocated, copied = slot.copied;
    withCopyStream(this.#device, () => {
      allocated.wait();
      copyNonBlocking(images, buffer);
      copied.record();
    });
    this.#staged = { key, images, ready: copied };
  }

  /**
   * The batch staged under `key` (staging it now when another or none is),
   * ready for the main stream; a new tensor in the caller's scope.
   */
  take(key: string, indices: Int32Array): Tensor {
    if (this.#staged?.key !== key) this.stage(key, indices);
    const s = this.#staged!;
    this.#staged = null;
    s.ready?.wait();
    // A new handle in the caller's scope; the kept one goes.
    const out = s.images.narrow(0, 0, s.images.size(0));
    s.images.dispose();
    return out;
  }

  /** Asks the kernel to read rows `indices` of the host images ahead (a mapped cache). */
  advise(indices: Int32Array): void {
    adviseRows(this.#host, indices, "willneed");
  }

  #drop(): void {
    if (this.#staged === null) return;
    // A copy still in flight writes into it: wait before freeing.
    this.#staged.ready?.synchronize();
    this.#staged.images.dispose();
    this.#staged = null;
  }

  dispose(): void {
    this.#drop();
    for (const s of this.#slots) {
      s.copied?.synchronize();
      s.buffer?.dispose();
      s.copied?.dispose();
      s.buffer = null;
      s.copied = null;
    }
    this.#allocated?.dispose();
    this.#allocated = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
