#!/bin/sh
# azd preprovision hook: the templates assign the deployer data roles with principalType
# AZURE_PRINCIPAL_TYPE, which defaults to User; a pipeline signed in as a service principal
# then fails with UnmatchedPrincipalType. This asks the Azure CLI which kind of principal is
# signed in and records it in the azd environment, unless it is already set there.
set -u

if [ -n "${AZURE_PRINCIPAL_TYPE:-}" ]; then
  echo "detect-principal-type: AZURE_PRINCIPAL_TYPE is $AZURE_PRINCIPAL_TYPE in the azd environment; keeping it."
  exit 0
fi
hint="A pipeline signed in as a service principal must run: azd env set AZURE_PRINCIPAL_TYPE ServicePrincipal"
if ! command -v az >/dev/null 2>&1; then
  echo "detect-principal-type: Azure CLI (az) not found, so the principal type stays User. $hint" >&2
  exit 0
fi

kind=$(az account show --query user.type -o tsv 2>/dev/null) || kind=""
case "$kind" in
  servicePrincipal) type=ServicePrincipal ;;
  user) type=User ;;
  *)
    echo "detect-principal-type: 'az account show' did not say who is signed in, so the principal type stays User. $hint" >&2
    exit 0
    ;;
esac
if ! azd env set AZURE_PRINCIPAL_TYPE "$type"; then
  echo "detect-principal-type: could not run 'azd env set AZURE_PRINCIPAL_TYPE $type'; set it yourself before 'azd provision'." >&2
  exit 1
fi
echo "detect-principal-type: signed in as a $kind; AZURE_PRINCIPAL_TYPE=$type."
