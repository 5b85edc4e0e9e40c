/**
 * Images: decoding (any ImageInput -> 8-bit RGB with PIL's conversion rules), Pillow-exact resampling,
 * diffusers / transformers pre- and post-processing, and PNG writing with text metadata.
 */
import { encodePngSync } from "./png.js";

export {
  decodeImage, loadImageGray, loadImageRGB, toGray, toRGB,
} from "./load.js";
export type { DecodedImage, GrayImage, ImageInput, RawImageInput, RGBImage } from "./load.js";
export { Resample, resampleName, resizeImage } from "./resample.js";
export type { PixelBuffer, ResampleName } from "./resample.js";
export {
  centerCrop, clipImageProcessor, defaultHeightWidth, imageVariationPreprocess, postprocessImage, preprocessImage,
  preprocessMask, shortestEdgeSize,
} from "./processors.js";
export type { ClipImageProcessor, ImageVariationPreprocessOptions } from "./processors.js";
export { crc32, decodePngText, encodePngSync } from "./png.js";

/**
 * Encodes an 8-bit image (RGB by default; `channels` 1-4 accepted) as PNG, storing `textMetadata` as tEXt
 * chunks (iTXt, UTF-8, for values that are not Latin-1).
 */
export async function encodePng(
  img: { data: Uint8Array; width: number; height: number; channels?: number },
  textMetadata?: Record<string, string>,
): Promise<Buffer> {
  return encodePngSync(img, textMetadata);
}
