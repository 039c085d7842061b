# azd postprovision hook (Windows): the PowerShell twin of wait-for-storage-roles.sh; see there
# for why. Waits, bounded (ROLE_WAIT_ATTEMPTS tries, ROLE_WAIT_SECONDS apart), until the
# deployer's data access to the storage account works, so the deploy after it meets no 403.
$ErrorActionPreference = 'Continue'

$account = $env:AZURE_STORAGE_ACCOUNT_NAME
$attempts = if ($env:ROLE_WAIT_ATTEMPTS) { [int]$env:ROLE_WAIT_ATTEMPTS } else { 30 }
$delay = if ($env:ROLE_WAIT_SECONDS) { [int]$env:ROLE_WAIT_SECONDS } else { 10 }
$container = 'config'
if ($env:CONFIG_BLOB_URI -match '^https://[^/]+/([^/]+)/') { $container = $Matches[1] }

if (-not $env:AZURE_PRINCIPAL_ID) {
  Write-Host 'wait-for-storage-roles: no AZURE_PRINCIPAL_ID, so no data roles were granted to the deployer; nothing to wait for.'
  exit 0
}
if (-not $account) {
  Write-Warning 'wait-for-storage-roles: AZURE_STORAGE_ACCOUNT_NAME is not set (provisioning did not finish?); skipping the wait.'
  exit 0
}
if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
  Write-Warning "wait-for-storage-roles: Azure CLI (az) not found; cannot check the storage roles. If 'azd deploy' fails with 403, wait a few minutes and run it again."
  exit 0
}

for ($try = 1; $try -le $attempts; $try++) {
  $output = az storage blob list --auth-mode login --account-name $account --container-name $container --num-results 1 --only-show-errors -o none 2>&1 | Out-String
  if ($LASTEXITCODE -eq 0) {
    Write-Host "wait-for-storage-roles: data access to storage account $account works (attempt $try)."
    exit 0
  }
  if ($output -notmatch 'AuthorizationPermissionMismatch|AuthorizationFailure|This request is not authorized|403') {
    Write-Warning "wait-for-storage-roles: could not check storage access ($($output.Trim())). Sign in with 'az login' as the identity azd uses to enable this check; continuing."
    exit 0
  }
  Write-Host "wait-for-storage-roles: role assignments on $account not in effect yet (attempt $try of $attempts); waiting ${delay}s."
  if ($try -lt $attempts) { Start-Sleep -Seconds $delay }
}

Write-Error "wait-for-storage-roles: data access to $account still refused after $attempts attempts. Role assignments can take up to 10 minutes; run 'azd deploy' again shortly. If it keeps failing, check that 'az account show' is the principal in AZURE_PRINCIPAL_ID."
exit 1
