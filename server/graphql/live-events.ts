import { createPubSub, Repeater, SlidingBuffer, type PubSub } from "@graphql-yoga/subscription";
import type { LeaderboardEntry } from "../runs/run-ingest.js";
import type { RunStatus } from "../store/index.js";

/** One training-progress report of a run (the runner's `progress` message). `seq` grows by 1 per event. */
export interface TrainingProgressEvent {
  runId: string;
  seq: number;
  phase: string;
  step: number;
  /** Steps (training) or batches (extracting) of the phase, when known. */
  totalSteps?: number | null;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm?: number | null;
  valLoss?: number | null;
  valAccuracy?: number | null;
  tokensPerSec: number;
  etaSec?: number | null;
}

/** A run changed state. */
export interface RunStatusEvent {
  runId: string;
  status: RunStatus;
  error?: string | null;
  at: Date;
}


/** Current top neurons of a run for one metric, ranked by |r| descending. */
export interface LeaderboardEvent {
  runId: string;
  metric: string;
  /** Validation samples the statistics have seen so far. */
  samplesSeen: number;
  entries: LeaderboardEntry[];
}

/** Topic -> [key, payload]; the key scopes a topic to one run (or run + metric). */
export type LiveTopics = {
  TRAINING_PROGRESS: [runId: string, payload: TrainingProgressEvent];
  RUN_STATUS: [runId: string, payload: RunStatusEvent];
  NEURON_LEADERBOARD: [runAndMetric: string, payload: LeaderboardEvent];
};
export type LiveTopic = keyof LiveTopics;
export type LivePayload<T extends LiveTopic> = LiveTopics[T][1];

/** Reads the latest stored state of a topic key (after a restart memory is empty). */
export type LatestLoaders = { [T in LiveTopic]?: (key: string) => Promise<LivePayload<T> | null> };

/** Key of the leaderboard topic for one run and metric. */
export function leaderboardKey(runId: string, metric: string): string {
  return `${runId}\u0000${metric}`;
}

/** [runId, metric] of a leaderboard topic key. */
export function parseLeaderboardKey(key: string): [runId: string, metric: string] {
  const cut = key.indexOf("\u0000");
  return cut < 0 ? [key, ""] : [key.slice(0, cut), key.slice(cut + 1)];
}

/** Pending events one slow subscriber may hold before the oldest are dropped. */
const SUBSCRIBER_BUFFER = 1024;

/**
 * Publish/subscribe for live run events that remembers the latest payload per (topic, key),
 * so a subscriber that joins late first gets the current state, then every later event in order.
 * `pubSub` is the instance handed to type-graphql's buildSchema; publish only through `publish`.
 */
export class LiveEvents {
  readonly pubSub: PubSub<LiveTopics>;
  private readonly target = new EventTarget();
  private readonly latestByName = new Map<string, unknown>();
  /** Open subscriptions per event name, so publishers compute only what someone watches. */
  private readonly watchers = new Map<string, number>();

  constructor(private readonly loaders: LatestLoaders = {}) {
    this.pubSub = createPubSub<LiveTopics>({ eventTarget: this.target as never });
  }

  publish<T extends LiveTopic>(topic: T, key: string, payload: LivePayload<T>): void {
    this.latestByName.set(eventName(topic, key), payload);
    (this.pubSub.publish as (t: string, k: string, p: unknown) => void)(topic, key, payload);
  }

  /** The latest payload published in this process, if any. */
  latest<T extends LiveTopic>(topic: T, key: string): LivePayload<T> | undefined {
    return this.latestByName.get(eventName(topic, key)) as LivePayload<T> | undefined;
  }

  /** Keys of `topic` that have at least one open subscription. */
  watchedKeys(topic: LiveTopic): string[] {
    const prefix = `${topic}:`;
    return [...this.watchers.keys()].filter((name) => name.startsWith(prefix)).map((name) => name.slice(prefix.length));
  }

  /** Drops the remembered state of a key on every topic (e.g. when its run is deleted). */
  forget(key: string): void {
    for (const topic of ["TRAINING_PROGRESS", "RUN_STATUS"] as const) this.latestByName.delete(eventName(topic, key));
    const prefix = eventName("NEURON_LEADERBOARD", leaderboardKey(key, ""));
    for (const name of [...this.latestByName.keys()]) if (name.startsWith(prefix)) this.latestByName.delete(name);
  }

  /**
   * Latest state (remembered, else loaded), then live events in publish order.
   * The listener is attached before the state is read, so no event falls in between.
   */
  subscribe<T extends LiveTopic>(topic: T, key: string): AsyncIterableIterator<LivePayload<T>> {
    const name = eventName(topic, key);
    const loader = this.loaders[topic] as ((key: string) => Promise<LivePayload<T> | null>) | undefined;
    return new Repeater<LivePayload<T>>(async (push, stop) => {
      let live = false;
      const listener = (event: Event): void => {
        if (live) void push((event as CustomEvent<LivePayload<T>>).detail).catch(() => undefined);
      };
      this.target.addEventListener(name, listener);
      this.watchers.set(name, (this.watchers.get(name) ?? 0) + 1);
      void stop.then(() => {
        this.target.removeEventListener(name, listener);
        const left = (this.watchers.get(name) ?? 1) - 1;
        if (left > 0) this.watchers.set(name, left);
        else this.watchers.delete(name);
      });
      let snapshot = this.latestByName.get(name) as LivePayload<T> | undefined;
      if (snapshot === undefined && loader) {
        const loaded = await loader(key);
        // Anything published while loading is newer than the store; its last event is the state.
        snapshot = (this.latestByName.get(name) as LivePayload<T> | undefined) ?? loaded ?? undefined;
      }
      // No await between the snapshot and going live: an event now is newer than the snapshot.
      if (snapshot !== undefined) void push(snapshot).catch(() => undefined);
      live = true;
      await stop;
    }, new SlidingBuffer(SUBSCRIBER_BUFFER));
  }
}

function eventName(topic: LiveTopic, key: string): string {
  return `${topic}:${key}`;
}
