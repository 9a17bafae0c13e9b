import { Arg, Ctx, Float, ID, Int, Query, Resolver } from "type-graphql";
import { histogram } from "../analysis/index.js";
import { SignificanceService, nullBand } from "../runs/significance.js";
import type { Store } from "../store/store.js";
import type { GraphQLContext } from "./context.js";
import { badInput } from "./errors.js";
import { parseId } from "./ids.js";
import { FIELD_COST } from "./limits.js";
import { LayerNullHistogram, Significance } from "./significance.type.js";
import { finiteOrNull } from "./finite.js";

/** One significance cache per store: results stay valid as long as the run's activations do. */
const services = new WeakMap<Store, SignificanceService>();
const MAX_BINS = 200;

@Resolver(() => Significance)
export class SignificanceResolver {
  @Query(() => Significance, {
    description: "Permutation null of a finished run's correlations with a metric (seeded, cached): chance levels of |r|, the BH threshold and the null band per layer.",
    complexity: FIELD_COST.layerScan * 4,
  })
  async significance(
    @Arg("runId", () => ID) runIdArg: string,
    @Arg("metric") metric: string,
    @Arg("permutations", () => Int, { defaultValue: 200 }) permutations: number,
    @Arg("seed", () => Int, { defaultValue: 0 }) seed: number,
    @Arg("q", () => Float, { defaultValue: 0.05, description: "False discovery rate for Benjamini-Hochberg." }) q: number,
    @Arg("bins", () => Int, { defaultValue: 40 }) bins: number,
    @Ctx() { services: { store, reads } }: GraphQLContext,
  ): Promise<Significance> {
    const runId = parseId(runIdArg, "runId");
    if (!(Number.isInteger(bins) && bins >= 1 && bins <= MAX_BINS)) throw badInput("bins", `must be an integer in 1..${MAX_BINS}, got ${bins}`);
    let service = services.get(store);
    if (!service) services.set(store, (service = new SignificanceService(store)));
    const compute = service.compute.bind(service);
    // kept with the run's other reads: gone with it on deleteRun, whatever the service remembers
    const s = await reads.read(runId, "significance", [metric, permutations, seed, q], () => compute(runId, metric, { permutations, seed, q }));
    const layers: LayerNullHistogram[] = s.observed.map(({ layer, r }) => {
      const h = histogram(r, bins, -1, 1);
      // the null is scaled to the pairs that have an r: a neuron constant at a position has none
      const tested = r.length - h.undefinedCount;
      return { layer, edges: Array.from(h.edges), observed: Array.from(h.counts), expectedNull: nullBand(s.nullAbsCounts, bins, tested) };
    });
    return {
      metric: s.metric, permutations: s.permutations, samples: s.samples, tests: s.tests,
      pooledAbsR999: s.pooledAbsR999, maxAbsR999: s.maxAbsR999, analyticAbsR999: s.analyticAbsR999,
      bhAbsRThreshold: finiteOrNull(s.bhAbsRThreshold), q: s.q, discoveries: s.discoveries,
      neuronTests: s.neuronTests, neuronDiscoveries: s.neuronDiscoveries, neuronPCorrectedThreshold: s.neuronPCorrectedThreshold, layers,
    };
  }
}
