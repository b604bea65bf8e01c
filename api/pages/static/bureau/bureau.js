/* The bureau dashboard: sign in with a staff account's username and password (the token it
   answers is kept in sessionStorage for the tab's life; signing out revokes it), pick a
   period and a place, read the report JSON, show its charts (SVG drawn by the
   server, fetched with the token and shown through blob: URLs), the top problem roads, and
   download the CSV, XLSX and monthly PDF (fetch + Blob + <a download>). */
"use strict";

const TOKEN_KEY = "parking.bureau.token";
const READERS = ["admin", "bureau", "city"];
const EXPONENTS = { CNY: 2, USD: 2, EUR: 2, AUD: 2, GBP: 2, JPY: 0 };
const $ = (id) => document.getElementById(id);
const body = document.body.dataset;
const chartUrls = new Map();
let generation = 0;

class ApiProblem extends Error {
  constructor(status, code, message, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || [];
  }
}

async function call(url, accept = "application/json", options = {}) {
  const headers = { Accept: accept + ", application/problem+json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  const init = { headers, cache: "no-store", method: options.method || "GET" };
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new ApiProblem(0, "network", t("the server cannot be reached"));
  }
  if (!response.ok) {
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    const code = (data && data.code) || "http_" + response.status;
    const message = (data && (data.title || data.detail)) || response.statusText || t("request failed");
    throw new ApiProblem(response.status, code, message, data && data.errors);
  }
  return response;
}

function describe(err) {
  const fields = err.fields && err.fields.length ? ` (${[].concat(err.fields).join(", ")})` : "";
  return `${err.code || "error"}: ${err.message}${fields}`;
}

function showError(err) {
  if (err.status === 401) {
    forget();
    showSignInError(err);
    return;
  }
  $("error").textContent = describe(err);
  $("error").hidden = false;
}

function showSignInError(err) {
  $("sign-in-error").textContent = describe(err);
  $("sign-in-error").hidden = false;
}

function money(amount) {
  if (amount === null || amount === undefined) return "–";
  const exponent = EXPONENTS[body.currency] ?? 2;
  return (amount / 10 ** exponent).toFixed(exponent) + " " + body.currency;
}

const number = (v, digits = 1) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
const percent = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(1) + " %");
const total = (rows) => rows.reduce((sum, row) => sum + row.count, 0);

const FIGURES = [
  [t("Mean occupancy"), (f) => percent(f.occupancy.mean_percent)],
  [t("Stays started"), (f) => String(f.stays.count)],
  [t("Turnover per bay per day"), (f) => number(f.stays.turnover_per_bay_per_day, 2)],
  [t("Mean dwell (min)"), (f) => number(f.stays.dwell_mean_minutes)],
  [t("Billed"), (f) => money(f.revenue.billed)],
  [t("Paid on those fees"), (f) => money(f.revenue.paid)],
  [t("Outstanding"), (f) => money(f.revenue.outstanding)],
  [t("Collection rate"), (f) => (f.revenue.collection_rate === null ? "–" : percent(f.revenue.collection_rate * 100))],
  [t("Collected"), (f) => money(f.revenue.collected)],
  [t("Net collected"), (f) => money(f.revenue.net_collected)],
  [t("Violations"), (f) => String(total(f.violations))],
  [t("Citations"), (f) => String(total(f.citations))],
];

function cell(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text;
  return el;
}

function renderFigures(report) {
  const rows = FIGURES.map(([label, show]) => {
    const tr = document.createElement("tr");
    tr.append(cell("th", label), cell("td", show(report.current)), cell("td", show(report.previous)));
    tr.firstChild.scope = "row";
    return tr;
  });
  $("figures").tBodies[0].replaceChildren(...rows);
  const range = (p) => (p.start === p.end ? p.start : `${p.start} – ${p.end}`);
  $("period-title").textContent =
    t("%(place)s: %(period)s (previous: %(previous)s)", {
      place: report.place.name, period: range(report.current.period), previous: range(report.previous.period),
    });
}

const RANKINGS = [
  ["most_violations", t("Most violations"), (r) => t("%(count)s violations", { count: r.violations })],
  ["lowest_collection_rate", t("Lowest collection rate"),
    (r) => t("%(rate)s of %(billed)s", { rate: percent(r.collection_rate * 100), billed: money(r.billed) })],
  ["highest_occupancy", t("Highest occupancy"), (r) => percent(r.occupancy_percent)],
  ["lowest_occupancy", t("Lowest occupancy"), (r) => percent(r.occupancy_percent)],
];

function renderProblems(problems) {
  const blocks = RANKINGS.map(([key, title, figure]) => {
    const block = document.createElement("div");
    block.className = "ranking";
    block.dataset.ranking = key;
    const list = document.createElement("ol");
    for (const road of problems[key]) list.append(cell("li", `${road.name}: ${figure(road)}`));
    if (!problems[key].length) list.append(cell("li", t("no road has this figure")));
    block.append(cell("h3", title), list);
    return block;
  });
  $("problems").replaceChildren(...blocks);
}

function params() {
  const [placeType, placeId] = $("place").value.split(":");
  const query = new URLSearchParams({ place_type: placeType, period: $("period").value, start: $("start").value });
  if (placeId) query.set("place_id", placeId);
  return query;
}

async function showChart(img, query, mine) {
  const response = await call(`${body.reports}/charts/${img.dataset.chart}.svg?${query}`, "image/svg+xml");
  const blob = await response.blob();
  if (mine !== generation) return;
  const url = URL.createObjectURL(blob);
  await new Promise((resolve, reject) => {
    img.onload = resolve;
    img.onerror = () => reject(new ApiProblem(0, "bad_chart", t("the %(chart)s chart did not load", { chart: img.dataset.chart })));
    img.src = url;
  });
  img.dataset.type = blob.type;
  if (chartUrls.has(img.id)) URL.revokeObjectURL(chartUrls.get(img.id));
  chartUrls.set(img.id, url);
}

async function load() {
  const mine = ++generation;
  const query = params();
  const dash = $("dashboard");
  dash.dataset.state = "loading";
  $("error").hidden = true;
  try {
    const problemsQuery = new URLSearchParams({ period: query.get("period"), start: query.get("start") });
    const [report, problems] = await Promise.all([
      call(`${body.reports}/summary?${query}`).then((r) => r.json()),
      call(`${body.reports}/top-problems?${problemsQuery}`).then((r) => r.json()),
    ]);
    if (mine !== generation) return;
    renderFigures(report);
    renderProblems(problems);
    await Promise.all([...document.querySelectorAll("img[data-chart]")].map((img) => showChart(img, query, mine)));
    if (mine === generation) {
      dash.dataset.state = "ready";
      dash.dataset.query = query.toString();
    }
  } catch (err) {
    if (mine !== generation) return;
    dash.dataset.state = "error";
    showError(err);
  }
}

/** Weeks start on a Monday and months on the 1st: move the start date back to one. */
function snapStart() {
  const value = $("start").value;
  if (!value) return;
  const day = new Date(value + "T00:00:00Z");
  if ($("period").value === "week") day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7));
  if ($("period").value === "month") day.setUTCDate(1);
  $("start").value = day.toISOString().slice(0, 10);
}

async function download(url, fallbackName) {
  $("error").hidden = true;
  try {
    const response = await call(url, "*/*");
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="([^"]+)"/.exec(disposition);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = match ? match[1] : fallbackName;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  } catch (err) {
    showError(err);
  }
}

function downloadReport(format) {
  const query = params();
  query.set("format", format);
  download(`${body.reports}/summary?${query}`, `report.${format}`);
}

function downloadMonthly() {
  const month = $("start").value.slice(0, 7);
  download(`${body.reports}/monthly.pdf?month=${month}`, `report-${month}.pdf`);
}

async function signIn(username, password) {
  $("sign-in-error").hidden = true;
  try {
    const session = await (
      await call(`${body.staff}/sign-in`, "application/json", { method: "POST", json: { username, password } })
    ).json();
    $("password").value = "";
    await enter(session.token);
  } catch (err) {
    showSignInError(err);
  }
}

/** Start with a token: from signing in, or kept for the tab's life. A role that may not read
    reports is told so, and its token is revoked at once. */
async function enter(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  let me;
  try {
    me = await (await call(`${body.staff}/me`)).json();
  } catch (err) {
    forget();
    showSignInError(err);
    return;
  }
  if (!READERS.includes(me.role)) {
    await signOut();
    showSignInError(new ApiProblem(403, "forbidden", t("the %(role)s role may not read reports; sign in as bureau, admin or city", { role: me.role })));
    return;
  }
  $("who").textContent = t("Signed in as %(name)s (%(role)s)", { name: me.name, role: t(me.role) });
  $("sign-in").hidden = true;
  $("sign-out").hidden = false;
  $("dashboard").hidden = false;
  await load();
}

/** Back to the sign-in form, keeping nothing. */
function forget() {
  sessionStorage.removeItem(TOKEN_KEY);
  $("who").textContent = "";
  $("sign-in").hidden = false;
  $("sign-out").hidden = true;
  $("dashboard").hidden = true;
}

async function signOut() {
  try {
    if (sessionStorage.getItem(TOKEN_KEY)) await call(`${body.staff}/sign-out`, "application/json", { method: "POST" });
  } catch (err) {
    // the token was already expired or revoked: nothing left to end
  }
  forget();
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const username = $("username").value.trim();
    if (username && $("password").value) signIn(username, $("password").value);
  });
  $("sign-out").addEventListener("click", signOut);
  $("period-form").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  $("period").addEventListener("change", () => {
    snapStart();
    load();
  });
  $("start").addEventListener("change", () => {
    snapStart();
    load();
  });
  $("place").addEventListener("change", load);
  $("download-csv").addEventListener("click", () => downloadReport("csv"));
  $("download-xlsx").addEventListener("click", () => downloadReport("xlsx"));
  $("download-pdf").addEventListener("click", downloadMonthly);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) enter(token);
});
