// Request paths of the Kubernetes REST API, parsed into what the fake apiserver needs: the
// resource, its group/version, an optional namespace, name and subresource.
import type { ResourceInfo } from './resources.ts';

export interface ParsedPath {
  group: string;
  version: string;
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export type PathMatch =
  | { type: 'discovery'; body: unknown }
  | { type: 'resource'; parsed: ParsedPath }
  | { type: 'notFound' };

function resourceList(group: string, version: string, resources: ResourceInfo[]): unknown {
  const here = resources.filter((r) => r.group === group && r.versions.includes(version));
  const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: here.flatMap((r) => [
      { name: r.plural, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs },
      ...(r.status ? [{ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] }] : []),
    ]),
  };
}

function groupInfo(group: string, resources: ResourceInfo[]): unknown {
  const versions = [...new Set(resources.filter((r) => r.group === group).flatMap((r) => r.versions))];
  const gv = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: gv, preferredVersion: gv[0] };
}

export function matchPath(pathname: string, resources: ResourceInfo[]): PathMatch {
  const segs = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  if (segs[0] === 'version' && segs.length === 1) return { type: 'discovery', body: { major: '1', minor: '34', gitVersion: 'v1.34.0-meshlet-fake' } };
  let group: string;
  let version: string | undefined;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length === 1) return { type: 'discovery', body: { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] } };
    group = '';
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    if (segs.length === 1) {
      const groups = [...new Set(resources.map((r) => r.group).filter((g) => g !== ''))].sort();
      return { type: 'discovery', body: { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => groupInfo(g, resources)) } };
    }
    group = segs[1]!;
    if (!resources.some((r) => r.group === group)) return { type: 'notFound' };
    if (segs.length === 2) return { type: 'discovery', body: groupInfo(group, resources) };
    version = segs[2];
    rest = segs.slice(3);
  } else {
    return { type: 'notFound' };
  }
  if (version === undefined || !resources.some((r) => r.group === group && r.versions.includes(version))) return { type: 'notFound' };
  if (rest.length === 0) return { type: 'discovery', body: resourceList(group, version, resources) };
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status') {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  const resource = resources.find((r) => r.group === group && r.versions.includes(version) && r.plural === plural);
  if (!resource || extra.length > 0) return { type: 'notFound' };
  if (namespace !== undefined && !resource.namespaced) return { type: 'notFound' };
  if (subresource !== undefined && !(subresource === 'status' && resource.status)) return { type: 'notFound' };
  return { type: 'resource', parsed: { group, version, resource, namespace, name, subresource } };
}
