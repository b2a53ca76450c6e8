/**
 * The read side of the sandbox API server's object store, as the traffic simulator sees it.
 * Objects are returned as stored (plain JSON), newest resourceVersion.
 */
export interface SandboxObjects {
  /**
   * Lists objects of a resource, in all namespaces or one.
   * `resource` is the plural name: virtualservices, destinationrules, deployments, services.
   */
  list(resource: string, namespace?: string): Record<string, unknown>[];
}
