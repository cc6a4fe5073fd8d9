/** k8s.io/api networking/v1. */
import { I, K, type MessageTable, R } from "../schema.js";

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const networking: MessageTable = {
  HTTPIngressPath: { path: [1, "string"], pathType: [3, "string", K], backend: [2, "IngressBackend"] },
  HTTPIngressRuleValue: { paths: [1, "HTTPIngressPath", R] },
  IPBlock: { cidr: [1, "string", K], except: [2, "string", R] },
  Ingress: { metadata: [1, "meta.ObjectMeta"], spec: [2, "IngressSpec"], status: [3, "IngressStatus"] },
  IngressBackend: { service: [4, "IngressServiceBackend"], resource: [3, "core.TypedLocalObjectReference"] },
  IngressClass: { metadata: [1, "meta.ObjectMeta"], spec: [2, "IngressClassSpec"] },
  IngressClassParametersReference: { aPIGroup: [1, "string", K, "apiGroup"], kind: [2, "string", K], name: [3, "string", K], scope: [4, "string", K], namespace: [5, "string", K] },
  IngressClassSpec: { controller: [1, "string"], parameters: [2, "IngressClassParametersReference"] },
  IngressLoadBalancerIngress: { ip: [1, "string"], hostname: [2, "string"], ports: [4, "IngressPortStatus", R] },
  IngressLoadBalancerStatus: { ingress: [1, "IngressLoadBalancerIngress", R] },
  IngressPortStatus: { port: [1, "int32", K], protocol: [2, "string", K], error: [3, "string", K] },
  IngressRule: { host: [1, "string"], ingressRuleValue: [2, "IngressRuleValue", I] },
  IngressRuleValue: { http: [1, "HTTPIngressRuleValue"] },
  IngressServiceBackend: { name: [1, "string", K], port: [2, "ServiceBackendPort"] },
  IngressSpec: { ingressClassName: [4, "string", K], defaultBackend: [1, "IngressBackend"], tls: [2, "IngressTLS", R], rules: [3, "IngressRule", R] },
  IngressStatus: { loadBalancer: [1, "IngressLoadBalancerStatus"] },
  IngressTLS: { hosts: [1, "string", R], secretName: [2, "string"] },
  NetworkPolicy: { metadata: [1, "meta.ObjectMeta"], spec: [2, "NetworkPolicySpec"] },
  NetworkPolicyEgressRule: { ports: [1, "NetworkPolicyPort", R], to: [2, "NetworkPolicyPeer", R] },
  NetworkPolicyIngressRule: { ports: [1, "NetworkPolicyPort", R], from: [2, "NetworkPolicyPeer", R] },
  NetworkPolicyPeer: { podSelector: [1, "meta.LabelSelector"], namespaceSelector: [2, "meta.LabelSelector"], ipBlock: [3, "IPBlock"] },
  NetworkPolicyPort: { protocol: [1, "string", K], port: [2, "intstr.IntOrString"], endPort: [3, "int32", K] },
  NetworkPolicySpec: { podSelector: [1, "meta.LabelSelector"], ingress: [2, "NetworkPolicyIngressRule", R], egress: [3, "NetworkPolicyEgressRule", R], policyTypes: [4, "string", R] },
  ServiceBackendPort: { name: [1, "string"], number: [2, "int32"] },
};
