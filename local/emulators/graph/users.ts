/**
 * The directory: `GET /users/{id | userPrincipalName}` and `GET /users` with
 * `$filter`, `$select`, `$top` and paging, as Entra answers them. Strings
 * compare without regard to case (so `mail eq 'A@X.COM'` finds a@x.com);
 * `proxyAddresses/any(x:x eq 'smtp:…')` matches any of a user's addresses;
 * a filter with more than 15 expressions is refused, as "Use the $filter
 * query parameter" notes for `in`; `ne`, `not`, `endswith` and `contains` need
 * the advanced query parameters (ConsistencyLevel: eventual and $count).
 */
import { GraphHttpError } from './errors';
import { json, page, readTop, type GraphResponse, type RequestContext } from './context';
import { countExpressions, matchesFilter, ODataSyntaxError, parseFilter, parseSelect, type FilterNode, type FilterSemantics } from './odata';
import type { GraphStore } from './store';
import type { TenantUser } from './types';

const USER_TYPE = 'microsoft.graph.user';
const USER_DEFAULT = ['businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName', 'id'];
const USER_SELECTABLE = new Set([...USER_DEFAULT, 'proxyAddresses', 'otherMails', 'accountEnabled', 'mailNickname'].map((p) => p.toLowerCase()));
const USER_FILTERABLE = new Set(['id', 'displayname', 'userprincipalname', 'mail', 'proxyaddresses', 'othermails', 'givenname', 'surname', 'accountenabled', 'mailnickname']);

const userSemantics: FilterSemantics = { properties: USER_FILTERABLE, typeName: USER_TYPE };

function userJson(u: TenantUser): Record<string, unknown> {
  const nickname = u.userPrincipalName.split('@')[0];
  return {
    businessPhones: [], displayName: u.displayName, givenName: null, jobTitle: null, mail: u.mail, mobilePhone: null,
    officeLocation: null, preferredLanguage: null, surname: null, userPrincipalName: u.userPrincipalName, id: u.id,
    proxyAddresses: u.proxyAddresses, otherMails: [], accountEnabled: true, mailNickname: nickname,
  };
}

function project(full: Record<string, unknown>, select: string[] | null): Record<string, unknown> {
  const keys = select ?? USER_DEFAULT;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const actual = Object.keys(full).find((f) => f.toLowerCase() === k.toLowerCase());
    if (actual) out[actual] = full[actual];
  }
  return out;
}

function readSelect(ctx: RequestContext): string[] | null {
  let select: string[] | null;
  try {
    select = parseSelect(ctx.query.get('$select'));
  } catch (e) {
    throw new GraphHttpError(400, 'BadRequest', (e as Error).message);
  }
  for (const s of select ?? []) {
    if (!USER_SELECTABLE.has(s.toLowerCase())) {
      throw new GraphHttpError(400, 'BadRequest', `Parsing OData Select and Expand failed: Could not find a property named '${s}' on type '${USER_TYPE}'.`);
    }
  }
  return select;
}

function needsAdvancedQuery(node: FilterNode): boolean {
  switch (node.kind) {
    case 'not': return true;
    case 'compare': return node.op === 'ne' || needsAdvancedQuery(node.left) || needsAdvancedQuery(node.right);
    case 'call': return node.name === 'endswith' || node.name === 'contains';
    case 'and': case 'or': return needsAdvancedQuery(node.left) || needsAdvancedQuery(node.right);
    case 'lambda': return needsAdvancedQuery(node.body);
    default: return false;
  }
}

/** `GET /users/{id | userPrincipalName}`. */
export function getUser(ctx: RequestContext, store: GraphStore, key: string): GraphResponse {
  const user = store.findUser(key);
  if (!user) {
    throw new GraphHttpError(404, 'Request_ResourceNotFound', `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`);
  }
  const select = readSelect(ctx);
  return json(200, {
    '@odata.context': `${ctx.baseUrl}/$metadata#users${select ? `(${select.join(',')})` : ''}/$entity`,
    ...project(userJson(user), select),
  });
}

/** `GET /users` with `$filter`, `$select`, `$top`, `$count`. */
export function listUsers(ctx: RequestContext, store: GraphStore): GraphResponse {
  const select = readSelect(ctx);
  const advanced = (ctx.headers['consistencylevel'] ?? '').toLowerCase() === 'eventual';
  let users = [...store.users];
  const filterText = ctx.query.get('$filter');
  if (filterText !== null) {
    let node: FilterNode;
    try {
      node = parseFilter(filterText);
      matchesFilter(node, {}, userSemantics);
    } catch (e) {
      if (e instanceof ODataSyntaxError) throw new GraphHttpError(400, 'BadRequest', e.message);
      throw e;
    }
    const expressions = countExpressions(node);
    if (expressions > 15) {
      throw new GraphHttpError(400, 'Request_UnsupportedQuery',
        `Too many child clauses specified in search filter expression containing 'OR' operators: ${expressions}. Max allowed: 15.`);
    }
    if (!advanced && needsAdvancedQuery(node)) {
      throw new GraphHttpError(400, 'Request_UnsupportedQuery', 'Unsupported or invalid query filter clause specified for property of resource \'User\'.');
    }
    users = users.filter((u) => matchesFilter(node, userJson(u), userSemantics));
  }
  const top = readTop(ctx, 100, 999);
  const { value, nextLink } = page(ctx, users, top, 'skiptoken');
  const body: Record<string, unknown> = { '@odata.context': `${ctx.baseUrl}/$metadata#users${select ? `(${select.join(',')})` : ''}` };
  if (advanced && (ctx.query.get('$count') ?? '').toLowerCase() === 'true') body['@odata.count'] = users.length;
  if (nextLink) body['@odata.nextLink'] = nextLink;
  body.value = value.map((u) => project(userJson(u), select));
  return json(200, body);
}
