/** Width a chart should take in `container` (its content box), never below a readable minimum. */
export function chartWidth(container: HTMLElement, min = 320): number {
  return Math.max(min, Math.floor(container.clientWidth || container.getBoundingClientRect().width || 640));
}

/** Calls `onWidth` when the container's width changes; returns the function that stops watching. */
export function watchWidth(container: HTMLElement, onWidth: (width: number) => void): () => void {
  let last = chartWidth(container);
  const observer = new ResizeObserver(() => {
    const width = chartWidth(container);
    if (width !== last) {
      last = width;
      onWidth(width);
    }
  });
  observer.observe(container);
  return () => observer.disconnect();
}
