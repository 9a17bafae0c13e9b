import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import type { RunStatus as RunStatusName } from "../store/index.js";
import type { RunStatusEvent } from "./live-events.js";

/** GraphQL names of the stored run states. */
export enum RunStatus {
  QUEUED = "queued",
  RUNNING = "running",
  TRAINING = "training",
  EXTRACTING = "extracting",
  SCORING = "scoring",
  DONE = "done",
  FAILED = "failed",
  CANCELLED = "cancelled",
  INTERRUPTED = "interrupted",
}

registerEnumType(RunStatus, {
  name: "RunStatus",
  description: "Lifecycle of a run: QUEUED -> TRAINING -> EXTRACTING -> SCORING -> DONE, or FAILED/CANCELLED/INTERRUPTED.",
});

// Compile-time check that the enum and the stored names agree.
const _statusNamesAgree: `${RunStatus}` extends RunStatusName ? (RunStatusName extends `${RunStatus}` ? true : never) : never = true;
void _statusNamesAgree;

@ObjectType({ description: "A run changed state." })
export class RunStatusChange implements RunStatusEvent {
  @Field(() => ID)
  runId!: string;

  @Field(() => RunStatus)
  status!: RunStatusName;

  @Field(() => String, { nullable: true, description: "Why the run failed, when it did." })
  error?: string | null;

  @Field({ description: "When the run entered this state." })
  at!: Date;
}
