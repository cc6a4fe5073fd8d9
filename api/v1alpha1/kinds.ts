/**
 * The registry of slipway.dev/v1alpha1 kinds: names, scope and printer columns, next to the
 * schema each CRD is generated from. Names and short names are Argo's, so muscle memory
 * (`kubectl get apps`, `kubectl get ro`) carries over.
 */
import type { TObject } from "@sinclair/typebox";
import { AnalysisRun, AnalysisTemplate, ClusterAnalysisTemplate } from "./analysis.js";
import { Application } from "./application.js";
import { ApplicationSet } from "./applicationset.js";
import { AppProject } from "./appproject.js";
import { GROUP } from "./common.js";
import { Rollout } from "./rollout.js";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description?: string;
  /** 0 shows in `kubectl get`; higher only with `-o wide`. */
  priority?: number;
}

export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface KindInfo {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: "Namespaced" | "Cluster";
  categories: string[];
  schema: TObject;
  printerColumns: PrinterColumn[];
  /** Lets `kubectl scale` and HPAs drive the kind. */
  scale?: ScaleSubresource;
}

/** `kubectl get slipway` lists every slipway object in a namespace. */
export const CATEGORY = "slipway";

const age: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };

export const KINDS: readonly KindInfo[] = [
  {
    kind: "Application",
    listKind: "ApplicationList",
    plural: "applications",
    singular: "application",
    shortNames: ["app", "apps"],
    scope: "Namespaced",
    categories: [CATEGORY],
    schema: Application,
    printerColumns: [
      { name: "Sync Status", type: "string", jsonPath: ".status.sync.status" },
      { name: "Health Status", type: "string", jsonPath: ".status.health.status" },
      { name: "Revision", type: "string", jsonPath: ".status.sync.revision", priority: 10 },
      { name: "Project", type: "string", jsonPath: ".spec.project", priority: 10 },
      age,
    ],
  },
  {
    kind: "ApplicationSet",
    listKind: "ApplicationSetList",
    plural: "applicationsets",
    singular: "applicationset",
    shortNames: ["appset", "appsets"],
    scope: "Namespaced",
    categories: [CATEGORY],
    schema: ApplicationSet,
    printerColumns: [
      {
        name: "Up-to-date",
        type: "string",
        jsonPath: '.status.conditions[?(@.type=="ResourcesUpToDate")].status',
        description: "Whether every generated Application matches the template",
      },
      age,
    ],
  },
  {
    kind: "AppProject",
    listKind: "AppProjectList",
    plural: "appprojects",
    singular: "appproject",
    shortNames: ["appproj", "appprojs"],
    scope: "Namespaced",
    categories: [CATEGORY],
    schema: AppProject,
    printerColumns: [age],
  },
  {
    kind: "Rollout",
    listKind: "RolloutList",
    plural: "rollouts",
    singular: "rollout",
    shortNames: ["ro"],
    scope: "Namespaced",
    categories: [CATEGORY],
    schema: Rollout,
    printerColumns: [
      { name: "Desired", type: "integer", jsonPath: ".spec.replicas", description: "Number of desired pods" },
      { name: "Current", type: "integer", jsonPath: ".status.replicas", description: "Total number of pods" },
      {
        name: "Up-to-date",
        type: "integer",
        jsonPath: ".status.updatedReplicas",
        description: "Pods running the current revision",
      },
      {
        name: "Available",
        type: "integer",
        jsonPath: ".status.availableReplicas",
        description: "Pods available to serve",
      },
      age,
      { name: "Phase", type: "string", jsonPath: ".status.phase", priority: 1 },
      { name: "Step", type: "integer", jsonPath: ".status.currentStepIndex", priority: 1 },
    ],
    scale: {
      specReplicasPath: ".spec.replicas",
      // Argo's path: the pods sized by spec.replicas, not every pod of a canary (#2857).
      statusReplicasPath: ".status.HPAReplicas",
      labelSelectorPath: ".status.selector",
    },
  },
  {
    kind: "AnalysisTemplate",
    listKind: "AnalysisTemplateList",
    plural: "analysistemplates",
    singular: "analysistemplate",
    shortNames: ["at"],
    scope: "Namespaced",
    categories: [CATEGORY],
    schema: AnalysisTemplate,
    printerColumns: [age],
  },
  {
    kind: "ClusterAnalysisTemplate",
    listKind: "ClusterAnalysisTemplateList",
    plural: "clusteranalysistemplates",
    singular: "clusteranalysistemplate",
    shortNames: ["cat"],
    scope: "Cluster",
    categories: [CATEGORY],
    schema: ClusterAnalysisTemplate,
    printerColumns: [age],
  },
  {
    kind: "AnalysisRun",
    listKind: "AnalysisRunList",
    plural: "analysisruns",
    singular: "analysisrun",
    shortNames: ["ar"],
    scope: "Namespaced",
    categories: [CATEGORY],
    schema: AnalysisRun,
    printerColumns: [
      { name: "Status", type: "string", jsonPath: ".status.phase", description: "Run phase" },
      age,
    ],
  },
];

/** The registry entry for a kind; throws for a kind that is not slipway's. */
export function kindInfo(kind: string): KindInfo {
  const info = KINDS.find((k) => k.kind === kind);
  if (!info) throw new Error(`${kind} is not a ${GROUP} kind`);
  return info;
}

/** Whether objects of this kind carry a status written through the /status subresource. */
export function hasStatus(info: KindInfo): boolean {
  return "status" in info.schema.properties;
}
