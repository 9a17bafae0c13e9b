/**
 * Every GraphQL operation the CLI, the dashboard and the examples send, as typed documents: the
 * result and variable types come from `npm run codegen` (clients/client/generated/) over the
 * committed schema. The dashboard bundles this module too, so it imports nothing from Node.
 */
import { graphql } from "./generated/gql.js";

export const ServerInfoDocument = graphql(`
  query ServerInfo {
    serverInfo {
      version
      canWrite
    }
  }
`);

export const RegisterModelDocument = graphql(`
  mutation RegisterModel($path: String!) {
    registerModel(path: $path) {
      id
      family
      path
    }
  }
`);

export const ImportTaskDocument = graphql(`
  mutation ImportTask($input: ImportTaskInput!) {
    importTask(input: $input) {
      id
      name
      source
      train: sampleCount(split: "train")
      val: sampleCount(split: "val")
    }
  }
`);

export const RunSummaryDocument = graphql(`
  query RunSummary($id: ID!) {
    run(id: $id) {
      id
      status
      error
      layers
      positions
      dFF
      neuronDefinition
      trainFigures
      keptPromptStep
      trainedSteps
      valFigures
      metrics {
        name
        kind
      }
      task {
        id
        name
        val: sampleCount(split: "val")
      }
    }
  }
`);

export const RunStatusSubscription = graphql(`
  subscription RunStatusChanges($runId: ID!) {
    runStatus(runId: $runId) {
      runId
      status
      error
      at
    }
  }
`);

export const TrainingProgressSubscription = graphql(`
  subscription TrainingProgressReports($runId: ID!) {
    trainingProgress(runId: $runId) {
      runId
      seq
      phase
      step
      totalSteps
      epoch
      loss
      lr
      valLoss
      valAccuracy
      tokensPerSec
      etaSec
    }
  }
`);

export const NeuronLeaderboardSubscription = graphql(`
  subscription NeuronLeaderboardUpdates($runId: ID!, $metric: String!, $k: Int!) {
    neuronLeaderboard(runId: $runId, metric: $metric, k: $k) {
      runId
      metric
      samplesSeen
      neurons {
        rank
        id
        layer
        index
        r
        bestPosition
      }
    }
  }
`);

export const TopNeuronsDocument = graphql(`
  query TopNeurons($runId: ID!, $metric: String!, $layer: Int, $first: Int!, $after: String, $aggregate: NeuronAggregate!, $minAbsR: Float) {
    neurons(runId: $runId, metric: $metric, layer: $layer, first: $first, after: $after, aggregate: $aggregate, minAbsR: $minAbsR) {
      totalCount
      pageInfo {
        endCursor
        hasNextPage
      }
      edges {
        node {
          rank
          id
          layer
          index
          metric
          r
          bestPosition
          pAtPosition
          pCorrected
        }
      }
    }
  }
`);

export const NeuronCorrelationsDocument = graphql(`
  query NeuronCorrelations($runId: ID!, $layer: Int!, $index: Int!, $metric: String!) {
    neuron(runId: $runId, layer: $layer, index: $index) {
      id
      correlations(metric: $metric) {
        position
        r
        pAtPosition
        samples
      }
    }
  }
`);

export const ExtremalSamplesDocument = graphql(`
  query ExtremalSamples($runId: ID!, $layer: Int!, $index: Int!, $direction: Direction!, $k: Int!, $metric: String, $position: Int, $maxOverPositions: Boolean) {
    neuron(runId: $runId, layer: $layer, index: $index) {
      id
      extremalSamples(direction: $direction, k: $k, metric: $metric, position: $position, maxOverPositions: $maxOverPositions) {
        rank
        reading
        position
        sampleId
        sampleIdx
        activation
        text
        answer
        prediction
        correct
        label
        loss
      }
    }
  }
`);

export const AddMetricDocument = graphql(`
  mutation AddMetric($runId: ID!, $name: String!, $description: String, $values: [SampleValueInput!]!) {
    addMetric(runId: $runId, name: $name, description: $description, values: $values) {
      name
      kind
      description
    }
  }
`);

export const ExportRunDocument = graphql(`
  mutation ExportRun($id: ID!, $name: String) {
    exportRun(id: $id, name: $name)
  }
`);

export const RunsDocument = graphql(`
  query Runs($first: Int!) {
    runs(first: $first) {
      totalCount
      edges {
        node {
          id
          status
          createdAt
          updatedAt
          error
          model {
            id
            path
            family
          }
          task {
            id
            name
          }
        }
      }
    }
  }
`);

export const StartRunDocument = graphql(`
  mutation StartRun($modelId: ID!, $taskId: ID!, $options: RunOptionsInput) {
    startRun(modelId: $modelId, taskId: $taskId, options: $options) {
      id
      status
    }
  }
`);

export const CancelRunDocument = graphql(`
  mutation CancelRun($id: ID!) {
    cancelRun(id: $id) {
      id
      status
    }
  }
`);

export const ModelsDocument = graphql(`
  query Models {
    models {
      id
      family
      path
      createdAt
    }
  }
`);

export const TasksDocument = graphql(`
  query Tasks {
    tasks {
      id
      name
      source
      template
      train: sampleCount(split: "train")
      val: sampleCount(split: "val")
      createdAt
    }
  }
`);

export const AblateNeuronsDocument = graphql(`
  mutation AblateNeurons(
    $runId: ID!, $metric: String!, $k: Int, $mode: AblationMode, $randomDraws: Int, $seed: Int, $layer: Int, $positions: InterventionPositions, $neurons: [ID!]
  ) {
    ablateNeurons(runId: $runId, metric: $metric, k: $k, mode: $mode, randomDraws: $randomDraws, seed: $seed, layer: $layer, positions: $positions, neurons: $neurons) {
      runId
      metric
      mode
      positions
      seed
      sampleCount
      neurons {
        id
        layer
        index
        r
        position
      }
      baseline {
        name
        accuracy
        meanLoss
        meanGoldProb
        changed
        meanKl
      }
      ablated {
        name
        accuracy
        meanLoss
        meanGoldProb
        changed
        meanKl
      }
      random {
        name
        neurons
        accuracy
        meanLoss
        meanGoldProb
        changed
        meanKl
      }
      deltas {
        accuracy {
          ...CausalEffectFields
        }
        loss {
          ...CausalEffectFields
        }
        goldProb {
          ...CausalEffectFields
        }
        kl {
          ...CausalEffectFields
        }
      }
    }
  }

  fragment CausalEffectFields on CausalEffect {
    ablated {
      estimate
      low
      high
    }
    random {
      estimate
      low
      high
    }
    effect {
      estimate
      low
      high
    }
    z
    pRandom
  }
`);

export const SteerNeuronDocument = graphql(`
  mutation SteerNeuron($runId: ID!, $neuronId: ID!, $factors: [Float!]) {
    steerNeuron(runId: $runId, neuronId: $neuronId, factors: $factors) {
      runId
      neuronId
      positions
      sampleCount
      baseline {
        accuracy
        meanLoss
        meanGoldProb
      }
      factors {
        factor
        accuracy
        meanLoss
        meanGoldProb
        changed
        meanKl
      }
    }
  }
`);

export const SeedStabilityDocument = graphql(`
  query SeedStability($runIds: [ID!]!, $metrics: [String!], $k: Int) {
    seedStability(runIds: $runIds, metrics: $metrics, k: $k) {
      runIds
      k
      metrics {
        metric
        meanJaccard
        meanSpearman
        topK {
          runId
          neurons
        }
        pairs {
          runA
          runB
          jaccard
          spearman
        }
        stable {
          id
          r
        }
      }
    }
  }
`);

export const CompareRunsDocument = graphql(`
  query CompareRuns($runIds: [ID!]!, $metric: String!, $k: Int, $scatterLimit: Int) {
    compareRuns(runIds: $runIds, metric: $metric, k: $k, scatterLimit: $scatterLimit) {
      runIds
      metric
      k
      shared {
        id
        r
      }
      scatter {
        id
        r
      }
      layers {
        layer
        meanAbsR
        ks
      }
    }
  }
`);

export const CounterexamplesDocument = graphql(`
  query Counterexamples($runId: ID!, $heuristic: String!, $predicts: Float!, $label: String, $onlyWhenFired: Boolean) {
    counterexamples(runId: $runId, heuristic: $heuristic, predicts: $predicts, label: $label, onlyWhenFired: $onlyWhenFired) {
      runId
      heuristic
      label
      disagree {
        count
        accuracy
        sampleIds
      }
      agree {
        count
        accuracy
        sampleIds
      }
    }
  }
`);

export const AlternativeScoresDocument = graphql(`
  query AlternativeScores($runId: ID!, $metric: String!, $layer: Int!, $k: Int, $bins: Int, $position: Int, $maxOverPositions: Boolean) {
    alternativeScores(runId: $runId, metric: $metric, layer: $layer, k: $k, bins: $bins, position: $position, maxOverPositions: $maxOverPositions) {
      runId
      metric
      layer
      samples
      reading
      topK {
        score
        neurons {
          id
          index
          position
          pearson
          spearman
          mutualInformation
          thresholdAccuracy
        }
      }
      overlap {
        a
        b
        jaccard
      }
    }
  }
`);

export const RunVerbalizerDocument = graphql(`
  query RunVerbalizer($id: ID!) {
    run(id: $id) {
      task {
        verbalizer
      }
    }
  }
`);

export const ProbeDocument = graphql(`
  query Probe(
    $runId: ID!, $texts: [String!], $rows: [JSONObject!], $sampleIds: [ID!], $raw: Boolean, $answer: String,
    $neuronIds: [ID!], $metric: String, $k: Int
  ) {
    probe(runId: $runId, texts: $texts, rows: $rows, sampleIds: $sampleIds, raw: $raw, answer: $answer, neuronIds: $neuronIds, metric: $metric, k: $k) {
      runId
      metric
      seconds
      neurons {
        id
        layer
        index
        bestPosition
        r
      }
      samples {
        id
        instruction
        answer
        prediction
        goldProb
        loss
        correct
        confidence
        readings {
          neuronId
          activations
          atBest
          percentile
        }
      }
    }
  }
`);

export const NeuronExplanationFieldsFragment = graphql(`
  fragment NeuronExplanationFields on NeuronExplanation {
    neuronId
    runId
    layer
    index
    metric
    position
    source
    rank
    featureId
    kind
    description
    words
    selectionR
    heldOutR
    heldOutAuc
    effectSize
    heldOutSamples
    missCount
    misses {
      sampleId
      activation
      feature
      predicted
    }
    equivalents
    dashboardPath
  }
`);

export const ExplainNeuronsDocument = graphql(`
  mutation ExplainNeurons($runId: ID!, $neuronIds: [ID!], $metric: String, $k: Int, $top: Int, $llm: Boolean) {
    explainNeurons(runId: $runId, neuronIds: $neuronIds, metric: $metric, k: $k, top: $top, llm: $llm) {
      ...NeuronExplanationFields
    }
  }
`);

export const SearchNeuronsDocument = graphql(`
  query SearchNeurons($runId: ID, $text: String, $kind: String, $word: String, $metric: String, $bestOnly: Boolean, $first: Int) {
    searchNeurons(runId: $runId, text: $text, kind: $kind, word: $word, metric: $metric, bestOnly: $bestOnly, first: $first) {
      ...NeuronExplanationFields
    }
  }
`);

// ---- the dashboard's reads (it also uses Runs, RunStatusChanges, TrainingProgressReports,
// NeuronLeaderboardUpdates, TopNeurons, AblateNeurons and Probe above) ----

export const RunDetailDocument = graphql(`
  query RunDetail($id: ID!) {
    run(id: $id) {
      id
      status
      error
      createdAt
      updatedAt
      neuronDefinition
      layers
      positions
      dFF
      model {
        id
        path
        family
      }
      task {
        id
        name
      }
      metrics {
        name
        kind
        description
      }
    }
  }
`);

export const RunEventsDocument = graphql(`
  query RunEvents($id: ID!, $afterSeq: Int!, $first: Int!) {
    run(id: $id) {
      id
      events(afterSeq: $afterSeq, first: $first) {
        seq
        payload
      }
    }
  }
`);

export const ServerLimitsDocument = graphql(`
  query ServerLimits {
    serverInfo {
      limits {
        maxPageSize
      }
    }
  }
`);

/** One heat-map cell: the strongest neuron of a (layer, position); the dashboard aliases one per cell. */
export const StrongestNeuronFragment = graphql(`
  fragment StrongestNeuron on NeuronConnection {
    edges {
      node {
        index
        r
      }
    }
  }
`);

/** One layer's histogram of r; the dashboard aliases one per layer. */
export const CorrelationHistogramFragment = graphql(`
  fragment CorrelationHistogram on HistogramData {
    edges
    counts
    undefinedCount
  }
`);

export const ExtremalSampleFieldsFragment = graphql(`
  fragment ExtremalSampleFields on ExtremalSample {
    rank
    sampleIdx
    sampleId
    activation
    reading
    position
    text
    answer
    label
    prediction
    correct
    loss
    metrics {
      name
      value
    }
  }
`);

export const NeuronDetailDocument = graphql(`
  query NeuronDetail($runId: ID!, $layer: Int!, $index: Int!, $metric: String!, $k: Int!, $position: Int, $maxOverPositions: Boolean, $bins: Int!) {
    neuron(runId: $runId, layer: $layer, index: $index) {
      id
      layer
      index
      correlations(metric: $metric) {
        position
        r
        pAtPosition
        samples
      }
      score(metric: $metric) {
        r
        bestPosition
        pAtPosition
        pCorrected
        rank
      }
      high: extremalSamples(direction: HIGH, k: $k, metric: $metric, position: $position, maxOverPositions: $maxOverPositions) {
        ...ExtremalSampleFields
      }
      low: extremalSamples(direction: LOW, k: $k, metric: $metric, position: $position, maxOverPositions: $maxOverPositions) {
        ...ExtremalSampleFields
      }
      activationHistogram(bins: $bins, metric: $metric, position: $position, maxOverPositions: $maxOverPositions) {
        edges
        counts
        undefinedCount
        reading
        position
      }
    }
  }
`);

export const NeuronActivationsByMetricDocument = graphql(`
  query NeuronActivationsByMetric($runId: ID!, $layer: Int!, $index: Int!, $metric: String!, $k: Int!, $position: Int, $maxOverPositions: Boolean) {
    neuron(runId: $runId, layer: $layer, index: $index) {
      id
      samples: extremalSamples(direction: HIGH, k: $k, metric: $metric, position: $position, maxOverPositions: $maxOverPositions) {
        sampleId
        activation
        reading
        position
        metrics(names: [$metric]) {
          value
        }
      }
    }
  }
`);

export const SignificanceDocument = graphql(`
  query Significance($runId: ID!, $metric: String!, $bins: Int!) {
    significance(runId: $runId, metric: $metric, bins: $bins) {
      metric
      permutations
      samples
      tests
      maxAbsR999
      bhAbsRThreshold
      q
      discoveries
      neuronTests
      neuronDiscoveries
      neuronPCorrectedThreshold
      layers {
        layer
        edges
        observed
        expectedNull
      }
    }
  }
`);
