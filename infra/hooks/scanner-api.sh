#!/bin/sh
# azd preprovision hook: the scanner API's Entra app registration, created or brought up to date.
#
#   app registration  "AKS kubelet CIS scanner API (<env>)", single tenant, v2.0 access tokens
#                     (api.requestedAccessTokenVersion 2), identifier URI api://<appId>, the app
#                     role Scan.Run for users and applications, a delegated scope
#                     user_impersonation pre-authorized for Azure CLI (so that
#                     az account get-access-token --resource api://<appId> works without consent)
#   enterprise app    its service principal, with assignment required (Entra then signs users
#                     in to the API only once they are assigned; for every caller, people and
#                     applications alike, the app's own check of the Scan.Run role decides)
#   azd environment   SCAN_API_CLIENT_ID=<appId>, which main.parameters.json passes to the Bicep
#
# Why a hook and not Bicep: the Microsoft Graph Bicep extension needs an `extension` statement
# that the Bicep parser used by checkov and tests/infra (pycep 0.5.1) cannot parse, and
# `make infra-check` must parse every file (docs/infra.md, "Scanner API").
#
# Needs: az logged in to the deployment's tenant (az login), and for the deploying user the
# right to create applications (the default user setting, or Application Developer), or
# Application.ReadWrite.OwnedBy for a pipeline's identity. Idempotent: run it again at will
# (azd up runs it on every provision).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
env_name=${AZURE_ENV_NAME:?"run through azd (azd provision / azd up), which sets AZURE_ENV_NAME"}
display_name=${SCAN_API_DISPLAY_NAME:-"AKS kubelet CIS scanner API ($env_name)"}
app_id=${SCAN_API_CLIENT_ID:-}

az account show --query tenantId -o tsv >/dev/null || {
  echo "scanner-api: az is not logged in; run az login (same tenant as azd) first" >&2
  exit 1
}
graph=$(az cloud show --query endpoints.microsoftGraphResourceId -o tsv)
graph=${graph%/}

if [ -n "$app_id" ] && az ad app show --id "$app_id" --query appId -o tsv >/dev/null 2>&1; then
  echo "scanner-api: updating the app registration $app_id"
else
  app_id=$(az ad app create --display-name "$display_name" --sign-in-audience AzureADMyOrg \
    --query appId -o tsv)
  echo "scanner-api: created the app registration $app_id ($display_name)"
fi
object_id=$(az ad app show --id "$app_id" --query id -o tsv)

body=$(mktemp)
trap 'rm -f "$body"' EXIT
# Two PATCHes: the scope must exist before Azure CLI is pre-authorized for it.
for document in scanner-api.json scanner-api-preauthorize.json; do
  sed "s/__APP_ID__/$app_id/g" "$here/$document" >"$body"
  az rest --method PATCH --uri "$graph/v1.0/applications/$object_id" \
    --headers "Content-Type=application/json" --body "@$body" >/dev/null
done

sp_id=$(az ad sp show --id "$app_id" --query id -o tsv 2>/dev/null || true)
if [ -z "$sp_id" ]; then
  sp_id=$(az ad sp create --id "$app_id" --query id -o tsv)
  echo "scanner-api: created its enterprise application (service principal $sp_id)"
fi
az ad sp update --id "$sp_id" --set appRoleAssignmentRequired=true >/dev/null

azd env set SCAN_API_CLIENT_ID "$app_id"
echo "scanner-api: SCAN_API_CLIENT_ID=$app_id; grant Scan.Run to who may scan (README, \"Calling the trigger\")"
