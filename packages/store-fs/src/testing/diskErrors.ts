/** The error codes a simulated disk raises. */
export type DiskErrorCode = "ENOENT" | "EEXIST" | "ENOTDIR" | "EISDIR" | "EBADF" | "EIO" | "ENOSPC";

const DESCRIPTIONS: Record<DiskErrorCode, [errno: number, text: string]> = {
  ENOENT: [-2, "no such file or directory"],
  EEXIST: [-17, "file already exists"],
  ENOTDIR: [-20, "not a directory"],
  EISDIR: [-21, "illegal operation on a directory"],
  EBADF: [-9, "bad file descriptor"],
  EIO: [-5, "i/o error"],
  ENOSPC: [-28, "no space left on device"],
};

/** An error shaped like the ones node:fs throws: `EIO: i/o error, fdatasync '/data/n1/x.wal'`. */
export function diskError(code: DiskErrorCode, syscall: string, path: string): NodeJS.ErrnoException {
  const [errno, text] = DESCRIPTIONS[code];
  return Object.assign(new Error(`${code}: ${text}, ${syscall} '${path}'`), { code, errno, syscall, path });
}
