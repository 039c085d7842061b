/**
 * The notification URLs of the Functions app, from its app settings: the base is
 * GRAPH_NOTIFICATION_BASE_URL, else https://$WEBSITE_HOSTNAME (App Service sets it); the key is
 * GRAPH_WEBHOOK_KEY. With neither base the manager says so plainly and the timer path goes on.
 */
import { InvalidPublicUrlError, isLoopbackHost, notificationEndpoints, parsePublicBaseUrl, type NotificationEndpoints } from '../realtime/notificationEndpoints';
import { APP_SETTINGS, readAppSetting } from './appSettings';

export function notificationEndpointsFromSettings(env: NodeJS.ProcessEnv, deltaIntervalMinutes: number): NotificationEndpoints | { unavailable: string } {
  const timer = `changes arrive with the timer, every ${deltaIntervalMinutes} minutes`;
  const explicit = readAppSetting(env, APP_SETTINGS.notificationBaseUrl);
  const hostName = readAppSetting(env, APP_SETTINGS.websiteHostname);
  const base = explicit ?? (hostName === undefined ? undefined : `https://${hostName}`);
  if (base === undefined) {
    return {
      unavailable: `no notification URL: set ${APP_SETTINGS.notificationBaseUrl} to where Graph reaches this app (https), ` +
        `or run \`s365-connector serve --public-url <url>\`; until then ${timer}`,
    };
  }
  try {
    const url = parsePublicBaseUrl(base, explicit !== undefined ? APP_SETTINGS.notificationBaseUrl : APP_SETTINGS.websiteHostname);
    if (explicit === undefined && isLoopbackHost(url.hostname)) {
      // Core Tools sets WEBSITE_HOSTNAME=localhost:7071: Graph cannot call that.
      return { unavailable: `running locally (${hostName ?? ''}): Graph cannot reach this host; set ${APP_SETTINGS.notificationBaseUrl} to a public https tunnel to it; until then ${timer}` };
    }
    return notificationEndpoints(url, readAppSetting(env, APP_SETTINGS.webhookKey));
  } catch (error) {
    if (!(error instanceof InvalidPublicUrlError)) throw error;
    return { unavailable: `${error.message}; until it is fixed ${timer}` };
  }
}
