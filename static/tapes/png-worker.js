// One PNG encoder of the packing worker's pool (pack-worker.js): RGBA pixels in, PNG bytes out.
//
// Message in:  {index, pixels: ArrayBuffer (transferred), width, height}
// Message out: {index, png: ArrayBuffer (transferred)} or {index, error}
import { encodePng } from "./png.js";

onmessage = (event) => {
  const { index, pixels, width, height } = event.data;
  try {
    const png = encodePng(new Uint8ClampedArray(pixels), width, height);
    postMessage({ index, png: png.buffer }, [png.buffer]);
  } catch (error) {
    postMessage({ index, error: String(error && error.message ? error.message : error) });
  }
};
