// Frames for the browser's tape checker (static/tapes/check.js), as tapes/archive/frames.py and
// png.py check them: every frame's PNG header, and the scale verified on the first and last.
import { fail, prefix, read } from "./check-common.js";
import { crc32 } from "./zipreader.js";

const MiB = 1024 * 1024;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
export const PNG_HEAD_BYTES = 33;
const VALID_DEPTHS = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** The PNG header of a frame ({width, height, bitDepth, colourType}); refuses a non-PNG and a
 * damaged header as the server does. */
export function parsePngHeader(head, name) {
  if (head.length < 8 || PNG_SIGNATURE.some((byte, i) => head[i] !== byte)) {
    throw fail("validation_frame_not_png", `${name} is not a PNG image.`, { entry: name });
  }
  if (head.length < PNG_HEAD_BYTES) throw fail("validation_corrupt", `${name} is a truncated PNG.`, { entry: name });
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const type = String.fromCharCode(...head.subarray(12, 16));
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const [depth, colour, compression, filter, interlace] = head.subarray(24, 29);
  const valid =
    view.getUint32(8) === 13 &&
    type === "IHDR" &&
    view.getUint32(29) === crc32(head, 12, 29) &&
    width > 0 &&
    height > 0 &&
    (VALID_DEPTHS[colour] || []).includes(depth) &&
    compression === 0 &&
    filter === 0 &&
    (interlace === 0 || interlace === 1);
  if (!valid) throw fail("validation_corrupt", `${name} has an invalid PNG header.`, { entry: name });
  return { width, height, bitDepth: depth, colourType: colour };
}

/** The most bytes any PNG of this header's shape can need (raw scanlines stored, interlacing,
 * ancillary chunks): a frame declaring more is a bomb. */
export function maxPngBytes(header) {
  const row = 1 + Math.ceil((header.width * CHANNELS[header.colourType] * header.bitDepth) / 8);
  const raw = header.height * row;
  return raw + Math.floor(raw / 50) + 8 * header.height + MiB;
}

export function checkFrameHeaders(bytes, frames, limits) {
  let first = null;
  return frames.map((entry, index) => {
    const header = parsePngHeader(prefix(bytes, entry, PNG_HEAD_BYTES), entry.name);
    if (index === 0 && (header.width > limits.max_width || header.height > limits.max_height)) {
      throw fail("validation_dimensions", `Frames are ${header.width}x${header.height}; the limit is ${limits.max_width}x${limits.max_height}.`, {
        width: header.width,
        height: header.height,
      });
    }
    first = first || header;
    if (header.width !== first.width || header.height !== first.height) {
      throw fail("validation_frame_size_mismatch", `${entry.name} is ${header.width}x${header.height}, frame000000.png is ${first.width}x${first.height}.`, {
        entry: entry.name,
      });
    }
    if (entry.size > maxPngBytes(header)) {
      throw fail("validation_uncompressed_too_large", `${entry.name} declares ${entry.size} bytes, more than any ${header.width}x${header.height} PNG needs.`, {
        entry: entry.name,
      });
    }
    return header;
  });
}

const gcd = (a, b) => (b ? gcd(b, a % b) : a);

/** Whether a decoded image ({width, height, channels, data}) is constant over every
 * factor x factor block. */
export function isBlockConstant(image, factor) {
  if (factor === 1) return true;
  const { width, height, channels, data } = image;
  const row = width * channels;
  for (let y = 0; y < height; y += 1) {
    const top = (y - (y % factor)) * row;
    for (let x = 0; x < width; x += 1) {
      const corner = top + (x - (x % factor)) * channels;
      const at = y * row + x * channels;
      for (let c = 0; c < channels; c += 1) if (data[at + c] !== data[corner + c]) return false;
    }
  }
  return true;
}

/** The verified scale: the largest factor dividing the claimed scale and both sides over whose
 * blocks every image is constant. */
export function verifiedScale(claimed, width, height, images) {
  const common = gcd(gcd(claimed, width), height);
  for (let f = common; f > 1; f -= 1) {
    if (common % f === 0 && images.every((image) => isBlockConstant(image, f))) return f;
  }
  return 1;
}

/** The browser's PNG decoder: RGBA samples, no colour management, alpha not premultiplied. */
export async function browserDecode(bytes) {
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }), {
    premultiplyAlpha: "none",
    colorSpaceConversion: "none",
  });
  try {
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    return { width, height, channels: 4, data: ctx.getImageData(0, 0, width, height).data };
  } finally {
    bitmap.close();
  }
}

export async function verifyScale(bytes, frames, header, claimed, decode) {
  const common = gcd(gcd(claimed, header.width), header.height);
  if (common === 1) return 1;
  const samples = frames.length === 1 ? [frames[0]] : [frames[0], frames[frames.length - 1]];
  const images = [];
  for (const entry of samples) {
    const data = read(bytes, entry);
    let image;
    try {
      image = await decode(data, entry.name);
    } catch (error) {
      throw fail("validation_corrupt", `${entry.name} could not be decoded as PNG.`, { entry: entry.name, error: String(error && error.message) });
    }
    if (image.width !== header.width || image.height !== header.height) {
      throw fail("validation_frame_size_mismatch", `${entry.name} decodes to ${image.width}x${image.height}; its header says ${header.width}x${header.height}.`, {
        entry: entry.name,
      });
    }
    images.push(image);
  }
  return verifiedScale(claimed, header.width, header.height, images);
}
