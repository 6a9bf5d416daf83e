export { accuracy, KNeighborsClassifier } from "./knn.js";
