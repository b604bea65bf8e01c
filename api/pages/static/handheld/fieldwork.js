/* Field work on the handheld: an attendant or warden registers arrivals, plates and departures
   at a bay (nearest bays first), online or not, through an upload queue kept in IndexedDB
   (queue.js) that leaves in order and is never applied twice (each action's client id is its
   CDS event id); wardens and city management send street-order reports; each role closes its
   tasks with its own outcome codes. The service worker (sw.js) keeps the page for offline use. */
"use strict";

(() => {
  // Every string this file shows, in one place (for the translation catalogue).
  const TEXT = {
    kinds: { arrival: t("Arrival"), plate: t("Plate correction"), departure: t("Departure"), payment: t("Payment") },
    methods: { cash: t("cash"), qr: t("QR code") },
    amountNeeded: t("a payment needs its amount"),
    streetKinds: {
      vending: t("Vending stall"), goods_on_road: t("Goods on the road"), construction: t("Construction"), other: t("Other"),
    },
    outcomes: {
      citation_issued: t("Citation issued"), warned: t("Warned"), vehicle_gone: t("Vehicle gone"), false_alarm: t("False alarm"),
      ticketed: t("Ticketed"), towed: t("Towed"), moved_on: t("Moved on"), no_offence: t("No offence"),
      stall_removed: t("Stall removed"), goods_cleared: t("Goods cleared"), site_regularised: t("Site regularised"),
      referred: t("Referred"), no_action: t("No action"),
    },
    pending: t("waiting to upload"),
    conflict: t("not accepted"),
    warning: t("check it"),
    stakeSaw: (what) => t("Uploaded, but %(what)s.", { what }),
    nothingPending: t("Nothing waiting: every action is uploaded."),
    pendingCount: (n) => (n === 1 ? t("1 action waits for the network.") : t("%(count)s actions wait for the network.", { count: n })),
    conflictCount: (n) => (n === 1 ? t("1 action was not accepted: see below.") : t("%(count)s actions were not accepted: see below.", { count: n })),
    uploaded: (n) => (n === 1 ? t("1 action uploaded.") : t("%(count)s actions uploaded.", { count: n })),
    recorded: (kind, bay) => t("%(kind)s at bay %(bay)s recorded.", { kind, bay }),
    dismiss: t("Dismiss"),
    unknownBay: (name) => t("no bay %(name)s in this district", { name }),
    noPos: t("no handheld POS covers this bay's road"),
    plateNeeded: t("a plate correction needs the plate"),
    conflictMessage: (code, message) => {
      const known = {
        event_id_conflict: t("this action was already sent with other details"),
        bay_not_covered: t("your terminal does not cover this bay"),
        end_before_start: t("the departure is before the arrival the stake saw"),
        event_in_future: t("the handheld's clock is ahead"),
      };
      return (known[code] || message) + " (" + code + ")";
    },
    reportSent: (kind, road) => (road
      ? t("%(kind)s reported on %(road)s: city management has it.", { kind, road })
      : t("%(kind)s reported: city management has it.", { kind })),
    disputeWhat: (d) => (d.stay ? t("Fee of a stay") : t("Citation")) + " · " + d.plate,
    disputeWas: (money) => t("Disputed amount %(amount)s", { amount: money }),
    decisions: { upheld: t("Uphold"), adjusted: t("Adjust"), cancelled: t("Cancel it") },
    disputeOutcomes: { upheld: t("upheld"), adjusted: t("adjusted"), cancelled: t("cancelled") },
    newAmount: t("New amount"),
    decisionReason: t("Reason for the driver"),
    decide: t("Decide"),
    decided: (d, money, refunded) => (refunded
      ? t("Dispute %(outcome)s: now %(amount)s, refunded %(refunded)s. The driver is told.",
        { outcome: TEXT.disputeOutcomes[d.outcome] || d.outcome, amount: money, refunded })
      : t("Dispute %(outcome)s: now %(amount)s. The driver is told.",
        { outcome: TEXT.disputeOutcomes[d.outcome] || d.outcome, amount: money })),
    metres: (m) => (m < 1000 ? t("%(n)s m", { n: Math.round(m) }) : t("%(n)s km", { n: (m / 1000).toFixed(1) })),
  };
  const ROLE_OUTCOMES = {
    warden: ["citation_issued", "warned", "vehicle_gone", "false_alarm"],
    attendant: ["citation_issued", "warned", "vehicle_gone", "false_alarm"],
    police: ["ticketed", "towed", "moved_on", "no_offence", "vehicle_gone", "false_alarm"],
    city: ["stall_removed", "goods_cleared", "site_regularised", "warned", "referred", "no_action"],
  };
  const NEAREST = 6;

  const page = window.handheldPage;
  const api = handheldApi;
  const body = document.body;
  const district = body.dataset.district;
  const $ = (id) => document.getElementById(id);
  const { el } = page;
  let flushing = null;
  let uploadAgain = false; // asked to upload while a pass ran: one more pass after it
  let clockOffsetMs = 0; // the server's clock minus this device's, measured at sign-in

  function newClientId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // --- roles: which screens, which outcomes

  function enter(me) {
    if (me.now) clockOffsetMs = Date.parse(me.now) - Date.now();
    for (const tab of document.querySelectorAll("#tabs button[data-roles]")) {
      tab.hidden = !tab.dataset.roles.split(" ").includes(me.role);
    }
    const codes = ROLE_OUTCOMES[me.role] || Object.keys(TEXT.outcomes);
    const choices = codes.map((code) =>
      el("label", { class: "choice" }, el("input", { type: "radio", name: "outcome", value: code }), " " + TEXT.outcomes[code]));
    $("outcomes").replaceChildren($("outcomes").querySelector("legend"), ...choices);
    showNearest();
    renderPending();
    upload();
    if (me.role === "bureau") setTimeout(() => page.show("disputes"), 0); // bureau has no task list
    if (me.role === "bureau" || me.role === "admin") loadDisputes();
  }

  // --- registering at a bay

  function here() {
    const me = page.state.me;
    return me && me.position ? me.position : null;
  }

  async function showNearest() {
    await page.baysLoaded();
    const from = here();
    const box = $("nearest-bays");
    if (!from) return box.replaceChildren();
    const rad = Math.PI / 180;
    const metres = (bay) => {
      const x = (bay.lng - from.lng) * rad * Math.cos(((bay.lat + from.lat) / 2) * rad);
      const y = (bay.lat - from.lat) * rad;
      return Math.hypot(x, y) * 6371000;
    };
    const nearest = page.bays().map((bay) => [metres(bay), bay]).sort((a, b) => a[0] - b[0]).slice(0, NEAREST);
    box.replaceChildren(...nearest.map(([m, bay]) =>
      el("button", { type: "button", class: "chip", onclick: () => ($("register-bay").value = bay.name) },
        bay.name + " · " + TEXT.metres(m))));
  }

  async function record(event) {
    event.preventDefault();
    const error = $("register-error");
    error.hidden = true;
    const form = $("register-form");
    const kind = form.elements.kind.value;
    const name = $("register-bay").value.trim();
    const bay = await page.findBay(name);
    const plate = $("register-plate").value.replace(/\s+/g, "").toUpperCase();
    if (!bay) return page.showProblem(error, { code: "unknown_bay", message: TEXT.unknownBay(name) });
    if (!bay.pos) return page.showProblem(error, { code: "no_pos", message: TEXT.noPos });
    if (kind === "plate" && !plate) return page.showProblem(error, { code: "plate_required", message: TEXT.plateNeeded });
    const amountMinor = Math.round(Number($("register-amount").value) * 10 ** page.minorDigits);
    if (kind === "payment" && !(amountMinor > 0)) {
      return page.showProblem(error, { code: "payment_required", message: TEXT.amountNeeded });
    }
    await handheldQueue.add({
      district, client_id: newClientId(), kind, bay: bay.id, bay_name: bay.name, device: bay.pos,
      plate: plate || null, at: new Date(Date.now() + clockOffsetMs).toISOString(), status: "pending", error: null,
      amount: kind === "payment" ? amountMinor : null, method: kind === "payment" ? $("register-method").value : null,
    });
    $("register-amount").value = "";
    page.flash(TEXT.recorded(TEXT.kinds[kind], bay.name));
    $("register-plate").value = "";
    await renderPending();
    upload();
  }

  async function renderPending() {
    const actions = await handheldQueue.all(district);
    const waiting = actions.filter((a) => a.status === "pending").length;
    const refused = actions.length - waiting;
    const summary = [waiting ? TEXT.pendingCount(waiting) : TEXT.nothingPending];
    if (refused) summary.push(TEXT.conflictCount(refused));
    $("pending-summary").textContent = summary.join(" ");
    $("pending-list").replaceChildren(...actions.map((action) => el(
      "li", { class: "pending-item " + action.status, "data-client-id": action.client_id },
      el("div", { class: "head" },
        el("span", { class: "kind" }, TEXT.kinds[action.kind] + " · " + action.bay_name),
        el("span", { class: "badge status" }, TEXT[action.status])),
      action.plate ? el("div", { class: "plate" }, action.plate) : null,
      action.kind === "payment" ? el("div", {}, page.amount(action.amount) + " · " + TEXT.methods[action.method]) : null,
      el("div", { class: "muted" }, page.when(action.at)),
      action.error ? el("p", { class: "error" }, action.error) : null,
      action.status !== "pending"
        ? el("button", { type: "button", class: "quiet", onclick: () => dismiss(action) }, TEXT.dismiss)
        : null,
    )));
  }

  async function dismiss(action) {
    await handheldQueue.remove(action.seq);
    await renderPending();
  }

  /** Upload the waiting actions one by one, oldest first; stop at the first network failure
      (the rest keep their order), mark an action the server refuses as a conflict. Asked
      again while a pass runs (the network came back while a pass begun offline was still
      failing), another pass follows it, rather than the next timed one half a minute later. */
  function upload() {
    if (flushing) {
      uploadAgain = true;
      return flushing;
    }
    flushing = drain().finally(() => {
      flushing = null;
      if (uploadAgain) {
        uploadAgain = false;
        upload();
      }
    });
    return flushing;
  }

  async function drain() {
    if (!api.token()) return;
    let sent = 0;
    for (const action of await handheldQueue.all(district)) {
      if (action.status !== "pending") continue;
      const json = { bay: action.bay, kind: action.kind, at: action.at, client_id: action.client_id, device: action.device };
      if (action.plate) json.plate = action.plate;
      if (action.kind === "payment") Object.assign(json, { amount: action.amount, method: action.method });
      try {
        const answer = await api.call("POST", "/registrations", { json });
        if (answer.conflict) await handheldQueue.put({ ...action, status: "warning", error: TEXT.stakeSaw(answer.conflict) });
        else await handheldQueue.remove(action.seq);
        sent += 1;
      } catch (problem) {
        if (problem.status === 0 || problem.status === 401 || problem.status >= 500) break;
        await handheldQueue.put({ ...action, status: "conflict", error: TEXT.conflictMessage(problem.code, problem.message) });
      }
    }
    await renderPending();
    if (sent) page.flash(TEXT.uploaded(sent));
  }

  // --- disputes (bureau and admin): the queue, and a decision with a reason

  let disputeForms = 0;

  async function loadDisputes() {
    const error = $("disputes-error");
    error.hidden = true;
    try {
      const data = await api.call("GET", "/disputes?status=open");
      $("dispute-list").replaceChildren(...data.disputes.map(disputeCard));
      $("no-disputes").hidden = data.disputes.length > 0;
    } catch (problem) {
      page.showProblem(error, problem);
    }
  }

  function disputeCard(dispute) {
    const n = ++disputeForms;
    const field = (id, labelText, input) => [el("label", { htmlFor: id }, labelText), input];
    const outcome = el("select", { id: "outcome-" + n },
      ...Object.entries(TEXT.decisions).map(([value, text]) => el("option", { value }, text)));
    const amountInput = el("input", { id: "amount-" + n, type: "number", min: "0", step: "0.01", inputMode: "decimal" });
    const reason = el("textarea", { id: "reason-" + n, rows: 2, maxLength: 500 });
    const error = el("p", { class: "error", role: "alert", hidden: true });
    const decide = el("button", { type: "button", class: "primary" }, TEXT.decide);
    decide.addEventListener("click", async () => {
      error.hidden = true;
      const json = { outcome: outcome.value, reason: reason.value.trim() };
      if (outcome.value === "adjusted") json.amount = Math.round(Number(amountInput.value) * 10 ** page.minorDigits);
      try {
        const done = await api.call("POST", "/disputes/" + dispute.id + "/decision", { json });
        page.flash(TEXT.decided(done, page.amount(done.amount_after), done.refunded ? page.amount(done.refunded) : ""));
        await loadDisputes();
      } catch (problem) {
        page.showProblem(error, problem);
      }
    });
    return el("li", { class: "pending-item", "data-dispute": dispute.id },
      el("div", { class: "head" }, el("span", { class: "kind" }, TEXT.disputeWhat(dispute))),
      el("div", { class: "muted" }, page.when(dispute.created_at) + " · " + TEXT.disputeWas(page.amount(dispute.amount_before))),
      el("p", {}, dispute.reason),
      field(outcome.id, TEXT.decisions.upheld + " / " + TEXT.decisions.adjusted + " / " + TEXT.decisions.cancelled, outcome),
      field(amountInput.id, TEXT.newAmount, amountInput),
      field(reason.id, TEXT.decisionReason, reason),
      decide, error);
  }

  // --- street reports

  async function sendStreetReport(event) {
    event.preventDefault();
    const error = $("street-error");
    error.hidden = true;
    const name = $("street-bay").value.trim();
    const bay = await page.findBay(name);
    if (!bay) return page.showProblem(error, { code: "unknown_bay", message: TEXT.unknownBay(name) });
    const data = new FormData();
    data.append("kind", $("street-kind").value);
    data.append("lat", String(bay.lat));
    data.append("lng", String(bay.lng));
    const note = $("street-note").value.trim();
    if (note) data.append("note", note);
    const photo = $("street-photo").files[0];
    if (photo) data.append("photo", photo, photo.name);
    try {
      const report = await api.call("POST", "/street-reports", { form: data });
      page.flash(TEXT.reportSent(TEXT.streetKinds[report.kind], report.road));
      $("street-form").reset();
      page.refreshTasks();
    } catch (problem) {
      page.showProblem(error, problem);
    }
  }

  // --- wiring

  function start() {
    $("street-kind").replaceChildren(...Object.entries(TEXT.streetKinds).map(([value, text]) => el("option", { value }, text)));
    $("register-form").addEventListener("submit", record);
    $("register-form").addEventListener("change", () => {
      $("payment-fields").hidden = $("register-form").elements.kind.value !== "payment";
    });
    $("upload-now").addEventListener("click", () => upload());
    $("street-form").addEventListener("submit", sendStreetReport);
    $("disputes-refresh").addEventListener("click", loadDisputes);
    $("register-bay").addEventListener("focus", showNearest);
    addEventListener("online", () => upload());
    setInterval(() => navigator.onLine && upload(), 30000);
    page.onEnter.push(enter);
    page.onLeave.push(() => $("pending-list").replaceChildren());
    if ("serviceWorker" in navigator && body.dataset.worker) {
      navigator.serviceWorker.register(body.dataset.worker, { scope: "/handheld/" }).catch(() => {
        /* blocked or unsupported: the page still works online, and the queue offline */
      });
    }
  }

  start();
})();
