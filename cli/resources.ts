// SnoopyJob access for the commands, each call's failure turned into one line (missing CRD,
// missing object, no permission, unreachable API server).
import { DATAENDPOINTS, SNOOPYJOBS, type Kube } from '../lib/kube/client.js';
import type { SnoopyDataEndpoint, SnoopyJob } from '../lib/api/schema.js';
import { CliError, apiError, isStatus } from './errors.js';

/** Fails with a clear message when the API server does not serve SnoopyJobs (CRD not installed). */
export async function ensureCrd(kube: Kube): Promise<void> {
  try {
    await kube.custom.getAPIResources({ group: SNOOPYJOBS.group, version: SNOOPYJOBS.version });
  } catch (err) {
    if (isStatus(err, 404)) {
      throw new CliError(`the SnoopyJob CRD (snoopyjobs.${SNOOPYJOBS.group}) is not installed in this cluster: install Snoopy first`);
    }
    throw apiError(err, 'looking up the SnoopyJob API');
  }
}

export async function getSnoopyJob(kube: Kube, namespace: string, name: string): Promise<SnoopyJob> {
  await ensureCrd(kube);
  try {
    return (await kube.custom.getNamespacedCustomObject({ ...SNOOPYJOBS, namespace, name })) as SnoopyJob;
  } catch (err) {
    if (isStatus(err, 404)) throw new CliError(`SnoopyJob "${name}" not found in namespace "${namespace}" (see --job-namespace)`);
    throw apiError(err, `reading SnoopyJob ${namespace}/${name}`);
  }
}

export async function listSnoopyJobs(kube: Kube, namespace: string | undefined): Promise<SnoopyJob[]> {
  await ensureCrd(kube);
  try {
    const list = (namespace
      ? await kube.custom.listNamespacedCustomObject({ ...SNOOPYJOBS, namespace })
      : await kube.custom.listClusterCustomObject(SNOOPYJOBS)) as { items: SnoopyJob[] };
    return list.items;
  } catch (err) {
    throw apiError(err, `listing SnoopyJobs${namespace ? ` in ${namespace}` : ''}`);
  }
}

export async function createSnoopyJob(kube: Kube, sj: SnoopyJob): Promise<SnoopyJob> {
  try {
    return (await kube.custom.createNamespacedCustomObject({ ...SNOOPYJOBS, namespace: sj.metadata.namespace, body: sj })) as SnoopyJob;
  } catch (err) {
    if (isStatus(err, 409)) throw new CliError(`SnoopyJob "${sj.metadata.name}" already exists in namespace "${sj.metadata.namespace}": choose another --name`);
    throw apiError(err, `creating SnoopyJob ${sj.metadata.namespace}/${sj.metadata.name}`);
  }
}

export async function deleteSnoopyJob(kube: Kube, namespace: string, name: string): Promise<void> {
  await ensureCrd(kube);
  try {
    await kube.custom.deleteNamespacedCustomObject({ ...SNOOPYJOBS, namespace, name, propagationPolicy: 'Background' });
  } catch (err) {
    if (isStatus(err, 404)) throw new CliError(`SnoopyJob "${name}" not found in namespace "${namespace}"`);
    throw apiError(err, `deleting SnoopyJob ${namespace}/${name}`);
  }
}

export async function getDataEndpoint(kube: Kube, namespace: string, name: string): Promise<SnoopyDataEndpoint | undefined> {
  try {
    return (await kube.custom.getNamespacedCustomObject({ ...DATAENDPOINTS, namespace, name })) as SnoopyDataEndpoint;
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    throw apiError(err, `reading SnoopyDataEndpoint ${namespace}/${name}`);
  }
}

export async function listDataEndpointNames(kube: Kube, namespace: string): Promise<string[]> {
  try {
    const list = (await kube.custom.listNamespacedCustomObject({ ...DATAENDPOINTS, namespace })) as { items: SnoopyDataEndpoint[] };
    return list.items.map((e) => e.metadata.name).sort();
  } catch (err) {
    throw apiError(err, `listing SnoopyDataEndpoints in ${namespace}`);
  }
}

/** Whether a namespace exists; a user who may not read namespaces is given the benefit of the doubt. */
export async function namespaceExists(kube: Kube, name: string): Promise<boolean> {
  try {
    await kube.core.readNamespace({ name });
    return true;
  } catch (err) {
    if (isStatus(err, 404)) return false;
    if (isStatus(err, 403)) return true;
    throw apiError(err, `reading namespace ${name}`);
  }
}
