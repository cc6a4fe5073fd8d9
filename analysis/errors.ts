/**
 * An analysis template or run that cannot be used as written: duplicate metric names, a missing
 * argument, a condition that does not compile. The message names the field and, for conditions,
 * the column; the reconciler shows it as the run's message and the CLI prints it.
 */
export class AnalysisSpecError extends Error {
  override readonly name = "AnalysisSpecError";
}
