/** Frames laid out in a grid as one PNG (sharp encodes it). */
import sharp from "sharp";

export async function writeContactSheet(
  path: string,
  rgb: Uint8Array,
  count: number,
  size: number,
  columns = Math.ceil(Math.sqrt(count)),
): Promise<{ width: number; height: number }> {
  const rows = Math.max(1, Math.ceil(count / columns));
  const width = columns * size,
    height = rows * size;
  const sheet = new Uint8Array(width * height * 3);
  for (let n = 0; n < count; n++) {
    const ox = (n % columns) * size,
      oy = Math.floor(n / columns) * size;
    for (let y = 0; y < size; y++) sheet.set(rgb.subarray((n * size + y) * size * 3, (n * size + y + 1) * size * 3), ((oy + y) * width + ox) * 3);
  }
  await sharp(sheet, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path);
  return { width, height };
}
