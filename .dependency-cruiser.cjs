/** Keeps the arrows pointing one way: cli → controller/analysis → api; the sandbox stands alone. */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "Runtime cycles only: type-only imports vanish at compile time, so they cannot form one.",
      severity: "error",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    {
      name: "controller-never-imports-sandbox",
      comment: "The controller reaches clusters only through the Kubernetes API.",
      severity: "error",
      from: { path: "^(controller|analysis|api)/" },
      to: { path: "^sandbox/" },
    },
    {
      name: "sandbox-stands-alone",
      severity: "error",
      from: { path: "^sandbox/" },
      to: { path: "^(controller|analysis|cli)/" },
    },
    {
      name: "api-is-a-leaf",
      severity: "error",
      from: { path: "^api/" },
      to: { path: "^(controller|analysis|cli|sandbox)/" },
    },
    {
      name: "nothing-imports-cli",
      severity: "error",
      from: { pathNot: "^cli/" },
      to: { path: "^cli/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    exclude: { path: "(^dist/|\\.test\\.ts$)" },
  },
};
