/**
 * Paths inside a policy: `/`-separated and relative to the policy's root, without `.` or `..`
 * parts. Pure string functions (no `node:path`: the compiler runs in browsers too).
 */

/** `a/./b/../c.rules` -> `a/c.rules`; null when the path climbs above the root. */
export function normalizePath(path: string): string | null {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join("/");
}

/** The directory of a root-relative path (`""` for a file at the root). */
export function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/** Why `path` is not an import path, or null when it is one: relative, `/`-separated, naming a `.rules` file. */
export function importPathProblem(path: string): string | null {
  if (path.length === 0) return "the path is empty";
  if (path.length > 1024) return "the path is longer than 1,024 characters";
  if (/[\u0000-\u001f\u007f]/.test(path)) return "the path holds a control character";
  if (path.includes("\\")) return "the path holds a backslash; parts are separated by /";
  if (path.startsWith("/")) return "the path is absolute; an import is relative to the importing file";
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) return "the path is a URL or a drive; an import reads only files of the policy";
  if (!path.endsWith(".rules")) return "an import names a .rules file";
  return null;
}

/** `shown` joined to a root-relative path, as spans name the file (`examples/team` + `a.rules`). */
export function displayPath(root: string, path: string): string {
  return root === "" || root === "." ? path : `${root.endsWith("/") ? root.slice(0, -1) : root}/${path}`;
}
