/** Longest Cookie header read (characters); the rest is ignored. */
const MAX_COOKIE_HEADER = 8192;

/** The value of cookie `name` in a `Cookie` header, or undefined. A linear scan, no regular expressions. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header === "") return undefined;
  const text = header.length > MAX_COOKIE_HEADER ? header.slice(0, MAX_COOKIE_HEADER) : header;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(";", start);
    if (end < 0) end = text.length;
    const eq = text.indexOf("=", start);
    if (eq > start && eq < end && text.slice(start, eq).trim() === name) {
      let value = text.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
    start = end + 1;
  }
  return undefined;
}

/** A `Set-Cookie` value that removes cookie `name`. */
export function clearCookie(name: string): string {
  return `${name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`;
}
