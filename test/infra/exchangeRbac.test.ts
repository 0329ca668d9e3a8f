/**
 * infra/grant-exchange-rbac.ps1, read as text (no PowerShell here): it grants
 * the one Exchange application role the archiver needs, limited to a scope of
 * the group's members, and grants nothing tenant-wide in Entra ID.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

describe('infra/grant-exchange-rbac.ps1', () => {
  const script = readFileSync(path.resolve(__dirname, '../../infra/grant-exchange-rbac.ps1'), 'utf8');
  const code = script.replace(/<#[\s\S]*?#>/g, '').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');

  it('makes the service principal known to Exchange and scopes the role to the group\'s members', () => {
    expect(code).toMatch(/New-ServicePrincipal -AppId \$AppId -ObjectId \$ServicePrincipalObjectId/);
    expect(code).toContain("$filter = \"MemberOfGroup -eq '$($groupObject.DistinguishedName)'\"");
    expect(code).toMatch(/New-ManagementScope -Name \$ScopeName -RecipientRestrictionFilter \$filter/);
    expect(code).toMatch(/New-ManagementRoleAssignment -Name \$AssignmentName -App \$AppId -Role \$Role -CustomResourceScope \$ScopeName/);
    expect(code).toContain("$Role = 'Application Mail.ReadWrite'");
    expect(code).toMatch(/MailUniversalSecurityGroup/);
  });

  it('grants no other role, and nothing in Entra ID', () => {
    const roles = [...code.matchAll(/'Application [^']+'/g)].map((m) => m[0]);
    expect(new Set(roles)).toEqual(new Set(["'Application Mail.ReadWrite'"]));
    expect(code).not.toMatch(/New-MgServicePrincipalAppRoleAssignment|--method POST|appRoleAssignedTo|Add-AzureADServiceAppRoleAssignment/i);
  });
});
