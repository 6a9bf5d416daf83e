import type { Command } from "commander";
import type { Dataset } from "../data/dataset.js";
import { RobustMetricError } from "../errors.js";
import { loadModel, type Model } from "../learners/model.js";
import { KNeighborsClassifier } from "../neighbors/knn.js";
import { readDataset, readTextFile } from "../node/read.js";
import { intOption } from "./common.js";

/**
 * Maps a data set's class names onto the model's training classes: the codes of one file are not those of
 * another (each file numbers its own distinct labels). A test label the model never saw gets code −1, which
 * never equals a prediction.
 */
export function alignLabels(ds: Dataset, classes: string[]): Int32Array {
  const index = new Map(classes.map((c, i) => [c, i]));
  return Int32Array.from(ds.y, (code) => index.get(ds.classes[code]!) ?? -1);
}

/** Checks that a data file has the model's features, by count and by name. */
export function checkFeatures(ds: Dataset, model: Model, file: string): void {
  const want = model.training.featureNames;
  if (ds.X.cols !== want.length) {
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `${file} has ${ds.X.cols} feature columns but the model was trained on ${want.length} (${want.join(", ")})`,
    );
  }
  ds.featureNames.forEach((name, j) => {
    if (name !== want[j]) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `${file}: feature column ${j + 1} is '${name}', the model expects '${want[j]}'`,
      );
    }
  });
}

/** Loads a model and a training file and returns the fitted k-NN classifier in the model's space. */
export function classifierFromFiles(modelPath: string, trainPath: string, k: number, label?: string) {
  const model = loadModel(readTextFile(modelPath));
  const train = readDataset(trainPath, label === undefined ? {} : { label });
  checkFeatures(train, model, trainPath);
  const Xtr = model.preprocessor.apply(train.X);
  const yTr = alignLabels(train, model.training.classes);
  // the neighbours' labels must be classes the model knows, or predictions would have no name
  const unknown = yTr.indexOf(-1);
  if (unknown >= 0) {
    throw new RobustMetricError(
      "BAD_INPUT",
      `${trainPath}: data row ${unknown + 1} has label '${train.classes[train.y[unknown]!]}', not a class of the model (${model.training.classes.join(", ")})`,
    );
  }
  const knn = new KNeighborsClassifier({ k, metric: model.metric }).fit(
    Xtr,
    yTr,
    model.training.classes.length,
  );
  return { model, knn };
}

interface PredictOpts {
  model: string;
  train: string;
  test: string;
  k?: string;
  label?: string;
  json?: boolean;
}

/** `robust-metric predict`: k-NN predictions for a test file under a model's metric. */
export function register(program: Command): void {
  program
    .command("predict")
    .description("classify a labelled test file with k-NN under a model's metric")
    .requiredOption("--model <file>", "model file written by `fit`")
    .requiredOption("--train <file>", "the training data (the neighbours)")
    .requiredOption("--test <file>", "the data to classify (same columns as the training file)")
    .option("--k <n>", "number of neighbours", "3")
    .option("--label <column>", "label column name (default: the last column)")
    .option("--json", "print predictions as JSON")
    .action((o: PredictOpts) => {
      const k = intOption("--k", o.k, 3);
      const { model, knn } = classifierFromFiles(o.model, o.train, k, o.label);
      const test = readDataset(o.test, o.label === undefined ? {} : { label: o.label });
      checkFeatures(test, model, o.test);
      const yTest = alignLabels(test, model.training.classes);
      const pred = knn.predict(model.preprocessor.apply(test.X));
      let correct = 0;
      for (let i = 0; i < pred.length; i++) if (pred[i] === yTest[i]) correct++;
      const accuracy = correct / pred.length;
      const classes = model.training.classes;
      if (o.json) {
        const predictions = Array.from(pred, (c, i) => ({
          index: i,
          label: test.classes[test.y[i]!]!,
          prediction: classes[c]!,
        }));
        process.stdout.write(`${JSON.stringify({ k, n: pred.length, accuracy, predictions })}\n`);
      } else {
        const lines = Array.from(pred, (c, i) => `${i}\t${test.classes[test.y[i]!]}\t${classes[c]}`);
        process.stdout.write(`index\tlabel\tprediction\n${lines.join("\n")}\n`);
        process.stdout.write(
          `accuracy ${(accuracy * 100).toFixed(2)}% (${correct}/${pred.length}), ${k}-NN\n`,
        );
      }
    });
}
