/**
 * The Microsoft Graph application permissions the connector uses: the one list that the code's
 * error messages, the docs (README, docs/deploy.md, docs/configuration.md) and the infra
 * (main.bicep `graphAppRoles`) name. test/unit/graph/permissions.test.ts keeps them in
 * agreement. Least privilege: nothing here writes, and no permission is listed for a feature
 * the connector does not have.
 */
export const GRAPH_PERMISSION = {
  userReadAll: 'User.Read.All',
  groupMemberReadAll: 'GroupMember.Read.All',
  groupReadAll: 'Group.Read.All',
  applicationReadAll: 'Application.Read.All',
  domainReadAll: 'Domain.Read.All',
  mailboxSettingsRead: 'MailboxSettings.Read',
} as const;

export type GraphPermissionName = (typeof GRAPH_PERMISSION)[keyof typeof GRAPH_PERMISSION];

export interface GraphApplicationPermission {
  readonly value: GraphPermissionName;
  /** Without a required permission the sync fails; without an optional one a feature is off. */
  readonly required: boolean;
  readonly neededFor: string;
}

export const GRAPH_APPLICATION_PERMISSIONS: readonly GraphApplicationPermission[] = [
  { value: GRAPH_PERMISSION.userReadAll, required: true, neededFor: 'users/delta, and the users change-notification subscription' },
  { value: GRAPH_PERMISSION.groupMemberReadAll, required: true, neededFor: 'groups/delta with members (the least that reads groups and their members)' },
  {
    value: GRAPH_PERMISSION.groupReadAll,
    required: false,
    neededFor: 'the groups change-notification subscription; without it group changes arrive with the timer',
  },
  {
    value: GRAPH_PERMISSION.applicationReadAll,
    required: false,
    neededFor: "discovering directory extension properties (`extensions list`, test-connection), and the client secret's end date (warned 30 and 7 days ahead); extensions named in the config are read without it",
  },
  {
    value: GRAPH_PERMISSION.domainReadAll,
    required: false,
    neededFor: "the tenant's verified domains, to report users whose mail domain is not verified (`status --mail-domains`, test-connection)",
  },
  {
    value: GRAPH_PERMISSION.mailboxSettingsRead,
    required: false,
    neededFor: 'mailboxType (user, shared, room, equipment) from mailboxSettings/userPurpose; without it mailboxType is "unknown"',
  },
];
