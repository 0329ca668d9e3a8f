// O2 Network Archiver: everything the function app needs in one resource group.
//
//   Log Analytics + Application Insights   logs of every function (run id, stage, counts)
//   user-assigned managed identity          storage, Key Vault and (by default) Microsoft Graph
//   storage account                         staging, queues, tables, reports, mapping, Durable state
//   Key Vault                               TELEMESSAGE_PASSWORD (and GRAPH_CLIENT_SECRET), as Key Vault references
//   Flex Consumption plan + function app    Linux, Node.js 22
//   action group + four log alert rules     no completed run, a failed run, an old backlog item, a poisoned message
//   storage lifecycle rules                 staged blobs N days after their run settled, reports after M days
//
// Hosting: Flex Consumption (FC1), not Elastic Premium. The archiver runs once a
// day and is idle the rest of the time: Flex scales to zero and bills by use,
// where Premium bills at least one instance around the clock. Flex runs Linux
// and Node.js 22, supports identity-based storage throughout (including its own
// deployment container), Key Vault references and Durable Functions on the
// Azure Storage backend, and allows function timeouts longer than host.json's
// 10 minutes. Linux Consumption is being retired, so it is not an option.
// Choose Elastic Premium instead if you need deployment slots (Flex has none) or
// want warm instances at all times without configuring always-ready ones.
//
// No Bicep compiler runs on the development machines: test/infra/template.test.ts and
// test/infra/settings.test.ts read this file as text. Compile it before deploying:
//
// Check:    az bicep build -f infra/main.bicep
// Deploy:   az deployment group create -g <rg> -f infra/main.bicep -p baseName=... (see README "Deploy")
// Then:     npm ci && npm run package && cd .deploy && func azure functionapp publish <functionAppName output> --javascript
//
// The Graph application permission User.Read.All and the Exchange RBAC for
// Applications role (infra/grant-exchange-rbac.ps1) are granted outside this template.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------- parameters

@description('Short prefix for resource names: lower-case letters and digits.')
@minLength(3)
@maxLength(11)
param baseName string

@description('Region of every resource. Flex Consumption is not in every region: az functionapp list-flexconsumption-locations.')
param location string = resourceGroup().location

@description('The TeleMessage archive API (TELEMESSAGE_BASE_URL).')
param telemessageBaseUrl string

@description('The TeleMessage administration account (TELEMESSAGE_USERNAME).')
param telemessageUsername string

@description('Its password, optional: when given, it is written to Key Vault as the secret telemessage-password. Leave it out (the default) and set the secret with az keyvault secret set (README "Deploy"), so that deploying again never puts back an old password over a rotated one. The app reads it through a Key Vault reference.')
@secure()
param telemessagePassword string = ''

@description('Optional: the object id of the person or group who administers the archiver: sets and rotates the TeleMessage password (Key Vault Secrets Officer on the vault) and uploads the mapping and reads runs with o2-archiver from a workstation (Storage Blob Data Contributor, Storage Table Data Contributor, Storage Queue Data Reader on the account). The vault and the account accept Entra ID only, and an Owner of the resource group has no data rights on them otherwise.')
param adminPrincipalId string = ''

@description('How the app signs in to Microsoft Graph: the user-assigned managed identity (no secret anywhere; recommended), or an app registration with a client secret kept in Key Vault.')
@allowed([
  'managedIdentity'
  'clientSecret'
])
param graphCredential string = 'managedIdentity'

@description('clientSecret only: the tenant of the app registration (GRAPH_TENANT_ID).')
param graphTenantId string = tenant().tenantId

@description('clientSecret only: the app registration\'s client id (GRAPH_CLIENT_ID).')
param graphClientId string = ''

@description('clientSecret only: the app registration\'s client secret. Stored in Key Vault.')
@secure()
param graphClientSecret string = ''

@description('Storage redundancy.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_LRS'

@description('Flex Consumption: most instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Flex Consumption: memory of each instance, in MB.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Flex Consumption: always-ready instances for the Durable group (orchestrators, activities). Microsoft recommends 1 for Durable apps; 0 keeps the app fully pay-per-use and only makes the first minute of a run slower.')
@minValue(0)
@maxValue(4)
param durableAlwaysReadyInstances int = 0

@description('Days Log Analytics keeps logs.')
param logRetentionInDays int = 90

@description('Where the alerts go: the e-mail address of the action group.')
param alertEmailAddress string

@description('Alert when the oldest item of the re-drive backlog has waited longer than this many hours.')
@minValue(1)
param backlogAlertAgeHours int = 72

@description('Days after its run settled that a staged item, its media, its .eml and the run\'s raw pages and unit lists are deleted (the mailbox holds the record; the staged copy serves re-drives). Counted from the last run that used the item.')
@minValue(1)
param stagedRetentionDays int = 90

@description('Days a run report (reports/<runId>.json and .failures.csv) is kept after it was written.')
@minValue(1)
param reportRetentionDays int = 730

// The app's settings (docs/settings.md), with the defaults of shared/platform/config.ts.
// Change them here or later in the function app's configuration.

@description('GRAPH_BASE_URL: Microsoft Graph (a national cloud\'s Graph host where applicable).')
param graphBaseUrl string = 'https://graph.microsoft.com/v1.0'

@description('GRAPH_IMPORT_MODE: json (Graph v1.0) or importMime (Graph beta).')
@allowed([
  'json'
  'importMime'
])
param graphImportMode string = 'json'

@description('ARCHIVE_FOLDER_NAME: the mailbox folder.')
param archiveFolderName string = 'O2 SMS and Voice Network Archiver'

@description('MAX_ITEM_BYTES: the size limit.')
param maxItemBytes int = 10485760

@description('DEFAULT_PHONE_REGION: region of numbers written without a country code.')
param defaultPhoneRegion string = 'GB'

@description('DISPLAY_TIME_ZONE: local time shown beside UTC in call summaries.')
param displayTimeZone string = 'Europe/London'

@description('ARCHIVE_SCHEDULE: NCRONTAB (UTC) of the daily run. Must be present: the Functions host binds the timer to it.')
param archiveSchedule string = '0 0 2 * * *'

@description('SETTLE_HOURS: how far behind the watermark each timer run reads again.')
param settleHours int = 48

@description('HOUSEKEEPING_SCHEDULE: NCRONTAB (UTC) of the daily housekeeping (Durable history purge, backlog and poison-queue lines for the alerts). Must be present: the Functions host binds the timer to it.')
param housekeepingSchedule string = '0 30 3 * * *'

@description('HISTORY_RETENTION_DAYS: Durable orchestration history (it holds participant data) of finished runs older than this many days is purged.')
@minValue(1)
param historyRetentionDays int = 30

@description('Tuning settings (docs/settings.md), as strings. Keep RETRY_TIME_SCALE at 1 against real services.')
param tuning object = {
  MAX_WINDOW_DAYS: '31'
  SLICE_MINUTES: '60'
  SOURCE_PAGE_SIZE: '500'
  SOURCE_REQUEST_TIMEOUT_SECONDS: '60'
  QUEUE_VISIBILITY_TIMEOUT_SECONDS: '300'
  MAX_DEQUEUE_COUNT: '5'
  MAX_PARALLEL_ACTIVITIES: '8'
  IMPORT_UNITS_PER_ACTIVITY: '200'
  IMPORT_MAILBOXES_PER_ACTIVITY: '16'
  IMPORT_MAX_MAILBOXES: '64'
  IMPORT_ACTIVITY_BUDGET_SECONDS: '240'
  GRAPH_MAX_CONCURRENT_PER_MAILBOX: '4'
  RETRY_TIME_SCALE: '1'
  IMPORT_LEASE_SECONDS: '300'
  GRAPH_LOOKUP_SETTLE_SECONDS: '10'
}

// ---------------------------------------------------------------- names

var suffix = uniqueString(resourceGroup().id, baseName)
var storageAccountName = take(toLower('${baseName}st${suffix}'), 24)
var keyVaultName = take('${baseName}-kv-${suffix}', 24)
// At most 32 characters: the Functions host id is taken from the first 32 characters of the name.
var functionAppName = '${baseName}-func-${take(suffix, 8)}'
var planName = '${baseName}-plan-${suffix}'
var identityName = '${baseName}-id-${suffix}'
var appInsightsName = '${baseName}-appi-${suffix}'
var workspaceName = '${baseName}-log-${suffix}'
var actionGroupName = '${baseName}-alerts-${suffix}'
var deploymentContainerName = 'app-package'
var useGraphSecret = graphCredential == 'clientSecret'

// The names of shared/platform/names.ts. The app does not create them in Azure, so they are created here.
var appContainers = [
  'staging'
  'reports'
  'mapping'
  'runs'
]
var stageQueues = [
  'o2-fetch'
  'o2-stage'
  'o2-convert'
  'o2-map'
  'o2-import'
]
var appQueues = concat(stageQueues, map(stageQueues, q => '${q}-poison'))
// shared/stages/staging/retention.ts: a finished run touches, then tags its blobs with this blob index tag.
var retentionTag = {
  name: 'o2retention'
  settled: 'settled'
}
// shared/platform/logging.ts (LogEvents): the structured log lines the alert rules read, `<event> <JSON>`.
var logEvents = {
  runFinished: 'o2.run'
  backlog: 'o2.backlog'
  poison: 'o2.poison'
}
var appTables = [
  'O2Runs'
  'O2RunItems'
  'O2RunUnits'
  'O2Ledger'
]

// Built-in role definitions.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataReader: '19e7f393-937e-4f77-808e-94535e297925'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}
// The administrator's data roles (adminPrincipalId): the mapping and reports (blobs), runs (tables), queue peeks.
var adminStorageRoleIds = [
  roles.storageBlobDataContributor
  roles.storageTableDataContributor
  roles.storageQueueDataReader
]
var storageRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

// ---------------------------------------------------------------- monitoring

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionInDays
  }
}

// Entra ID authentication only: the host sends telemetry signed in as the managed identity
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING), so it keeps flowing where policy disables local auth.
resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------- identity

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
}

// ---------------------------------------------------------------- storage

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // Every client (the Functions host, Durable, the app, the deployment) uses Entra ID: no account keys.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for name in appContainers: {
  parent: blobService
  name: name
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for name in appQueues: {
  parent: queueService
  name: name
}]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for name in appTables: {
  parent: tableService
  name: name
}]

// Retention (shared/stages/staging/retention.ts). A lifecycle rule filters on blob index tags and on days since
// the last modification, but cannot compare a date in a tag with today. So when a run finishes,
// each of its blobs (raw pages, invalid records, unit lists) and each staged blob of its items
// (item, media, .eml, message JSON) is touched first (its metadata rewritten: the last-modified
// time becomes the settling) and tagged second (setting tags leaves the last-modified time
// alone). A tagged blob is therefore at least as young as its run's settling, and an untagged
// one is never deleted. A run that takes an item up again removes the tag first. Reports go by
// their own age. The rules run about once a day.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'staged-after-settled'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'staging/items/'
                'staging/runs/'
                'runs/'
              ]
              blobIndexMatch: [
                {
                  name: retentionTag.name
                  op: '=='
                  value: retentionTag.settled
                }
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  // One day more than the setting: a run that settles within a day of its start only tags what it
                  // wrote (shared/stages/staging/retention.ts, RUN_MARGIN_IN_MS), so its blobs may be up to a day older than the settling.
                  daysAfterModificationGreaterThan: stagedRetentionDays + 1
                }
              }
            }
          }
        }
        {
          name: 'reports'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'reports/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: reportRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    containers
  ]
}

// The user-assigned identity: the Functions host (AzureWebJobsStorage__clientId),
// Durable, the Flex deployment and, with AZURE_CLIENT_ID, the app's own clients.
resource identityStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in storageRoles: {
  name: guid(storage.id, identity.id, role)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

// ---------------------------------------------------------------- Key Vault

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
  }
}

resource telemessagePasswordSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(telemessagePassword)) {
  parent: keyVault
  name: 'telemessage-password'
  properties: {
    value: telemessagePassword
  }
}

resource graphClientSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (useGraphSecret) {
  parent: keyVault
  name: 'graph-client-secret'
  properties: {
    value: graphClientSecret
  }
}

resource identitySecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, identity.id, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource adminSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(adminPrincipalId)) {
  name: guid(keyVault.id, adminPrincipalId, roles.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: adminPrincipalId
  }
}

resource adminStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in adminStorageRoleIds: if (!empty(adminPrincipalId)) {
  name: guid(storage.id, adminPrincipalId, role)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: adminPrincipalId
  }
}]

// The identity publishes the app's telemetry to Application Insights (Entra ID authentication).
resource identityMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------- app settings

// Identity-based storage for the host and Durable; the app reads AzureWebJobsStorage__accountName itself.
var storageSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.properties.clientId
}

// Graph credential. An app registration given in GRAPH_* wins over the managed
// identity (shared/platform/graph/client.ts). With a client secret this template still
// leaves AZURE_CLIENT_ID unset, and the app's storage clients (DefaultAzureCredential)
// use the system-assigned identity it then adds (with the same storage roles).
var graphSettings = useGraphSecret
  ? {
      GRAPH_TENANT_ID: graphTenantId
      GRAPH_CLIENT_ID: graphClientId
      GRAPH_CLIENT_SECRET: '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=graph-client-secret)'
    }
  : {
      AZURE_CLIENT_ID: identity.properties.clientId
    }

// Every setting of docs/settings.md that has a meaning in Azure. Left out on
// purpose: AzureWebJobsStorage (the identity-based form above replaces it),
// GRAPH_CLIENT_CERTIFICATE_PATH (a file path; use the managed identity or a
// secret here), GRAPH_DEV_TOKEN and GRAPH_CA_CERT_PATH (refused unless Graph is
// on localhost), the emulator-only TM_EMULATOR_FAULT_RATE,
// GRAPH_EMULATOR_FAULT_RATE and EMULATOR_SEED, and LOCAL_FUNCTION_KEY and
// LOCAL_ADMIN_KEY (o2-archiver serve only; in Azure the host's keys apply).
var archiverSettings = {
  TELEMESSAGE_BASE_URL: telemessageBaseUrl
  TELEMESSAGE_USERNAME: telemessageUsername
  TELEMESSAGE_PASSWORD: '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=telemessage-password)'
  GRAPH_BASE_URL: graphBaseUrl
  GRAPH_IMPORT_MODE: graphImportMode
  ARCHIVE_FOLDER_NAME: archiveFolderName
  MAX_ITEM_BYTES: string(maxItemBytes)
  DEFAULT_PHONE_REGION: defaultPhoneRegion
  DISPLAY_TIME_ZONE: displayTimeZone
  ARCHIVE_SCHEDULE: archiveSchedule
  SETTLE_HOURS: string(settleHours)
  HOUSEKEEPING_SCHEDULE: housekeepingSchedule
  HISTORY_RETENTION_DAYS: string(historyRetentionDays)
}

var runtimeSettings = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
}

var appSettings = union(runtimeSettings, storageSettings, graphSettings, archiverSettings, tuning)

// ---------------------------------------------------------------- function app

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: useGraphSecret ? 'SystemAssigned, UserAssigned' : 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [for setting in items(appSettings): {
        name: setting.key
        value: setting.value
      }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: durableAlwaysReadyInstances > 0
          ? [
              {
                name: 'durable'
                instanceCount: durableAlwaysReadyInstances
              }
            ]
          : []
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
  dependsOn: [
    identityStorageRoles
    identitySecretsUser
    identityMetricsPublisher
    deploymentContainer
    telemessagePasswordSecret
    graphClientSecretSecret
  ]
}

// clientSecret only: the system-assigned identity of the app's own storage clients (see graphSettings).
resource systemStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in storageRoles: if (useGraphSecret) {
  name: guid(storage.id, functionApp.id, 'system', role)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: useGraphSecret ? functionApp.identity.principalId : ''
    principalType: 'ServicePrincipal'
  }
}]

// ---------------------------------------------------------------- alerts

// Log search alert rules on the workspace (table AppTraces), over the lines the app writes
// (shared/platform/logging.ts): `o2.run` when a run finishes, `o2.backlog` and `o2.poison` from the daily
// housekeeping (and `o2.poison` after every run). host.json keeps traces out of sampling, so
// no line is dropped. Each line is `<event> <JSON>`: run ids, statuses, counts and times only.
resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  properties: {
    groupShortName: 'o2archiver'
    enabled: true
    emailReceivers: [
      {
        name: 'archiver-admin'
        emailAddress: alertEmailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

// `<event> <JSON>` lines of one event, with the JSON parsed into e.
var eventsOf = {
  runFinished: 'AppTraces | where Message startswith "${logEvents.runFinished} " | extend e = parse_json(substring(Message, indexof(Message, " ") + 1))'
  backlog: 'AppTraces | where Message startswith "${logEvents.backlog} " | extend e = parse_json(substring(Message, indexof(Message, " ") + 1))'
  poison: 'AppTraces | where Message startswith "${logEvents.poison} " | extend e = parse_json(substring(Message, indexof(Message, " ") + 1))'
}

var alertRules = [
  {
    name: 'no-completed-run'
    displayName: 'O2 archiver: no completed run in 26 hours'
    description: 'No run finished completed or completed-with-failures in the last 26 hours: the daily timer did not run, or every run failed. Until the first run after deployment this alert is expected. Check the function app and docs/operations.md.'
    severity: 1
    frequency: 'PT1H'
    query: '${eventsOf.runFinished} | where TimeGenerated > ago(26h) | where tostring(e.status) in ("completed", "completed-with-failures") | project TimeGenerated, runId = tostring(e.runId)'
    operator: 'LessThan'
    threshold: 1
    autoMitigate: true
  }
  {
    name: 'run-failed'
    displayName: 'O2 archiver: a run failed or completed with failures'
    description: 'A run ended failed or completed-with-failures. Read its report (GET /api/runs/<runId>) and docs/operations.md, "Debugging a failed run".'
    severity: 1
    frequency: 'PT1H'
    query: '${eventsOf.runFinished} | where TimeGenerated > ago(1h) | where tostring(e.status) in ("failed", "completed-with-failures") | project TimeGenerated, runId = tostring(e.runId), status = tostring(e.status), trigger = tostring(e.trigger)'
    operator: 'GreaterThan'
    threshold: 0
    autoMitigate: false
  }
  {
    name: 'old-backlog-item'
    displayName: 'O2 archiver: a re-drive backlog item older than ${backlogAlertAgeHours} hours'
    description: 'The oldest unmapped or failed item of the re-drive backlog has waited longer than ${backlogAlertAgeHours} hours (from the daily housekeeping line). Fix the mapping or the cause and re-drive (docs/operations.md, "Re-drive").'
    severity: 2
    frequency: 'PT6H'
    query: '${eventsOf.backlog} | where TimeGenerated > ago(26h) | summarize arg_max(TimeGenerated, *) | where isnotempty(tostring(e.oldestSince)) and todatetime(tostring(e.oldestSince)) < ago(${backlogAlertAgeHours}h) | project TimeGenerated, total = toint(e.total), oldestSince = tostring(e.oldestSince)'
    operator: 'GreaterThan'
    threshold: 0
    autoMitigate: true
  }
  {
    name: 'poisoned-message'
    displayName: 'O2 archiver: a message in a poison queue'
    description: 'A stage gave up on a message and moved it to its o2-*-poison queue. See docs/operations.md, "Poison queues", then clear the queue.'
    severity: 2
    frequency: 'PT1H'
    query: '${eventsOf.poison} | where TimeGenerated > ago(26h) | summarize arg_max(TimeGenerated, *) | where toint(e.total) > 0 | project TimeGenerated, total = toint(e.total)'
    operator: 'GreaterThan'
    threshold: 0
    autoMitigate: true
  }
]

resource alerts 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = [for rule in alertRules: {
  name: '${baseName}-${rule.name}'
  location: location
  kind: 'LogAlert'
  properties: {
    displayName: rule.displayName
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      workspace.id
    ]
    evaluationFrequency: rule.frequency
    windowSize: rule.frequency
    // The queries pick their own time range (ago(26h) and the like) inside this one.
    overrideQueryTimeRange: 'P2D'
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: 'Count'
          operator: rule.operator
          threshold: rule.threshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: rule.autoMitigate
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

// ---------------------------------------------------------------- outputs

output functionAppName string = functionApp.name
output functionAppHostName string = functionApp.properties.defaultHostName
output storageAccountName string = storage.name
output keyVaultName string = keyVault.name
output appInsightsName string = appInsights.name
output logAnalyticsWorkspaceName string = workspace.name
output actionGroupName string = actionGroup.name
@description('The managed identity to grant Graph application permissions to (when graphCredential is managedIdentity) and to scope with Exchange RBAC for Applications.')
output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
