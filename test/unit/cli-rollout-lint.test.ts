/**
 * `slipway rollout lint`: the exact messages for schema and semantic problems, references
 * between the objects of a file, and what passes.
 */
import { describe, expect, it } from "vitest";
import { formatProblem, lintText } from "../../cli/rollout-lint.js";

const lint = (text: string) => lintText(text, "web.yaml").map(formatProblem);

const template = `apiVersion: slipway.dev/v1alpha1
kind: AnalysisTemplate
metadata:
  name: success-rate
spec:
  args:
    - name: service
    - name: threshold
      value: "0.95"
  metrics:
    - name: success-rate
      interval: 1m
      count: 5
      failureLimit: 1
      successCondition: result[0] >= {{args.threshold}}
      provider:
        prometheus:
          address: http://prometheus:9090
          query: sum(rate(http_requests_total{service="{{args.service}}",code!~"5.."}[1m]))
`;

const good = `apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 5
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, tier: front}
    spec:
      containers:
        - name: app
          image: shop/web:1.27
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      trafficRouting:
        gatewayAPI: {httpRoute: web}
        managedRoutes:
          - name: beta
      analysis:
        startingStep: 2
        templates:
          - templateName: success-rate
        args:
          - name: service
            value: web
      steps:
        - setWeight: 10
        - setHeaderRoute:
            name: beta
            match:
              - headerName: x-cohort
                headerValue: {exact: beta}
        - pause: {duration: 30s}
        - setWeight: 50
        - pause: {}
---
${template}`;

describe("rollout lint", () => {
  it("passes a valid Rollout with its AnalysisTemplate", () => {
    expect(lint(good)).toEqual([]);
  });

  it("reports schema problems at the field, as the YAML reads", () => {
    const bad = good
      .replace("- setWeight: 50", "- setWeight: 120")
      .replace("replicas: 5", 'replicas: "5"')
      .replace("- pause: {duration: 30s}", "- pause: {duration: 30x}")
      .replace("name: app", "nam: app");
    expect(lint(bad)).toEqual([
      'web.yaml: Rollout "web": spec.replicas: must be an integer',
      'web.yaml: Rollout "web": spec.template.spec.containers[0].name: is required',
      'web.yaml: Rollout "web": spec.strategy.canary.steps[3].setWeight: must be <= 100',
      'web.yaml: Rollout "web": spec.strategy.canary.steps[2].pause.duration: "30x" is not a duration (use seconds, or a duration such as 30s, 5m, 1h)',
    ]);
  });

  it("reports typos as unknown fields, and a step with no action", () => {
    const bad = good.replace("- setWeight: 10", "- setWieght: 10");
    expect(lint(bad)).toEqual([
      'web.yaml: Rollout "web": spec.strategy.canary.steps[0].setWieght: unknown field (the API server would drop it)',
      'web.yaml: Rollout "web": spec.strategy.canary.steps[0]: must set exactly one of setWeight, pause, analysis, setCanaryScale, setHeaderRoute, setMirrorRoute (found none)',
    ]);
  });

  it("checks what the schema cannot: services with routing, managed routes, selector, step actions", () => {
    const bad = good
      .replace("      canaryService: web-canary\n", "")
      .replace("name: beta\n            match", "name: gamma\n            match")
      .replace("matchLabels: {app: web}", "matchLabels: {app: webb}")
      .replace("- pause: {}", "- pause: {}\n          setWeight: 60")
      .replace("headerValue: {exact: beta}", "headerValue: {exact: beta, prefix: be}");
    expect(lint(bad)).toEqual([
      'web.yaml: Rollout "web": spec.selector: app=webb does not match spec.template.metadata.labels (app=web,tier=front)',
      'web.yaml: Rollout "web": spec.strategy.canary.canaryService: is required with trafficRouting',
      'web.yaml: Rollout "web": spec.strategy.canary.steps[1].setHeaderRoute.name: "gamma" is not listed in spec.strategy.canary.trafficRouting.managedRoutes (beta)',
      'web.yaml: Rollout "web": spec.strategy.canary.steps[1].setHeaderRoute.match[0].headerValue: must set exactly one of exact, prefix, regex (found exact, prefix)',
      'web.yaml: Rollout "web": spec.strategy.canary.steps[4]: must set exactly one of setWeight, pause, analysis, setCanaryScale, setHeaderRoute, setMirrorRoute (found setWeight, pause)',
    ]);
  });

  it("checks analysis references: missing args are errors, templates not in the file are external", () => {
    const missingArg = good.replace("        args:\n          - name: service\n            value: web\n", "");
    expect(lint(missingArg)).toEqual([
      'web.yaml: Rollout "web": spec.strategy.canary.analysis.args: missing argument "service" that AnalysisTemplate "success-rate" needs (it has no default value)',
    ]);
    const external = good.replace("- templateName: success-rate", "- templateName: error-rate");
    const problems = lintText(external, "web.yaml");
    expect(problems.map(formatProblem)).toEqual([
      `web.yaml: Rollout "web": spec.strategy.canary.analysis.templates[0].templateName: warning: AnalysisTemplate "error-rate" is not in the files given: it must exist in the Rollout's namespace when the analysis starts`,
    ]);
    expect(problems[0]!.severity).toBe("warning");
  });

  it("checks the AnalysisTemplate too: conditions, durations, undeclared args", () => {
    const bad = template
      .replace("interval: 1m", "interval: 1x")
      .replace("{{args.service}}", "{{args.svc}}")
      .replace("result[0] >= {{args.threshold}}", "result[0] >=");
    expect(lint(bad)).toEqual([
      'web.yaml: AnalysisTemplate "success-rate": spec.metrics[0]: invalid interval: unknown unit "x" in duration "1x"',
      'web.yaml: AnalysisTemplate "success-rate": spec.metrics[0].provider.prometheus.query: refers to {{args.svc}}, which spec.args does not declare',
    ]);
  });

  it("explains an Argo Rollouts apiVersion, weights above maxTrafficWeight and blue-green services", () => {
    const argo = good.replace(
      "apiVersion: slipway.dev/v1alpha1\nkind: Rollout",
      "apiVersion: argoproj.io/v1alpha1\nkind: Rollout",
    );
    expect(lint(argo)).toEqual([
      'web.yaml: Rollout "web": apiVersion: must be slipway.dev/v1alpha1 (an Argo Rollouts manifest moves over by changing its apiVersion)',
    ]);
    const capped = good.replace("managedRoutes:", "maxTrafficWeight: 40\n        managedRoutes:");
    expect(lint(capped)).toEqual([
      'web.yaml: Rollout "web": spec.strategy.canary.steps[3].setWeight: must be <= 40 (trafficRouting.maxTrafficWeight)',
    ]);
    const bg = `apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: api:1}]}
  strategy:
    blueGreen:
      activeService: api
      previewService: api
      prePromotionAnalysis: {templates: [{templateName: smoke, clusterScope: true}]}
`;
    expect(lint(bg)).toEqual([
      'web.yaml: Rollout "api": spec.strategy.blueGreen.previewService: must differ from activeService ("api")',
      'web.yaml: Rollout "api": spec.strategy.blueGreen.prePromotionAnalysis.templates[0].templateName: warning: ClusterAnalysisTemplate "smoke" is not in the files given: it must exist in the cluster when the analysis starts',
    ]);
  });

  it("reports YAML errors with line and column, and files without a Rollout", () => {
    expect(lint("kind: Rollout\nmetadata: {name: web\n")[0]).toMatch(
      /^web\.yaml:3:1: invalid YAML: Flow map/,
    );
    expect(lint("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n")).toEqual([
      "web.yaml: no Rollout, AnalysisTemplate or ClusterAnalysisTemplate (found Service)",
    ]);
  });
});
