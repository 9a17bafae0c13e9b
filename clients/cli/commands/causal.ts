/** `ablate` and `steer`: causal checks of neurons on a finished run (forwards in a worker, seconds to minutes). */
import { neuronId } from "../../../gpu-runner/neuron-id.js";
import { type Command, InvalidArgumentError } from "commander";
import { AblateNeuronsDocument, SteerNeuronDocument } from "../../client/documents.js";
import type { AblateNeuronsMutation, AblationMode, InterventionPositions } from "../../client/generated/graphql.js";
import { action, connectionOptions, examples, int, neuronList, oneOf, printJson, type ConnectionOptions } from "../command-kit.js";
import { withConnection } from "../connect.js";
import { fmtR, parseNeuronId, table } from "../format.js";

interface AblateOptions extends ConnectionOptions {
  run: string;
  metric: string;
  k: number;
  mode: "zero" | "mean" | "noise";
  draws: number;
  seed: number;
  layer?: number;
  neurons?: string[];
  positions: "soft" | "all";
  json?: boolean;
}

interface SteerOptions extends ConnectionOptions {
  run: string;
  id: string;
  factors?: number[];
  json?: boolean;
}

type Effect = AblateNeuronsMutation["ablateNeurons"]["deltas"]["kl"];
type Interval = Effect["ablated"];

export function registerCausalCommands(program: Command): void {
  const ablate = program
    .command("ablate")
    .description("ablate a metric's top-K neurons and, as controls, random neurons of the same layers; compare accuracy, loss, gold probability and KL")
    .requiredOption("--run <id>", "run id (a trained run with scores)")
    .requiredOption("--metric <name>", "metric whose top neurons are ablated (with --neurons: only labels the report)")
    .option("--k <n>", "how many top neurons", int(1), 10)
    .option("--mode <mode>", "replace activations by zero, the neuron's mean, or matched noise", oneOf("zero", "mean", "noise"), "zero")
    .option("--draws <n>", "random control sets", int(0), 20)
    .option("--seed <n>", "seed of the random sets, the noise and the bootstrap", int(0), 0)
    .option("--layer <L>", "only rank and ablate neurons of this layer", int(0))
    .option("--neurons <list>", "ablate these neurons instead of the top K: ids and ranges, e.g. L5.N12,L1.N0-3071", neuronList)
    .option("--positions <where>", "zero at the soft positions or at every position", oneOf("soft", "all"), "soft")
    .option("--json", "print JSON");
  examples(
    connectionOptions(ablate),
    "skillscope ablate --run 1 --metric label --k 10 --mode mean --draws 20",
    "skillscope ablate --run 3 --metric loss --neurons L1.N0-3071 --draws 0   # a whole layer: does anything there matter?",
    "skillscope ablate --run 1 --metric label --json",
  );
  ablate.action(
    action<AblateOptions>(async (o) => {
      const { ablateNeurons: a } = await withConnection(o, {}, ({ transport }) =>
        transport.execute(AblateNeuronsDocument, {
          runId: o.run, metric: o.metric, k: o.k, mode: o.mode.toUpperCase() as AblationMode, randomDraws: o.draws, seed: o.seed, layer: o.layer ?? null,
          positions: o.positions.toUpperCase() as InterventionPositions, neurons: o.neurons ?? null,
        }),
      );
      if (o.json) {
        printJson(a);
        return;
      }
      process.stdout.write(`run ${a.runId}, metric ${a.metric}: ${a.mode.toLowerCase()} ablation ${a.positions === "ALL" ? "at every position" : "at the soft positions"} of ${ablatedNeurons(a.neurons)}\n`);
      process.stdout.write(`${a.sampleCount} validation samples, ${a.random.length} random control sets, seed ${a.seed}\n\n`);
      const rows: [string, number, number, Effect][] = [
        ["accuracy", a.baseline.accuracy, a.ablated.accuracy, a.deltas.accuracy],
        ["loss", a.baseline.meanLoss, a.ablated.meanLoss, a.deltas.loss],
        ["gold prob", a.baseline.meanGoldProb, a.ablated.meanGoldProb, a.deltas.goldProb],
        ["KL", a.baseline.meanKl, a.ablated.meanKl, a.deltas.kl],
      ];
      process.stdout.write(
        table(
          ["measure", "baseline", "ablated", "Δ top-K [95% CI]", "Δ random [95% CI]", "top-K − random [95% CI]", "z", "p(random)"],
          rows.map(([name, base, abl, e]) => [name, num(base), num(abl), interval(e.ablated), interval(e.random), interval(e.effect), e.z == null ? "-" : e.z.toFixed(2), e.pRandom.toPrecision(3)]),
        ),
      );
      process.stdout.write(`predictions changed: ${pct(a.ablated.changed)} (random sets: ${a.random.length ? pct(mean(a.random.map((r) => r.changed))) : "-"} on average)\n`);
    }),
  );

  const steer = program
    .command("steer")
    .description("scale one neuron by factors at the soft positions and show how accuracy, loss and predictions move")
    .requiredOption("--run <id>", "run id (a trained run)")
    .requiredOption("--id <neuron>", "neuron id L{layer}.N{index}, e.g. L0.N7")
    .option("--factors <list>", "comma-separated factors a -> factor * a (default -2,-1,0,1,2,3; 1 is the baseline)", numberList)
    .option("--json", "print JSON");
  examples(connectionOptions(steer), "skillscope steer --run 1 --id L0.N7 --factors -2,0,1,2,3", "skillscope steer --run 1 --id L3.N17 --json");
  steer.action(
    action<SteerOptions>(async (o) => {
      const { layer, index } = parseNeuronId(o.id);
      const { steerNeuron: s } = await withConnection(o, {}, ({ transport }) =>
        transport.execute(SteerNeuronDocument, { runId: o.run, neuronId: neuronId(layer, index), factors: o.factors ?? null }),
      );
      if (o.json) {
        printJson(s);
        return;
      }
      process.stdout.write(`run ${s.runId}, ${s.neuronId} scaled at ${s.positions.toLowerCase()} positions, ${s.sampleCount} validation samples\n`);
      process.stdout.write(`baseline: accuracy ${num(s.baseline.accuracy)}, loss ${num(s.baseline.meanLoss)}, gold prob ${num(s.baseline.meanGoldProb)}\n\n`);
      process.stdout.write(
        table(
          ["factor", "accuracy", "loss", "gold prob", "changed", "KL"],
          s.factors.map((f) => [f.factor ?? "-", num(f.accuracy), num(f.meanLoss), num(f.meanGoldProb), pct(f.changed), num(f.meanKl)]),
        ),
      );
    }),
  );
}

/** commander parser: comma-separated finite numbers (steering factors). */
export function numberList(value: string): number[] {
  const parts = value.split(",").map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.some((s) => s === "") || out.some((v) => !Number.isFinite(v))) throw new InvalidArgumentError("expected comma-separated numbers, e.g. -2,0,1,2.");
  return out;
}

/** The ablated set: each id (with its r) for a few, counts per layer for many (a whole layer is thousands). */
function ablatedNeurons(neurons: AblateNeuronsMutation["ablateNeurons"]["neurons"]): string {
  if (neurons.length <= 20) return neurons.map((n) => `${n.id}${n.r === null || n.r === undefined ? "" : ` (r ${fmtR(n.r)})`}`).join(", ");
  const perLayer = new Map<number, number>();
  for (const n of neurons) perLayer.set(n.layer, (perLayer.get(n.layer) ?? 0) + 1);
  return `${neurons.length} neurons (${[...perLayer].sort(([a], [b]) => a - b).map(([l, c]) => `layer ${l}: ${c}`).join(", ")})`;
}

function num(v: number | null | undefined): string {
  return v === null || v === undefined ? "-" : v.toFixed(4);
}

function interval(i: Interval): string {
  if (i.estimate === null || i.estimate === undefined) return "-";
  const sign = (v: number) => (v >= 0 ? "+" : "") + v.toFixed(4);
  return i.low === null || i.low === undefined || i.high === null || i.high === undefined ? sign(i.estimate) : `${sign(i.estimate)} [${sign(i.low)}, ${sign(i.high)}]`;
}

function pct(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

function mean(v: readonly number[]): number {
  return v.reduce((s, x) => s + x, 0) / v.length;
}
