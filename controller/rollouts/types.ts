/**
 * The slipway.dev kinds as they come from the API (client-node's object metadata, where
 * timestamps are Dates), so they go through informers and the dynamic client unchanged.
 */
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { AnalysisRun, AnalysisTemplateSpec } from "../../api/v1alpha1/analysis.js";
import type { Rollout } from "../../api/v1alpha1/rollout.js";

export type RolloutObject = Omit<Rollout, "metadata"> & { metadata: V1ObjectMeta };
export type AnalysisRunObject = Omit<AnalysisRun, "metadata"> & { metadata: V1ObjectMeta };
/** AnalysisTemplate or ClusterAnalysisTemplate. */
export interface AnalysisTemplateObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec: AnalysisTemplateSpec;
}
