/*
 * superjson's paths (v1 format), as its pathstringifier writes and reads them: segments joined
 * with ".", a "." or "\" inside a segment escaped with "\"; and the annotation trees (meta.values)
 * they key. The package exports neither.
 */

/** A value's own annotation: a type name, or a composite one (["class", identifier] for a state class). */
export type Annotation = string | [string, string];
/** superjson's annotations of a value (its meta.values): its own type, its children's (by escaped path), or both. */
export type Tree = [Annotation] | [Annotation, Inner] | Inner;
export interface Inner {
  [path: string]: Tree;
}

export const escapeKey = (key: string): string => key.replace(/\\/g, "\\\\").replace(/\./g, "\\.");

export const stringifyPath = (path: readonly string[]): string => path.map(escapeKey).join(".");

/** Throws for a malformed path, as superjson does. */
export function parsePath(s: string): string[] {
  const out: string[] = [];
  let segment = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i);
    if (c === "\\") {
      const escaped = s.charAt(i + 1);
      if (escaped !== "\\" && escaped !== ".") throw new Error("invalid path");
      segment += escaped;
      i++;
    } else if (c === ".") {
      out.push(segment);
      segment = "";
    } else segment += c;
  }
  out.push(segment);
  return out;
}
