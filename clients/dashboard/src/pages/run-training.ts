import { TrainingCurve, type CurvePoint } from "../charts/training-curve.js";
import type { Figure } from "../components/figure.js";
import { h, replaceChildren } from "../dom.js";
import { query, queryText, subscribe } from "../graphql.js";
import { runEventsRequest, trainingProgressRequest } from "../queries.js";

/** Stored events per request (the server's page limit is at least this). */
const EVENTS_PAGE = 1000;

type Report = CurvePoint & { phase?: string; etaSec?: number | null; totalSteps?: number | null };

/**
 * Draws a run's training curve into `panel`: the stored progress reports first, then the live
 * `trainingProgress` subscription (its replay of the latest report merges into the history).
 * Returns the disposer.
 */
export function trainingFigure(panel: Figure, runId: string): () => void {
  const chartBox = h("div", { class: "chart", "data-chart": "training" });
  const status = h("p", { class: "muted", "data-role": "curve-status" }, "loading stored progress reports…");
  replaceChildren(panel.body, chartBox, status);
  const curve = new TrainingCurve(chartBox);
  const subscription = trainingProgressRequest(runId);
  const request = runEventsRequest(runId, 0, EVENTS_PAGE);
  let last: Report = { step: -1, loss: NaN };
  let extraction: Report | undefined;
  let disposed = false;
  let stop = (): void => undefined;

  const show = (): void => {
    chartBox.dataset.points = String(curve.size);
    panel.setData(request, { ...curve.data(), liveSubscription: { query: queryText(subscription), variables: subscription.variables } });
    if (curve.size === 0) {
      status.textContent = "No progress reports yet; new ones appear here as the run trains.";
      return;
    }
    const eta = !extraction && last.etaSec ? ` · about ${Math.ceil(last.etaSec)} s left` : "";
    const of = last.totalSteps ? ` of ${last.totalSteps}` : "";
    const extracting = extraction ? ` · extracting: batch ${extraction.step}${extraction.totalSteps ? ` of ${extraction.totalSteps}` : ""}` : "";
    status.textContent = `${curve.size} point${curve.size === 1 ? "" : "s"} · last step ${last.step}${of}${last.phase ? ` (${last.phase})` : ""} · loss ${last.loss.toFixed(4)}${eta}${extracting}`;
  };
  /** Training reports join the curve; extraction reports (steps are batches there) only update the status line. */
  const add = (reports: readonly Report[]): void => {
    const valid = reports.filter((r) => Number.isFinite(r.step) && Number.isFinite(r.loss));
    const training = valid.filter((r) => !r.phase?.startsWith("extract"));
    extraction = valid.filter((r) => r.phase?.startsWith("extract")).pop() ?? extraction;
    curve.add(training);
    for (const r of training) if (r.step >= last.step) last = r;
    show();
  };

  // Pages of stored events until a short page; the first page's request is the figure's data link.
  const loadHistory = async (): Promise<void> => {
    for (let afterSeq = 0, req = request; ; ) {
      const events = (await query(req)).run.events;
      if (disposed) return;
      const reports = events.map((e) => e.payload as Partial<Report>).filter((p): p is Report => typeof p.step === "number" && typeof p.loss === "number");
      add(reports);
      for (const event of events) afterSeq = Math.max(afterSeq, event.seq);
      if (events.length < EVENTS_PAGE) return;
      req = runEventsRequest(runId, afterSeq, EVENTS_PAGE);
    }
  };
  loadHistory()
    .then(() => !disposed && show())
    .catch((error: Error) => (status.textContent = `Stored progress unavailable: ${error.message}`))
    .finally(() => {
      if (disposed) return;
      stop = subscribe(subscription, (data) => add([data.trainingProgress]), (error) => (status.textContent = `Live updates stopped: ${error.message}`));
    });
  return () => {
    disposed = true;
    stop();
    curve.destroy();
  };
}
