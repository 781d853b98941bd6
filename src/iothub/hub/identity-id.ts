/** Device and module ids as the real hub allows them: up to 128 of these ASCII characters. */
export const ID_RE = /^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$/;

export function isValidIdentityId(id: string): boolean {
  return ID_RE.test(id);
}
