/**
 * The slice of Istio's networking API that the rollout reads and writes. Every object keeps the
 * fields we do not model (index signatures), because the VirtualService is the user's: a field we
 * do not know about must survive a read-modify-write untouched.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  uid?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface PortSelector {
  number?: number;
  [field: string]: unknown;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: PortSelector;
  [field: string]: unknown;
}

export interface HTTPRouteDestination {
  destination: Destination;
  weight?: number;
  headers?: unknown;
  [field: string]: unknown;
}

/** One Istio HTTPMatchRequest; only the parts the simulator and tester routes look at are typed. */
export interface HTTPMatchRequest {
  name?: string;
  headers?: Record<string, StringMatch>;
  uri?: StringMatch;
  sourceLabels?: Record<string, string>;
  [field: string]: unknown;
}

export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  [field: string]: unknown;
}

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  [field: string]: unknown;
}

export interface VirtualService {
  apiVersion: string;
  kind: 'VirtualService';
  metadata: ObjectMeta;
  spec: VirtualServiceSpec;
  [field: string]: unknown;
}

export interface Subset {
  name: string;
  labels?: Record<string, string>;
  [field: string]: unknown;
}

export interface DestinationRule {
  apiVersion: string;
  kind: 'DestinationRule';
  metadata: ObjectMeta;
  spec: { host: string; subsets?: Subset[]; [field: string]: unknown };
  [field: string]: unknown;
}
