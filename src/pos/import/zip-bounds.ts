import { inflateRawSync } from 'node:zlib';

/**
 * An XLSX file is a ZIP archive, and the library that reads it (exceljs through JSZip) unpacks
 * every entry into memory before anything can be counted: a few megabytes of zip bomb become
 * gigabytes. This walks the archive's central directory first and inflates each entry with a
 * ceiling (`maxOutputLength`), so the real unpacked size is known — a declared size can lie —
 * and refuses the file before the library sees it.
 *
 * Answers the unpacked total, or a reason to refuse: `not_zip` (no readable directory), `zip64`
 * and `encrypted` (not written by a spreadsheet program for 5,000 rows), `method` (neither stored
 * nor deflated), `too_large` (over `limit` bytes in all).
 */
export function unpackedZipSize(
  bytes: Buffer,
  limit: number,
): { size: number } | { refused: 'not_zip' | 'zip64' | 'encrypted' | 'method' | 'too_large' } {
  const end = endOfCentralDirectory(bytes);
  if (end < 0) return { refused: 'not_zip' };
  const entries = bytes.readUInt16LE(end + 10);
  const directoryOffset = bytes.readUInt32LE(end + 16);
  if (entries === 0xffff || directoryOffset === 0xffffffff) return { refused: 'zip64' };
  let at = directoryOffset;
  let total = 0;
  for (let i = 0; i < entries; i++) {
    if (at + 46 > bytes.length || bytes.readUInt32LE(at) !== 0x02014b50)
      return { refused: 'not_zip' };
    const flags = bytes.readUInt16LE(at + 8);
    const method = bytes.readUInt16LE(at + 10);
    const compressed = bytes.readUInt32LE(at + 20);
    const declared = bytes.readUInt32LE(at + 24);
    const local = bytes.readUInt32LE(at + 42);
    if (compressed === 0xffffffff || declared === 0xffffffff || local === 0xffffffff)
      return { refused: 'zip64' };
    if (flags & 0x1) return { refused: 'encrypted' };
    at +=
      46 + bytes.readUInt16LE(at + 28) + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);

    if (local + 30 > bytes.length || bytes.readUInt32LE(local) !== 0x04034b50)
      return { refused: 'not_zip' };
    const start = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    if (start + compressed > bytes.length) return { refused: 'not_zip' };
    const data = bytes.subarray(start, start + compressed);
    const room = limit - total;
    if (method === 0) {
      total += data.length;
    } else if (method === 8) {
      try {
        total += inflateRawSync(data, { maxOutputLength: Math.max(1, room) }).length;
      } catch (error) {
        // ERR_BUFFER_TOO_LARGE: the ceiling was reached (checked by code: a RangeError of
        // another realm, as under the test runner, fails instanceof).
        if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
          return { refused: 'too_large' };
        return { refused: 'not_zip' };
      }
    } else {
      return { refused: 'method' };
    }
    if (total > limit) return { refused: 'too_large' };
  }
  return { size: total };
}

/** The offset of the end-of-central-directory record (it ends the file, before a comment). */
function endOfCentralDirectory(bytes: Buffer): number {
  const earliest = Math.max(0, bytes.length - 22 - 0xffff);
  for (let at = bytes.length - 22; at >= earliest; at--)
    if (bytes.readUInt32LE(at) === 0x06054b50) return at;
  return -1;
}
