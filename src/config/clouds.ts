/**
 * Token authority and Graph root of each Microsoft cloud. Source: "Microsoft Graph national cloud
 * deployments" (learn.microsoft.com/graph/deployments) and the Azure Identity authority hosts.
 * GCC uses the Global endpoints; GCC High is USGov; DoD is USGovDoD.
 */
export const CLOUD_NAMES = ['Global', 'USGov', 'USGovDoD', 'China'] as const;

export type CloudName = (typeof CLOUD_NAMES)[number];

export interface CloudEndpoints {
  authorityHost: string;
  graphEndpoint: string;
}

export const CLOUDS: Readonly<Record<CloudName, CloudEndpoints>> = {
  Global: { authorityHost: 'https://login.microsoftonline.com', graphEndpoint: 'https://graph.microsoft.com' },
  USGov: { authorityHost: 'https://login.microsoftonline.us', graphEndpoint: 'https://graph.microsoft.us' },
  USGovDoD: { authorityHost: 'https://login.microsoftonline.us', graphEndpoint: 'https://dod-graph.microsoft.us' },
  China: { authorityHost: 'https://login.chinacloudapi.cn', graphEndpoint: 'https://microsoftgraph.chinacloudapi.cn' },
};

export const DEFAULT_CLOUD: CloudName = 'Global';

/** The named cloud whose endpoints these are, or undefined for custom endpoints. */
export function cloudOf(endpoints: CloudEndpoints): CloudName | undefined {
  return CLOUD_NAMES.find(
    (name) => CLOUDS[name].authorityHost === endpoints.authorityHost && CLOUDS[name].graphEndpoint === endpoints.graphEndpoint,
  );
}
