# azd preprovision hook (Windows): the PowerShell twin of detect-principal-type.sh; see there
# for why. Records in the azd environment whether azd runs as a user or a service principal.
$ErrorActionPreference = 'Continue'

if ($env:AZURE_PRINCIPAL_TYPE) {
  Write-Host "detect-principal-type: AZURE_PRINCIPAL_TYPE is $($env:AZURE_PRINCIPAL_TYPE) in the azd environment; keeping it."
  exit 0
}
$hint = 'A pipeline signed in as a service principal must run: azd env set AZURE_PRINCIPAL_TYPE ServicePrincipal'
if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
  Write-Warning "detect-principal-type: Azure CLI (az) not found, so the principal type stays User. $hint"
  exit 0
}

$kind = az account show --query user.type -o tsv 2>$null
switch ($kind) {
  'servicePrincipal' { $type = 'ServicePrincipal' }
  'user' { $type = 'User' }
  default {
    Write-Warning "detect-principal-type: 'az account show' did not say who is signed in, so the principal type stays User. $hint"
    exit 0
  }
}
azd env set AZURE_PRINCIPAL_TYPE $type
if ($LASTEXITCODE -ne 0) {
  Write-Error "detect-principal-type: could not run 'azd env set AZURE_PRINCIPAL_TYPE $type'; set it yourself before 'azd provision'."
  exit 1
}
Write-Host "detect-principal-type: signed in as a $kind; AZURE_PRINCIPAL_TYPE=$type."
