/* The warden handheld: sign in with a username and password, report where I am, work the task list
   (take, then resolve with an outcome, a note and a photo), and check plates at the curb.
   Plain DOM code; everything it loads comes from this server. */
"use strict";

(() => {
  const api = handheldApi;
  const body = document.body;
  const district = body.dataset.district;
  const timeZone = body.dataset.timeZone;
  const currency = body.dataset.currency;
  const TASKS_KEY = "parking.handheld.tasks." + district;
  const BAYS_KEY = "parking.handheld.bays." + district;
  const ME_KEY = "parking.handheld.me." + district; // who signed in, for a tab reopened offline
  const MAX_PHOTO_BYTES = 5 * 1024 * 1024;
  const KIND_LABELS = {
    check_overstay: t("Overstay"),
    clear_restriction: t("Restriction"),
    register_plate: t("Register plate"),
    clear_obstruction: t("Obstruction"),
    collect_arrears: t("Collect arrears"),
    street_report: t("Street report"),
  };
  // Slugs the API answers as data (rules, outcomes, statuses), in the page's language.
  const WORDS = {
    overstay: t("overstay"), restriction: t("restriction"), unregistered: t("unregistered"),
    obstruction: t("obstruction"), arrears: t("arrears"), open: t("open"), escalated: t("escalated"),
    taken: t("taken"), resolved: t("resolved"), citation_issued: t("citation issued"), warned: t("warned"),
    vehicle_gone: t("vehicle gone"), false_alarm: t("false alarm"), issued: t("issued"), paid: t("paid"),
    cancelled: t("cancelled"), admin: t("admin"), bureau: t("bureau"), warden: t("warden"),
    attendant: t("attendant"), police: t("police"), city: t("city"),
    ticketed: t("ticketed"), towed: t("towed"), moved_on: t("moved on"), no_offence: t("no offence"),
    stall_removed: t("stall removed"), goods_cleared: t("goods cleared"), site_regularised: t("site regularised"),
    referred: t("referred"), no_action: t("no action"), appealed: t("appealed"), upheld: t("upheld"),
    voided: t("voided"), vending: t("vending"), goods_on_road: t("goods on the road"),
    construction: t("construction"), other: t("other"),
  };
  // The plate check's rows, by their English names (which stay the rows' data-field).
  const ROWS = {
    Plate: t("Plate"), "Parked at": t("Parked at"), "Last parked at": t("Last parked at"), Since: t("Since"),
    Left: t("Left"), "At this bay": t("At this bay"), "Fee so far": t("Fee so far"), Fee: t("Fee"),
    Paid: t("Paid"), Arrears: t("Arrears"), Outstanding: t("Outstanding"),
  };

  const $ = (id) => document.getElementById(id);
  const state = { me: null, bays: new Map(), baysLoaded: null, tasks: [], resolving: null };

  // --- small helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name.startsWith("data-")) node.setAttribute(name, value);
      else node[name] = value;
    }
    for (const child of children.flat(Infinity)) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  const clock = new Intl.DateTimeFormat(pageWords.locale.startsWith("zh") ? "zh-CN" : "en-GB", {
    timeZone, day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", hour12: false,
  });
  const money = new Intl.NumberFormat("zh-CN", { style: "currency", currency });
  const minorDigits = money.resolvedOptions().maximumFractionDigits;

  const when = (iso) => (iso ? clock.format(new Date(iso)) : "—");
  const amount = (minor) => (minor === null || minor === undefined ? "—" : money.format(minor / 10 ** minorDigits));
  const label = (slug) => WORDS[slug] || (slug || "").replace(/_/g, " ");

  function minutes(total) {
    if (total < 60) return t("%(minutes)s min", { minutes: total });
    return t("%(hours)s h %(minutes)s min", { hours: Math.floor(total / 60), minutes: total % 60 });
  }

  function distance(m) {
    if (m === null || m === undefined) return t("distance unknown");
    return m < 1000 ? t("%(metres)s m away", { metres: m }) : t("%(km)s km away", { km: (m / 1000).toFixed(1) });
  }

  function showProblem(target, problem) {
    target.replaceChildren(el("code", {}, problem.code || "error"), ": " + problem.message);
    if (problem.fields && problem.fields.length) target.append(" (" + problem.fields.join(", ") + ")");
    if (problem.retryAfter) target.append(" " + t("(in %(wait)s)", { wait: minutes(Math.ceil(problem.retryAfter / 60)) }));
    target.hidden = false;
  }

  function flash(text) {
    const box = $("flash");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(flash.timer);
    flash.timer = setTimeout(() => (box.hidden = true), 6000);
  }

  function show(screen) {
    window.scrollTo(0, 0);
    for (const section of document.querySelectorAll(".screen")) {
      section.hidden = section.id !== "screen-" + screen;
    }
    for (const tab of document.querySelectorAll("#tabs button")) {
      if (tab.dataset.screen === screen) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
  }

  /** The bay of that name, once the directory has arrived (or was found in storage). */
  async function findBay(name) {
    await state.baysLoaded;
    return state.bays.get((name || "").trim().toUpperCase()) || null;
  }

  // --- the network badge and the bay directory (kept for when the network drops)

  function showNetwork() {
    const net = $("net");
    net.textContent = navigator.onLine ? "" : t("offline");
    net.classList.toggle("offline", !navigator.onLine);
  }

  function useBays(list) {
    state.bays = new Map(list.map((bay) => [bay.name.toUpperCase(), bay]));
    $("bay-names").replaceChildren(...list.map((bay) => el("option", { value: bay.name })));
  }

  async function loadBays() {
    try {
      const response = await fetch(body.dataset.bays);
      if (!response.ok) throw new Error(response.statusText);
      const data = await response.json();
      useBays(data.bays);
      try {
        localStorage.setItem(BAYS_KEY, JSON.stringify(data.bays));
      } catch (err) {
        /* storage full: the directory is only a convenience */
      }
    } catch (err) {
      const kept = localStorage.getItem(BAYS_KEY);
      if (kept) useBays(JSON.parse(kept));
    }
  }

  // --- sign in and out

  async function signIn(username, password) {
    const error = $("sign-in-error");
    error.hidden = true;
    let session;
    try {
      session = await api.call("POST", "/staff/sign-in", { json: { username, password } });
    } catch (problem) {
      showProblem(error, problem);
      return;
    }
    $("password").value = "";
    await enter(session.token, false);
  }

  /** Start working with a token: from signing in, or kept for the tab's life (sessionStorage). */
  async function enter(token, quiet) {
    const error = $("sign-in-error");
    error.hidden = true;
    try {
      state.me = await api.call("GET", "/staff/me", { token });
      sessionStorage.setItem(ME_KEY, JSON.stringify(state.me));
    } catch (problem) {
      // No network (the page came from the service worker's copy): carry on as who signed in
      // in this tab, so that work is queued; the server checks the token on upload.
      const kept = problem.status === 0 && quiet ? JSON.parse(sessionStorage.getItem(ME_KEY) || "null") : null;
      if (!kept) {
        if (problem.status === 401) api.setToken(null);
        if (!quiet || problem.status !== 401) showProblem(error, problem);
        return;
      }
      state.me = kept;
    }
    api.setToken(token);
    const who = $("whoami");
    who.textContent = t("Signed in as %(name)s (%(role)s)", { name: state.me.name, role: label(state.me.role) });
    who.hidden = false;
    $("sign-out").hidden = false;
    $("tabs").hidden = false;
    if (state.me.position) showPosition(state.me.position, null);
    for (const hook of page.onEnter) hook(state.me);
    show("tasks");
    await refreshTasks();
    locateIfAllowed();
  }

  /** Sign out on the server too (the token is revoked), then forget everything here. */
  async function signOut() {
    const token = api.token();
    endSession();
    if (!token) return;
    try {
      await api.call("POST", "/staff/sign-out", { token });
    } catch (problem) {
      /* offline, or the token had already ended: it is forgotten here either way */
    }
  }

  /** Forget the token and everything shown with it (also when the server ended the token). */
  function endSession() {
    api.setToken(null);
    sessionStorage.removeItem(TASKS_KEY);
    sessionStorage.removeItem(ME_KEY);
    state.me = null;
    state.tasks = [];
    $("whoami").hidden = true;
    $("sign-out").hidden = true;
    $("tabs").hidden = true;
    $("task-list").replaceChildren();
    $("plate-result").hidden = true;
    for (const hook of page.onLeave) hook();
    show("sign-in");
  }

  // --- position: the phone's location when allowed, else the bay I say I'm at

  function showPosition(position, bay) {
    const where = bay
      ? t("At bay %(bay)s (%(road)s)", { bay: bay.name, road: bay.road })
      : t("Position %(lat)s, %(lng)s", { lat: position.lat.toFixed(5), lng: position.lng.toFixed(5) });
    $("position-status").textContent =
      where + (position.reported_at ? " · " + t("reported %(when)s", { when: when(position.reported_at) }) : "");
  }

  async function reportPosition(lat, lng, bay) {
    try {
      const me = await api.call("POST", "/staff/position", { json: { lat, lng } });
      if (state.me) state.me.position = me.position;
      showPosition(me.position, bay);
      await refreshTasks();
    } catch (problem) {
      $("position-status").textContent = t("Position not sent: %(reason)s", { reason: problem.code + ": " + problem.message });
    }
  }

  function locate() {
    $("position-status").textContent = t("Finding your location…");
    navigator.geolocation.getCurrentPosition(
      (found) => reportPosition(found.coords.latitude, found.coords.longitude, null),
      (failure) => {
        $("position-status").textContent = t("Location unavailable (%(reason)s): enter your bay below.", { reason: failure.message });
      },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 },
    );
  }

  async function locateIfAllowed() {
    if (!navigator.geolocation || !navigator.permissions) return;
    try {
      const permission = await navigator.permissions.query({ name: "geolocation" });
      if (permission.state === "granted") locate();
    } catch (err) {
      /* no permission API: the button is still there */
    }
  }

  async function atBay(event) {
    event.preventDefault();
    const name = $("at-bay").value;
    const bay = await findBay(name);
    if (!bay) {
      $("position-status").textContent = t("Unknown bay %(bay)s: check the sign on the curb.", { bay: name.trim() });
      return;
    }
    if (!$("plate-bay").value) $("plate-bay").value = bay.name;
    await reportPosition(bay.lat, bay.lng, bay);
  }

  // --- tasks

  async function refreshTasks() {
    const note = $("tasks-note");
    try {
      const data = await api.call("GET", "/tasks");
      state.tasks = data.tasks;
      note.hidden = true;
      sessionStorage.setItem(TASKS_KEY, JSON.stringify({ at: new Date().toISOString(), tasks: data.tasks }));
    } catch (problem) {
      if (problem.status === 401) return endSession();
      const kept = JSON.parse(sessionStorage.getItem(TASKS_KEY) || "null");
      if (kept) state.tasks = kept.tasks;
      note.textContent = problem.code + ": " + problem.message +
        (kept ? " — " + t("showing the list from %(when)s", { when: when(kept.at) }) : "");
      note.hidden = false;
    }
    renderTasks();
  }

  function taskCard(task) {
    const v = task.violation;
    const mine = task.status === "taken" && task.mine;
    const actions = el("div", { class: "actions" });
    if (task.status === "open" || task.status === "escalated") {
      actions.append(el("button", { type: "button", class: "take", onclick: () => take(task) }, t("Take")));
    } else if (mine) {
      actions.append(el("button", { type: "button", class: "resolve", onclick: () => openResolve(task) }, t("Resolve")));
    } else {
      actions.append(el("span", { class: "muted" }, t("Taken by %(name)s", { name: task.taken_by })));
    }
    return el(
      "li",
      { class: "task " + task.status, "data-task-id": task.id },
      el("div", { class: "head" },
        el("span", { class: "kind" }, KIND_LABELS[task.kind] || label(task.kind)),
        el("span", { class: "badge status" }, mine ? t("mine") : label(task.status))),
      v && v.plate ? el("div", { class: "plate" }, v.plate) : null,
      el("div", { class: "where" }, task.bay ? t("Bay %(bay)s", { bay: task.bay }) + (task.road ? " · " + task.road : "") : task.road || t("No bay")),
      el("div", { class: "facts muted" },
        el("span", { class: "distance" }, distance(task.distance_m)),
        el("span", { class: "age" }, t("%(age)s old", { age: minutes(task.age_minutes) })),
        v ? el("span", { class: "rule" }, t("%(rule)s since %(since)s", { rule: label(v.rule), since: when(v.since) })) : null),
      actions,
    );
  }

  function renderTasks() {
    $("task-list").replaceChildren(...state.tasks.map(taskCard));
    $("no-tasks").hidden = state.tasks.length > 0;
  }

  async function take(task) {
    $("tasks-error").hidden = true;
    try {
      const taken = await api.call("POST", "/tasks/" + task.id + "/take");
      openResolve({ ...task, ...taken, distance_m: task.distance_m, age_minutes: task.age_minutes });
      refreshTasks();
    } catch (problem) {
      showProblem($("tasks-error"), problem);
      await refreshTasks(); // someone else may have taken it: show the list as it is now
    }
  }

  function openResolve(task) {
    state.resolving = task;
    const form = $("resolve-form");
    form.reset();
    $("photo-preview").hidden = true;
    $("resolve-error").hidden = true;
    $("resolve-summary").replaceChildren(taskCard({ ...task, status: "resolving" }));
    $("resolve-summary").querySelector(".actions").remove();
    show("resolve");
  }

  function previewPhoto() {
    const file = $("photo").files[0];
    const preview = $("photo-preview");
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.hidden = !file;
    if (file) preview.src = URL.createObjectURL(file);
  }

  async function submitResolve(event) {
    event.preventDefault();
    const form = $("resolve-form");
    const error = $("resolve-error");
    error.hidden = true;
    const outcome = form.elements.outcome.value;
    const photo = $("photo").files[0];
    if (!outcome) return showProblem(error, { code: "outcome_required", message: t("choose an outcome") });
    if (photo && photo.size > MAX_PHOTO_BYTES) {
      return showProblem(error, { code: "photo_too_large", message: t("the photo is over 5 MB: take it again smaller") });
    }
    const data = new FormData();
    data.append("outcome", outcome);
    const note = $("note").value.trim();
    if (note) data.append("note", note);
    if (photo) data.append("photo", photo, photo.name);
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const task = state.resolving;
      const done = await api.call("POST", "/tasks/" + task.id + "/resolve", { form: data });
      flash(
        (task.bay
          ? t("Task resolved: %(outcome)s at bay %(bay)s", { outcome: label(done.outcome), bay: task.bay })
          : t("Task resolved: %(outcome)s", { outcome: label(done.outcome) })) +
          (done.citation ? " · " + t("citation %(citation)s", { citation: done.citation }) : ""),
      );
      state.resolving = null;
      show("tasks");
      await refreshTasks();
    } catch (problem) {
      showProblem(error, problem);
    } finally {
      submit.disabled = false;
    }
  }

  // --- plate check

  function verdictOf(result) {
    const stay = result.stay;
    if (!stay || !result.parked) return { text: t("NOT PARKED"), class: "none" };
    const fee = stay.fee;
    if (fee.status === "free" || fee.status === "paid") return { text: t("PAID"), class: "paid" };
    if (fee.amount === null || fee.amount === undefined) return { text: t("NO TARIFF"), class: "none" };
    return fee.paid >= fee.amount ? { text: t("PAID"), class: "paid" } : { text: t("UNPAID"), class: "unpaid" };
  }

  function renderPlate(result) {
    const verdict = verdictOf(result);
    const stay = result.stay;
    const rows = [["Plate", result.plate]];
    if (stay) {
      rows.push([result.parked ? "Parked at" : "Last parked at", t("Bay %(bay)s", { bay: stay.bay }) + " · " + stay.road]);
      rows.push(["Since", when(stay.since) + " (" + minutes(stay.minutes) + ")"]);
      if (stay.ended_at) rows.push(["Left", when(stay.ended_at)]);
      if (result.at_bay !== null && result.at_bay !== undefined) {
        rows.push(["At this bay", result.at_bay ? t("yes") : t("no")]);
      }
      rows.push([stay.fee.status === "running" ? "Fee so far" : "Fee", amount(stay.fee.amount)]);
      rows.push(["Paid", amount(stay.fee.paid)]);
    }
    rows.push(["Arrears", amount(result.arrears), result.arrears > 0]);
    rows.push(["Outstanding", amount(result.outstanding) + " " + t("(%(count)s unpaid stays)", { count: result.unpaid_stays }), result.outstanding > 0]);
    const list = (items, line) => (items.length ? el("ul", {}, items.map((item) => el("li", {}, line(item)))) : el("p", { class: "muted" }, t("None")));
    $("plate-result").replaceChildren(
      el("span", { class: "verdict " + verdict.class }, verdict.text),
      el("dl", {}, rows.map(([name, value, owed]) => [el("dt", {}, ROWS[name] || name), el("dd", { class: owed ? "owed" : null, "data-field": name.toLowerCase() }, value)])),
      el("h2", {}, t("Open violations (%(count)s)", { count: result.violations.length })),
      list(result.violations, (v) =>
        t("%(rule)s at bay %(bay)s · %(road)s since %(since)s", { rule: label(v.rule), bay: v.bay, road: v.road, since: when(v.since) })),
      el("h2", {}, t("Citations (%(count)s)", { count: result.citations.length })),
      list(result.citations, (c) => label(c.rule) + " · " + label(c.status) + " · " + amount(c.amount) + " · " + when(c.issued_at)),
    );
    $("plate-result").hidden = false;
  }

  async function checkPlate(event) {
    event.preventDefault();
    const error = $("plate-error");
    error.hidden = true;
    const plate = $("plate").value.replace(/\s+/g, "").toUpperCase();
    const bayName = $("plate-bay").value.trim();
    const body = { plate: plate };  // in the body: a plate in a URL lands in access logs
    if (bayName) {
      const bay = await findBay(bayName);
      if (!bay) return showProblem(error, { code: "unknown_bay", message: t("no bay %(bay)s in this district", { bay: bayName }) });
      body.bay = bay.id;
    }
    try {
      renderPlate(await api.call("POST", "/plates/check", { json: body }));
    } catch (problem) {
      $("plate-result").hidden = true;
      if (problem.status === 401) endSession();
      showProblem(error, problem);
    }
  }

  // --- what the field-work screens (fieldwork.js) share with this page

  const page = {
    el, show, showProblem, flash, findBay, when, amount, label, minutes, state, minorDigits,
    onEnter: [], onLeave: [],
    bays: () => [...state.bays.values()],
    baysLoaded: () => state.baysLoaded,
    refreshTasks: () => refreshTasks(),
  };
  window.handheldPage = page;

  // --- wiring

  function start() {
    showNetwork();
    addEventListener("online", () => {
      showNetwork();
      if (state.me) refreshTasks();
    });
    addEventListener("offline", showNetwork);
    $("sign-in-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const username = $("username").value.trim();
      if (username && $("password").value) signIn(username, $("password").value);
    });
    $("sign-out").addEventListener("click", signOut);
    for (const tab of document.querySelectorAll("#tabs button")) {
      tab.addEventListener("click", () => show(tab.dataset.screen));
    }
    $("locate").hidden = !navigator.geolocation;
    $("locate").addEventListener("click", locate);
    $("at-bay-form").addEventListener("submit", atBay);
    $("refresh").addEventListener("click", () => {
      $("tasks-error").hidden = true;
      refreshTasks();
    });
    $("photo").addEventListener("change", previewPhoto);
    $("resolve-form").addEventListener("submit", submitResolve);
    $("resolve-cancel").addEventListener("click", () => {
      show("tasks");
      refreshTasks();
    });
    $("plate-form").addEventListener("submit", checkPlate);
    state.baysLoaded = loadBays();
    const token = api.token();
    if (token) enter(token, true).then(() => body.setAttribute("data-ready", "1"));
    else body.setAttribute("data-ready", "1");
  }

  start();
})();
