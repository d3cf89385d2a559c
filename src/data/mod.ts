/**
 * Dataset readers: IDX (MNIST, Fashion-MNIST), CIFAR-10/100 binary, image
 * folders and CSV lists of images, all returning uint8 NCHW ImageSets; a
 * folder's decode cache mapped instead of read (`mapped: mappedCacheSet`).
 */
export { DataError } from "./errors.ts";
export { imageAt, imageBytes, labelAt, labelCounts, subset } from "./image_set.ts";
export type { ImageSet } from "./image_set.ts";
export {
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  fashionMnist,
  fashionMnistDir,
  idx,
} from "./idx.ts";
export type { FashionMnistOptions } from "./idx.ts";
export { cifar } from "./cifar.ts";
export type { CifarOptions } from "./cifar.ts";
export { imageFolder } from "./image_folder.ts";
export type { ImageFolderOptions } from "./image_folder.ts";
export { csvImages } from "./csv_images.ts";
export type { CsvImagesOptions } from "./csv_images.ts";
export type { DecodeOptions } from "./load_images.ts";
export {
  cachePath,
  defaultCacheDir,
  IMAGES_OFFSET,
  openCacheHeader,
  readCache,
} from "./decode_cache.ts";
export type { CacheHeader } from "./decode_cache.ts";
export { decodeToCache } from "./decode_to_cache.ts";
export type { DecodeToCacheOptions } from "./decode_to_cache.ts";
export { terminalProgress } from "./decode_progress.ts";
export type { DecodeProgress, DecodeStats } from "./decode_progress.ts";
export { resizePlanes } from "./resize.ts";
export {
  type Batch,
  epochOrder,
  ImageLoader,
  type LoaderOptions,
  type Placement,
  Xoshiro128,
} from "./loader.ts";
export { imagesTensor, isMapped, mapImages, mappedCacheSet, mappedImages } from "./mapped_set.ts";
