/**
 * The server's bearer token for mutations, as the user typed it: kept in sessionStorage, so it
 * lasts while the tab is open and never outlives the browser session.
 */
const KEY = "skillscope.token";

export function storedToken(): string {
  try {
    return sessionStorage.getItem(KEY) ?? "";
  } catch {
    return ""; // storage disabled: the field still works for this page
  }
}

export function storeToken(token: string): void {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // storage disabled: nothing to keep
  }
}
