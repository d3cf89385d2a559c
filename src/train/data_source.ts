// Turns `--data` into a training set (and a labelled test set for the kNN
// monitor and the final evaluation, when there is one).
import { join } from "node:path";
import { DataError } from "../data/errors.ts";
import { cifar } from "../data/cifar.ts";
import { csvImages } from "../data/csv_images.ts";
import { fashionMnist } from "../data/idx.ts";
import { imageFolder } from "../data/image_folder.ts";
import { type ImageSet, subset } from "../data/image_set.ts";

export interface DataSource {
  /** What was loaded, for logs. */
  description: string;
  train: ImageSet;
  /** Labelled held-out images, or null. */
  test: ImageSet | null;
}

export interface DataRequest {
  data: string;
  imageSize: number;
  /** 0: the data's own channel count. */
  channels: number;
  /** First N training images only (0: all). */
  limit: number;
}

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

export async function loadDataSource(req: DataRequest): Promise<DataSource> {
  const { data } = req;
  const channels = req.channels === 0 ? undefined : req.channels;
  let src: DataSource;
  if (data === "fashion-mnist") {
    const train = await fashionMnist({ split: "train" });
    const test = await fashionMnist({ split: "test" });
    src = { description: "Fashion-MNIST (Debian dataset-fashion-mnist)", train, test };
  } else if (!(await exists(data))) {
    throw new DataError(
      `--data ${data}: no such file or folder; give "fashion-mnist", an image folder, ` +
        "a CSV of path,label rows or a CIFAR binary folder",
    );
  } else if (data.toLowerCase().endsWith(".csv")) {
    const size = req.imageSize;
    src = {
      description: `CSV ${data}`,
      train: await csvImages(data, { size, channels: (channels ?? 3) as 1 | 3 | 4 }),
      test: null,
    };
  } else if (!(await isDir(data))) {
    throw new DataError(
      `--data ${data}: a file that is not a .csv; give a folder of images, a CSV or a CIFAR folder`,
    );
  } else if (await isCifarDir(data)) {
    src = {
      description: `CIFAR ${data}`,
      train: await cifar(data, { split: "train" }),
      test: await cifar(data, { split: "test" }).catch(() => null),
    };
  } else {
    // A folder with train/ and val/ (or test/) gets both; else it is all training data.
    const opts = { size: req.imageSize, channels: (channels ?? 3) as 1 | 3 | 4 };
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
  if (channels !== undefined && src.train.channels !== channels) {
    throw new DataError(
      `--channels ${channels}: ${src.description} has ${src.train.channels}-channel images`,
    );
  }
  if (req.limit > 0) src.train = subset(src.train, req.limit);
  if (src.train.length < 2) {
    throw new DataError(`${src.description}: ${src.train.length} image(s); BYOL needs at least 2`);
  }
  if (src.test !== null && src.test.labels === null) src.test = null;
  return src;
}
