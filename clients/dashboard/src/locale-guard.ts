/**
 * Makes navigator.language a valid BCP 47 tag before anything formats numbers with it. A browser
 * under a POSIX locale (Chromium with LANG=C.UTF-8, as on many servers) reports "en-US@posix",
 * which Intl refuses with RangeError: uPlot builds `new Intl.NumberFormat(navigator.language)`
 * when its module loads, so the whole dashboard would fail. main.ts imports this module first,
 * so it runs before uPlot's module body.
 */
function isValidTag(tag: string): boolean {
  try {
    Intl.getCanonicalLocales(tag);
    return true;
  } catch {
    return false;
  }
}

/** "en-US@posix" -> "en-US", "de_DE.UTF-8" -> "de-DE"; "en-US" when nothing valid is left. */
export function usableLocale(tag: string | undefined): string {
  if (tag && isValidTag(tag)) return tag;
  const stem = (tag ?? "").split(/[@.]/)[0]!.replace(/_/g, "-");
  return stem && isValidTag(stem) ? stem : "en-US";
}

if (typeof navigator !== "undefined" && navigator.language !== usableLocale(navigator.language)) {
  Object.defineProperty(navigator, "language", { value: usableLocale(navigator.language), configurable: true });
}
