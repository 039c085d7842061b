#!/bin/sh
# azd postprovision hook: wait until the new data-plane role assignments on the storage account
# work, so the deploy that `azd up` runs next does not meet 403 AuthorizationPermissionMismatch
# while Azure RBAC propagates (usually under 5 minutes). It probes with the deployer's own
# sign-in (az): the deployer's Storage Blob Data Contributor is what the package upload and the
# config.json upload need. The app identity's roles were assigned in the same deployment, before
# the function app (main.bicep: dependsOn rbac); the Functions host retries storage while it
# starts, so they need no probe here. Bounded: ROLE_WAIT_ATTEMPTS tries, ROLE_WAIT_SECONDS apart.
set -u

account="${AZURE_STORAGE_ACCOUNT_NAME:-}"
attempts="${ROLE_WAIT_ATTEMPTS:-30}"
delay="${ROLE_WAIT_SECONDS:-10}"

# The container of CONFIG_BLOB_URI (https://<account>.blob.<suffix>/<container>/config.json).
container=$(printf '%s' "${CONFIG_BLOB_URI:-}" | sed -n 's#^https://[^/]*/\([^/]*\)/.*#\1#p')
[ -n "$container" ] || container=config

if [ -z "${AZURE_PRINCIPAL_ID:-}" ]; then
  echo "wait-for-storage-roles: no AZURE_PRINCIPAL_ID, so no data roles were granted to the deployer; nothing to wait for."
  exit 0
fi
if [ -z "$account" ]; then
  echo "wait-for-storage-roles: AZURE_STORAGE_ACCOUNT_NAME is not set (provisioning did not finish?); skipping the wait." >&2
  exit 0
fi
if ! command -v az >/dev/null 2>&1; then
  echo "wait-for-storage-roles: Azure CLI (az) not found; cannot check the storage roles. If 'azd deploy' fails with 403, wait a few minutes and run it again." >&2
  exit 0
fi

try=1
while [ "$try" -le "$attempts" ]; do
  if output=$(az storage blob list --auth-mode login --account-name "$account" --container-name "$container" --num-results 1 --only-show-errors -o none 2>&1); then
    echo "wait-for-storage-roles: data access to storage account $account works (attempt $try)."
    exit 0
  fi
  case "$output" in
    *AuthorizationPermissionMismatch*|*AuthorizationFailure*|*"This request is not authorized"*|*403*)
      echo "wait-for-storage-roles: role assignments on $account not in effect yet (attempt $try of $attempts); waiting ${delay}s."
      ;;
    *)
      echo "wait-for-storage-roles: could not check storage access ($output). Sign in with 'az login' as the identity azd uses to enable this check; continuing." >&2
      exit 0
      ;;
  esac
  try=$((try + 1))
  [ "$try" -le "$attempts" ] && sleep "$delay"
done

echo "wait-for-storage-roles: data access to $account still refused after $attempts attempts. Role assignments can take up to 10 minutes; run 'azd deploy' again shortly. If it keeps failing, check that 'az account show' is the principal in AZURE_PRINCIPAL_ID." >&2
exit 1
