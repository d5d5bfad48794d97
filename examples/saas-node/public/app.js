// The one page: signs in through Tenantry's hosted pages, gets the access token from the hosted
// session with the SDK's browser helper, and calls this app's backend with it.
import { createBrowserSession } from "@tenantry/sdk/browser";

const $ = (id) => document.getElementById(id);
const { tenantryUrl } = await (await fetch("/config.json")).json();
const session = createBrowserSession({ tenantryUrl });

/** Calls the backend; a refusal (problem+json) is shown in #status and returned as null. */
async function api(method, path, body) {
  const response = await session.fetch(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) {
    status(`${response.status} ${data.type}: ${data.detail}`, true);
    return null;
  }
  return data;
}

function status(text, refused = false) {
  $("status").textContent = text;
  $("status").className = refused ? "refused" : "";
}

function list(element, items, render) {
  element.replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    render(li, item);
    return li;
  }));
}

async function show() {
  const token = await session.getAccessToken();
  $("signed-out").hidden = token !== null;
  $("signed-in").hidden = token === null;
  if (token === null) {
    $("sign-in").href = session.signInUrl(location.href);
    status("Signed out.");
    return;
  }
  const me = await api("GET", "/api/me");
  if (me === null) return;
  $("email").textContent = me.email;
  list($("orgs"), me.orgs, (li, org) => {
    const button = document.createElement("button");
    button.textContent = org.org_id === me.active_org_id ? `${org.name} (${org.role}, active)` : `Use ${org.name} (${org.role})`;
    button.dataset.orgId = org.org_id;
    button.addEventListener("click", () =>
      session
        .setActiveOrg(org.org_id)
        .then(show)
        .catch((err) => status(`Could not switch: ${err.message}`, true)),
    );
    li.append(button);
  });
  const active = me.orgs.find((o) => o.org_id === me.active_org_id);
  $("org").hidden = active === undefined;
  if (active === undefined) {
    status("Signed in. Choose or create an organization.");
    return;
  }
  $("org-name").textContent = active.name;
  $("org-role").textContent = active.role;
  $("org-id").textContent = active.org_id;
  $("members").replaceChildren();
  const projects = await api("GET", `/api/orgs/${active.org_id}/projects`);
  if (projects !== null) {
    list($("projects"), projects.projects, (li, p) => (li.textContent = `${p.name} (by ${p.created_by})`));
    status(`Signed in, acting in ${active.name}.`);
  }
}

$("new-org").addEventListener("submit", async (event) => {
  event.preventDefault();
  const org = await api("POST", "/api/orgs", { name: event.target.name.value });
  if (org !== null) {
    event.target.reset();
    await session.setActiveOrg(org.org_id);
    await show();
  }
});

$("new-project").addEventListener("submit", async (event) => {
  event.preventDefault();
  const me = await session.claims();
  const project = await api("POST", `/api/orgs/${me.active_org_id}/projects`, { name: event.target.name.value });
  if (project !== null) {
    event.target.reset();
    await show();
    status(`Added ${project.name}.`);
  }
});

$("show-members").addEventListener("click", async () => {
  const me = await session.claims();
  const members = await api("GET", `/api/orgs/${me.active_org_id}/members`);
  if (members !== null) {
    list($("members"), members.members, (li, m) => (li.textContent = `${m.email} (${m.role})`));
    status(`${members.members.length} member(s).`);
  }
});

show().catch((err) => status(`Could not load: ${err.message}`, true));
