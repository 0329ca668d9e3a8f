<#
.SYNOPSIS
  Grants the O2 Network Archiver's identity exactly the mailbox access it needs,
  through Exchange Online RBAC for Applications, scoped to the members of one
  mail-enabled security group.

.DESCRIPTION
  The archiver creates a folder and messages (with attachments) in the
  mailboxes of the O2 subscribers, finds messages by a named property, and the
  canary (o2-archiver check --canary) deletes its own test message for good.
  All of that is the Exchange application role "Application Mail.ReadWrite".

  This script, run in Exchange Online PowerShell by an Exchange administrator:
    1. makes the identity's service principal known to Exchange (New-ServicePrincipal),
    2. creates (or corrects) a management scope whose RecipientRestrictionFilter
       is membership of the group (New-ManagementScope, MemberOfGroup),
    3. assigns "Application Mail.ReadWrite" to the service principal, limited to
       that scope (New-ManagementRoleAssignment -CustomResourceScope),
    4. with -TestMailbox, shows what the service principal may do in one mailbox
       (Test-ServicePrincipalAuthorization).
  It is idempotent: run it again and it changes only what differs.

  What it does not do, on purpose:
    - It grants nothing in Entra ID. Do NOT also grant the Microsoft Graph
      application permission Mail.ReadWrite in Entra ID (API permissions / app
      role assignment): the two grants add up, and the Entra grant reaches every
      mailbox of the tenant, which makes this scope moot. The script lists the
      identity's Graph app roles at the end so that you can check.
    - User.Read.All (to find users by address in the directory) is not an
      Exchange permission: it stays an Entra ID app role grant (README "Deploy").

  Membership is direct: MemberOfGroup does not expand nested groups. A change
  of role assignment or scope can take up to two hours to apply; only a call
  proves access (o2-archiver check --mailbox / --canary).

.PARAMETER AppId
  The application (client) id of the service principal: the managed identity's
  client id (template output identityClientId), or an app registration's
  client id (the one the canary runs as, for example).

.PARAMETER ServicePrincipalObjectId
  The object id of that service principal in Entra ID: for the managed identity,
  the template output identityPrincipalId; for an app registration, the object
  id of its Enterprise application (not of the App registration).

.PARAMETER Group
  The mail-enabled security group whose members' mailboxes are archived: its
  name, alias or address.

.PARAMETER ScopeName
  The management scope to create or correct. Default "O2 Network Archiver mailboxes".

.PARAMETER DisplayName
  The service principal's display name in Exchange. Default "O2 Network Archiver".

.PARAMETER TestMailbox
  A mailbox to test the grant against (a member of the group).

.EXAMPLE
  Connect-ExchangeOnline
  ./infra/grant-exchange-rbac.ps1 -AppId <identityClientId> -ServicePrincipalObjectId <identityPrincipalId> `
      -Group o2-archived@contoso.com -TestMailbox alex@contoso.com
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
  [Parameter(Mandatory = $true)][ValidatePattern('^[0-9a-fA-F-]{36}$')][string] $AppId,
  [Parameter(Mandatory = $true)][ValidatePattern('^[0-9a-fA-F-]{36}$')][string] $ServicePrincipalObjectId,
  [Parameter(Mandatory = $true)][string] $Group,
  [string] $ScopeName = 'O2 Network Archiver mailboxes',
  [string] $DisplayName = 'O2 Network Archiver',
  [string] $TestMailbox
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$Role = 'Application Mail.ReadWrite'
$AssignmentName = "$DisplayName - $Role"

if (-not (Get-Command Get-ServicePrincipal -ErrorAction SilentlyContinue)) {
  throw 'Exchange Online PowerShell is not connected: Install-Module ExchangeOnlineManagement; Connect-ExchangeOnline'
}

# 1. The group, and the filter on its members.
$groupObject = Get-DistributionGroup -Identity $Group
if ($groupObject.RecipientTypeDetails -ne 'MailUniversalSecurityGroup') {
  throw "$Group is a $($groupObject.RecipientTypeDetails), not a mail-enabled security group"
}
$filter = "MemberOfGroup -eq '$($groupObject.DistinguishedName)'"
Write-Host "Group: $($groupObject.PrimarySmtpAddress) ($($groupObject.DistinguishedName))"

# 2. The service principal, known to Exchange.
$sp = Get-ServicePrincipal -Identity $AppId -ErrorAction SilentlyContinue
if (-not $sp) {
  if ($PSCmdlet.ShouldProcess($AppId, 'New-ServicePrincipal')) {
    $sp = New-ServicePrincipal -AppId $AppId -ObjectId $ServicePrincipalObjectId -DisplayName $DisplayName
  }
} elseif ($sp.ObjectId -ne $ServicePrincipalObjectId) {
  throw "Exchange knows app $AppId with object id $($sp.ObjectId), not ${ServicePrincipalObjectId}; check which object id is the service principal's"
}
Write-Host "Service principal: $DisplayName (app $AppId, object $ServicePrincipalObjectId)"

# 3. The management scope: exactly the group's members.
$scope = Get-ManagementScope -Identity $ScopeName -ErrorAction SilentlyContinue
if (-not $scope) {
  if ($PSCmdlet.ShouldProcess($ScopeName, "New-ManagementScope ($filter)")) {
    $scope = New-ManagementScope -Name $ScopeName -RecipientRestrictionFilter $filter
  }
} elseif ($scope.RecipientFilter -ne $filter) {
  if ($PSCmdlet.ShouldProcess($ScopeName, "Set-ManagementScope ($filter)")) {
    Set-ManagementScope -Identity $ScopeName -RecipientRestrictionFilter $filter
  }
}
Write-Host "Scope: $ScopeName = $filter"

# 4. The one application role, limited to the scope.
# Assignments of the role to this service principal, whichever way Exchange names the assignee.
$names = @($AppId, $ServicePrincipalObjectId, $DisplayName) + @(if ($sp) { $sp.DisplayName, $sp.Identity })
$assignments = @(Get-ManagementRoleAssignment -Role $Role -ErrorAction SilentlyContinue |
  Where-Object { "$($_.RoleAssignee)" -in $names -or "$($_.RoleAssigneeName)" -in $names })
$unscoped = @($assignments | Where-Object { $_.CustomResourceScope -ne $ScopeName })
foreach ($a in $unscoped) {
  # An assignment of the role without this scope reaches more mailboxes than the group.
  if ($PSCmdlet.ShouldProcess($a.Name, 'Remove-ManagementRoleAssignment (not limited to the scope)')) {
    Remove-ManagementRoleAssignment -Identity $a.Name -Confirm:$false
  }
}
if (-not ($assignments | Where-Object { $_.CustomResourceScope -eq $ScopeName })) {
  if ($PSCmdlet.ShouldProcess($AppId, "New-ManagementRoleAssignment $Role in $ScopeName")) {
    New-ManagementRoleAssignment -Name $AssignmentName -App $AppId -Role $Role -CustomResourceScope $ScopeName | Out-Null
  }
}
Write-Host "Role: $Role, limited to $ScopeName"

# 5. What it may do in a mailbox of the group.
if ($TestMailbox) {
  Test-ServicePrincipalAuthorization -Identity $AppId -Resource $TestMailbox | Format-Table RoleName, GrantedPermissions, AllowedResourceScope, ScopeType, InScope
}

Write-Host ''
Write-Host 'Check that no Entra ID grant of Mail.ReadWrite undoes the scope: the first list must not hold the second id.'
Write-Host "  az rest --method GET --uri https://graph.microsoft.com/v1.0/servicePrincipals/$ServicePrincipalObjectId/appRoleAssignments --query 'value[].appRoleId' -o tsv"
Write-Host "  az ad sp show --id 00000003-0000-0000-c000-000000000000 --query `"appRoles[?value=='Mail.ReadWrite'].id`" -o tsv"
Write-Host 'Changes can take up to two hours to apply. Then: o2-archiver check --mailbox <a member>, and the canary (README "Deploy").'
