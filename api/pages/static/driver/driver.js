/* The driver's page: free bays around me (map and list), a road's bays, tariff and forecast,
   paying a plate with a card, and my stays once signed in. Plain DOM code; everything it loads
   comes from this server, except Stripe.js: cards are typed into its Elements and go to the
   payment provider only (a SetupIntent confirmed in the browser gives the card's payment method;
   the server confirms the PaymentIntent; 3-D Secure is finished here with confirmCardPayment). */
"use strict";

(() => {
  // Every user-visible text of the card payments, in one place for translation.
  const TEXT = {
    citationCount: (n) => t(", %(count)s citation(s)", { count: n }),
    citation: (rule) => t("Citation: %(rule)s", { rule }),
    issued: (at, status) => t("Issued %(at)s · %(status)s", { at, status }),
    dispute: t("Dispute"),
    disputeWhy: t("Why do you dispute it?"),
    sendDispute: t("Send dispute"),
    disputeSent: t("Dispute sent: the bureau will decide, and you will get a notice if you have an account."),
    cardsUnavailable: t("Card payments are not available on this page (the card form did not load)."),
    cardRefused: t("the card was refused"),
    payAmount: (amount) => t("Pay %(amount)s", { amount }),
    paidFor: (amount, plate) => t("Paid %(amount)s for %(plate)s.", { amount, plate }),
    receipt: t("Receipt"),
    cardSaved: t("A card is saved: it is charged when your stays end."),
    noCardSaved: t("No card saved."),
    cardSavedNow: t("Card saved: it is charged when your stays end."),
    unpaidTitle: (plate, count) => t("%(plate)s: %(count)s unpaid stay(s)", { plate, count }),
    toPay: (amount) => t("To pay: %(amount)s", { amount }),
    nothingToPay: t("Nothing to pay."),
    owedFor: (amount, count) => t("%(amount)s owed for %(count)s stay(s)", { amount, count }),
    inArrears: (amount) => t(", %(amount)s in arrears", { amount }),
    nothingOwed: t("Nothing owed."),
    citationOf: (rule, plate) => t("Citation: %(rule)s · %(plate)s", { rule, plate }),
    payCitation: (amount, rule) => t("Pay %(amount)s for the citation (%(rule)s)", { amount, rule }),
    citationPaid: (amount, rule) => t("Paid %(amount)s for the citation (%(rule)s).", { amount, rule }),
  };
  const api = driverApi;
  const body = document.body;
  const base = body.dataset.api; // /api/v1/<district>
  const stripe = typeof Stripe === "function" ? Stripe(body.dataset.stripeKey) : null;
  const RADIUS_M = 1000;
  const REFRESH_MS = 30000; // the free counts of the screen in view are read again this often
  const $ = (id) => document.getElementById(id);
  const state = {
    centre: { lat: Number(body.dataset.centreLat), lng: Number(body.dataset.centreLng) },
    roads: new Map(),
    screen: "map",
    road: null, // the id of the road in view
    plate: null,
    owed: null,
    stays: [],
    citations: [],
    outstanding: null,
    citation: null, // the citation of my plates about to be paid
    cardUsable: false,
  };

  // --- small helpers

  // Words the API answers as data (a bay's state, a stay's status), in the page's language.
  const WORDS = {
    free: t("free"), occupied: t("occupied"), unknown: t("unknown"),
    due: t("due"), paid: t("paid"), arrears: t("arrears"), unpriced: t("unpriced"), running: t("running"),
    issued: t("issued"), appealed: t("appealed"), upheld: t("upheld"), voided: t("voided"),
    overstay: t("overstay"), restriction: t("restriction"), unregistered: t("unregistered"),
    obstruction: t("obstruction"),
  };
  const word = (value) => WORDS[value] || value;

  function el(tag, attrs, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") element.className = value;
      else if (name.startsWith("data-")) element.setAttribute(name, value);
      else element[name] = value;
    }
    for (const child of children.flat(Infinity)) {
      if (child !== null && child !== undefined) element.append(child);
    }
    return element;
  }

  const dateLocale = pageWords.locale.startsWith("zh") ? "zh-CN" : "en-GB";
  const clock = new Intl.DateTimeFormat(dateLocale, {
    timeZone: body.dataset.timeZone, day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", hour12: false,
  });
  const money = new Intl.NumberFormat("zh-CN", { style: "currency", currency: body.dataset.currency });
  const minorDigits = money.resolvedOptions().maximumFractionDigits;
  const when = (iso) => (iso ? clock.format(new Date(iso)) : "—");
  const hourMinute = new Intl.DateTimeFormat(dateLocale, {
    timeZone: body.dataset.timeZone, hour: "2-digit", minute: "2-digit", hour12: false,
  });
  const span = (from, until) => {
    const end = hourMinute.format(new Date(until));
    return `${hourMinute.format(new Date(from))}–${end === "00:00" ? "24:00" : end}`;
  };
  const amount = (minor) => (minor === null || minor === undefined ? "—" : money.format(minor / 10 ** minorDigits));

  function duration(seconds) {
    const total = Math.floor(seconds / 60);
    if (total < 60) return t("%(minutes)s min", { minutes: total });
    return t("%(hours)s h %(minutes)s min", { hours: Math.floor(total / 60), minutes: total % 60 });
  }

  const maxStay = (minutes) => (minutes === null || minutes === undefined ? t("no maximum") : duration(minutes * 60));
  const age = (seconds) => (seconds === null || seconds === undefined ? t("no data yet") : t("data %(age)s old", { age: duration(seconds) }));
  const distance = (m) => (m < 1000 ? Math.round(m) + " m" : (m / 1000).toFixed(1) + " km");
  const counts = (road) =>
    t("%(free)s free / %(total)s", { free: road.free, total: road.total }) +
    (road.unknown ? " · " + t("%(unknown)s unknown", { unknown: road.unknown }) : "");

  function showProblem(target, problem) {
    target.replaceChildren(el("code", {}, problem.code || "error"), ": " + problem.message);
    if (problem.fields && problem.fields.length) target.append(" (" + problem.fields.join(", ") + ")");
    target.hidden = false;
  }

  function hide(...targets) {
    for (const target of targets) target.hidden = true;
  }

  function show(screen) {
    window.scrollTo(0, 0);
    state.screen = screen;
    for (const section of document.querySelectorAll(".screen")) section.hidden = section.id !== "screen-" + screen;
    const tab = screen === "road" ? "map" : screen;
    for (const button of document.querySelectorAll("#tabs button")) {
      if (button.dataset.screen === tab) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
  }

  /** A Stripe.js card field in `selector` (one Elements group each: the stand-in allows one card per group). */
  function cardField(selector) {
    if (!stripe) return null;
    const card = stripe.elements().create("card");
    card.mount(selector);
    return card;
  }

  function cardProblem(error) {
    return new ApiProblem(402, (error && (error.decline_code || error.code)) || "card_error",
      (error && error.message) || TEXT.cardRefused);
  }

  /** Confirm a SetupIntent with the card typed into `card`: the card's payment method id. */
  async function confirmSetup(clientSecret, card) {
    const result = await stripe.confirmCardSetup(clientSecret, { payment_method: { card } });
    if (result.error) throw cardProblem(result.error);
    return result.setupIntent.payment_method;
  }

  /** Pay with the card in `card`: the server confirms the payment; 3-D Secure is finished here
      and the server records how it ended. */
  async function payByCard(url, json, card, auth) {
    const setup = await api.call("POST", body.dataset.cardSetups);
    const method = await confirmSetup(setup.client_secret, card);
    return payOnce(url, { ...json, payment_method: method }, auth);
  }

  /** Ask the server to take the payment (a new key each time); 3-D Secure is finished here. */
  async function payOnce(url, json, auth) {
    const payment = await api.call("POST", url, { auth, json, headers: { "Idempotency-Key": newKey() } });
    if (payment.status !== "requires_action") return payment;
    await stripe.confirmCardPayment(payment.client_secret); // its outcome is the server's to record
    return api.call("POST", payment.confirmation_url);
  }

  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());

  // --- map and list

  async function loadRoads() {
    hide($("map-error"));
    const { lat, lng } = state.centre;
    const where = `lat=${lat}&lng=${lng}&radius=${RADIUS_M}`;
    try {
      const [vacancy, zones] = await Promise.all([
        api.call("GET", `${base}/vacancy?${where}`),
        api.call("GET", `${body.dataset.zones}?${where}`),
      ]);
      state.roads = new Map(vacancy.roads.map((road) => [road.id, road]));
      driverMap.draw($("map"), state.centre, RADIUS_M, zones.data.zones || [], state.roads, openRoad);
      renderRoads(vacancy.roads);
    } catch (problem) {
      showProblem($("map-error"), problem);
    }
  }

  function renderRoads(roads) {
    $("no-roads").hidden = roads.length > 0;
    $("road-list").replaceChildren(
      ...roads.map((road) => {
        const kind = driverMap.availability(road);
        return el(
          "li",
          { class: "road-item", "data-road-id": road.id, "data-availability": kind },
          el(
            "button",
            { type: "button", class: "road-button", onclick: () => openRoad(road.id) },
            el("span", { class: "swatch " + kind }),
            el(
              "span",
              { class: "road-text" },
              el("span", { class: "name" }, road.name),
              el("span", { class: "counts" }, counts(road)),
              el("span", { class: "meta" }, `${distance(road.distance_m)} · ${age(road.data_age_seconds)}`),
              el("span", { class: "tariff" }, road.tariff || t("no tariff")),
              el("span", { class: "max-stay" }, t("Max stay: %(length)s", { length: maxStay(road.max_stay_minutes) })),
              road.restriction_now ? el("span", { class: "restriction" }, road.restriction_now) : null,
            ),
          ),
        );
      }),
    );
  }

  function locate() {
    if (!navigator.geolocation) {
      $("where").textContent = t("This browser cannot tell where you are");
      return;
    }
    $("where").textContent = t("Finding you…");
    navigator.geolocation.getCurrentPosition(
      (position) => {
        state.centre = { lat: position.coords.latitude, lng: position.coords.longitude };
        $("where").textContent = t("Around you (%(lat)s, %(lng)s)", { lat: state.centre.lat.toFixed(5), lng: state.centre.lng.toFixed(5) });
        loadRoads();
      },
      (error) => {
        $("where").textContent = t("Location not available (%(reason)s): around the district centre", { reason: error.message });
      },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
    );
  }

  // --- one road

  async function openRoad(id) {
    show("road");
    state.road = id;
    const known = state.roads.get(id);
    $("road-title").textContent = known ? known.name : t("Road");
    $("bay-list").replaceChildren();
    $("road-day").replaceChildren();
    hide($("road-error"));
    $("forecast-15").textContent = $("forecast-30").textContent = "…";
    await loadRoad(id);
  }

  /** The road's counts, tariff, the rest of its day, forecasts and bays; again every REFRESH_MS. */
  async function loadRoad(id) {
    loadForecast(id, 15);
    loadForecast(id, 30);
    try {
      const road = await api.call("GET", `${base}/roads/${encodeURIComponent(id)}/bays`);
      if (state.road !== id) return;
      hide($("road-error"));
      $("road-title").textContent = road.name;
      $("road-counts").textContent = counts(road);
      $("road-tariff").textContent = road.tariff || t("no tariff");
      $("road-max-stay").textContent = maxStay(road.max_stay_minutes);
      $("road-restriction").textContent = road.restriction_now || t("none");
      $("road-age").textContent = age(road.data_age_seconds);
      renderDayAhead(road);
      $("bay-list").replaceChildren(
        ...road.bays.map((bay) =>
          el("li", { class: "bay " + bay.state, "data-bay": bay.name, "data-state": bay.state },
            el("span", { class: "bay-name" }, bay.name), el("span", { class: "bay-state" }, word(bay.state))),
        ),
      );
    } catch (problem) {
      showProblem($("road-error"), problem);
    }
  }

  /** "05:49–08:00 free", "08:00–20:00 ¥2.40 per 30 min …", then "no stopping 17:00–19:00". */
  function renderDayAhead(road) {
    const bands = road.day_ahead.map((band) =>
      el("li", { class: "band", "data-band": band.band }, el("span", { class: "when" }, span(band.from, band.until)), " ", band.tariff),
    );
    const restrictions = road.restrictions_ahead.map((r) =>
      el("li", { class: "restriction" }, el("span", { class: "when" }, span(r.from, r.until)), ` ${r.activity_label} (${r.name})`),
    );
    $("road-day").replaceChildren(...bands, ...restrictions);
  }

  /** Keep the screen in view current without a reload: the map's roads, or the open road. */
  function refresh() {
    if (document.hidden || !navigator.onLine) return;
    if (state.screen === "map") loadRoads();
    else if (state.screen === "road" && state.road) loadRoad(state.road);
  }

  async function loadForecast(id, minutes) {
    const target = $("forecast-" + minutes);
    try {
      const answer = await api.call("GET", `${base}/forecast?road=${encodeURIComponent(id)}&in=${minutes}`);
      target.textContent = Math.round(answer.probability_free * 100) + "%";
    } catch (problem) {
      target.textContent = problem.code === "no_forecast" ? t("no forecast yet") : problem.code + ": " + problem.message;
    }
  }

  // --- pay by plate

  async function findUnpaid(event) {
    if (event) event.preventDefault();
    hide($("plate-error"), $("unpaid"), $("card-form"), $("paid"));
    const plate = $("plate").value.trim();
    try {
      // the plate goes in the body: a plate in a URL lands in access logs
      const ledger = await api.call("POST", `${base}/plates/unpaid`, { json: { plate } });
      const citations = ledger.citations || [];
      state.plate = ledger.plate;
      state.owed = ledger.outstanding;
      state.stays = ledger.stays;
      state.citations = citations;
      $("unpaid-title").textContent =
        TEXT.unpaidTitle(ledger.plate, ledger.stays.length) + (citations.length ? TEXT.citationCount(citations.length) : "");
      $("unpaid-list").replaceChildren(
        ...ledger.stays.map((stay) =>
          el("li", { class: "stay", "data-stay": stay.stay },
            el("div", { class: "where" }, t("Bay %(bay)s · %(road)s", { bay: stay.bay, road: stay.road })),
            el("div", { class: "muted" }, `${when(stay.started_at)} – ${when(stay.ended_at)} · ${word(stay.status)}`),
            el("div", { class: "owed" }, amount(stay.owed)),
            disputeControl({ stay: stay.stay })),
        ),
        ...citations.map((citation) =>
          el("li", { class: "stay citation", "data-citation": citation.citation },
            el("div", { class: "where" }, TEXT.citation(word(citation.rule))),
            el("div", { class: "muted" }, TEXT.issued(when(citation.issued_at), word(citation.status))),
            el("div", { class: "owed" }, amount(citation.amount)),
            citation.status === "issued" ? disputeControl({ citation: citation.citation }) : null),
        ),
      );
      $("unpaid-total").textContent = ledger.outstanding ? TEXT.toPay(amount(ledger.outstanding)) : TEXT.nothingToPay;
      $("unpaid").hidden = false;
      $("card-form").hidden = !ledger.outstanding;
      $("pay-button").textContent = TEXT.payAmount(amount(ledger.outstanding));
    } catch (problem) {
      showProblem($("plate-error"), problem);
    }
  }

  /** A "Dispute" button that opens a reason box; sending it opens a dispute of the stay's fee
      or of the citation (`target`), which the bureau decides. */
  function disputeControl(target) {
    const box = el("div", { class: "dispute" });
    disputeControl.count = (disputeControl.count || 0) + 1;
    const reason = el("textarea", { rows: 2, maxLength: 500, id: "dispute-reason-" + disputeControl.count });
    const error = el("p", { class: "error", role: "alert", hidden: true });
    const send = el("button", { type: "button" }, TEXT.sendDispute);
    const open = el("button", { type: "button", class: "quiet" }, TEXT.dispute);
    const form = el("div", { class: "dispute-form", hidden: true },
      el("label", { htmlFor: reason.id }, TEXT.disputeWhy), reason, send, error);
    open.addEventListener("click", () => { form.hidden = false; open.hidden = true; reason.focus(); });
    send.addEventListener("click", async () => {
      hide(error);
      try {
        await api.call("POST", `${base}/plates/${encodeURIComponent(state.plate)}/disputes`, {
          json: { ...target, reason: reason.value.trim() },
        });
        box.replaceChildren(el("p", { class: "good", role: "status" }, TEXT.disputeSent));
      } catch (problem) {
        showProblem(error, problem);
      }
    });
    box.append(open, form);
    return box;
  }

  async function payPlate(event) {
    event.preventDefault();
    hide($("pay-error"));
    const button = $("pay-button");
    button.disabled = true;
    try {
      // A stay's fee and a citation are paid separately (a fine is paid whole), with one card.
      const parts = [];
      const stays = state.stays.reduce((sum, stay) => sum + stay.owed, 0);
      if (stays) parts.push({ amount: stays, stays: state.stays.map((stay) => stay.stay) });
      const fines = state.citations.reduce((sum, citation) => sum + citation.amount, 0);
      if (fines) parts.push({ amount: fines, citations: state.citations.map((citation) => citation.citation) });
      const receipts = [];
      for (const part of parts) {
        receipts.push(await payByCard(`${base}/plates/${encodeURIComponent(state.plate)}/payments`, part, cards.plate, false));
      }
      hide($("card-form"), $("unpaid"));
      const total = receipts.reduce((sum, payment) => sum + payment.amount, 0);
      $("paid").replaceChildren(
        el("div", {}, TEXT.paidFor(amount(total), state.plate)),
        ...receipts.map((payment, i) =>
          el("a", { href: payment.receipt_url, id: i ? "receipt-link-" + (i + 1) : "receipt-link" },
            receipts.length > 1 ? TEXT.receipt + " " + (i + 1) : TEXT.receipt)),
      );
      $("paid").hidden = false;
    } catch (problem) {
      showProblem($("pay-error"), problem);
    } finally {
      button.disabled = false;
    }
  }

  // --- my account

  async function signIn(event) {
    event.preventDefault();
    hide($("sign-in-error"));
    try {
      const session = await api.call("POST", `${body.dataset.drivers}/sessions`, {
        json: { email: $("email").value.trim(), password: $("password").value },
      });
      api.setToken(session.token);
      $("password").value = "";
      await loadAccount();
    } catch (problem) {
      showProblem($("sign-in-error"), problem);
    }
  }

  /* Signing out revokes the token on the server (DELETE .../drivers/sessions), then forgets it.
     The page forgets it even if the server cannot be reached or the token was already dead. */
  async function signOut() {
    if (api.token()) {
      try {
        await api.call("DELETE", `${body.dataset.drivers}/sessions`, { auth: true });
      } catch (problem) {
        // already revoked or expired (401), or offline: nothing more the page can do
      }
    }
    api.setToken(null);
    $("account").hidden = true;
    $("sign-in-form").hidden = false;
  }

  async function loadAccount() {
    if (!api.token()) return signOut();
    hide($("account-error"));
    const drivers = body.dataset.drivers;
    try {
      const [me, current, history, outstanding, citations] = await Promise.all([
        api.call("GET", `${drivers}/me`, { auth: true }),
        api.call("GET", `${drivers}/me/stays/current`, { auth: true }),
        api.call("GET", `${drivers}/me/stays/history`, { auth: true }),
        api.call("GET", `${drivers}/me/outstanding`, { auth: true }),
        api.call("GET", `${drivers}/me/citations`, { auth: true }),
      ]);
      $("whoami").textContent = t("Signed in as %(name)s", { name: me.name || me.email });
      $("saved-card").textContent = me.card_saved ? TEXT.cardSaved : TEXT.noCardSaved;
      state.cardUsable = me.card_usable;
      renderCurrent(current.stays);
      renderHistory(history.stays);
      renderOutstanding(outstanding.districts);
      renderCitations(citations.citations);
      $("sign-in-form").hidden = true;
      $("account").hidden = false;
    } catch (problem) {
      if (problem.status === 401) {
        signOut();
        showProblem($("sign-in-error"), problem);
      } else {
        showProblem($("account-error"), problem);
      }
    }
  }

  function renderCurrent(stays) {
    $("no-current").hidden = stays.length > 0;
    $("current-list").replaceChildren(
      ...stays.map((stay) =>
        el("li", { class: "stay current", "data-stay": stay.id },
          el("div", { class: "where" }, `${stay.plate} · ` + t("Bay %(bay)s · %(road)s", { bay: stay.bay, road: stay.road })),
          el("div", { "data-field": "elapsed" },
            t("Parked %(length)s (since %(since)s)", { length: duration(stay.elapsed_seconds), since: when(stay.started_at) })),
          el("div", { "data-field": "fee" }, t("Fee so far: %(amount)s", { amount: amount(stay.fee_so_far) })),
          el("div", { "data-field": "time-left" },
            stay.time_left_seconds === null
              ? t("No maximum stay")
              : t("Time left: %(length)s", { length: duration(stay.time_left_seconds) }))),
      ),
    );
  }

  function renderHistory(stays) {
    $("no-history").hidden = stays.length > 0;
    $("history-list").replaceChildren(
      ...stays.map((stay) =>
        el("li", { class: "stay past", "data-stay": stay.id },
          el("div", { class: "where" }, `${stay.plate} · ` + t("Bay %(bay)s · %(road)s", { bay: stay.bay, road: stay.road })),
          el("div", { class: "muted" }, `${when(stay.started_at)} – ${when(stay.ended_at)}`),
          el("div", {}, `${amount(stay.fee)} · ${word(stay.status)}`),
          stay.receipt_urls.map((url, i) => el("a", { href: url, class: "receipt" }, t("Receipt") + (i ? " " + (i + 1) : "")))),
      ),
    );
  }

  function renderOutstanding(districts) {
    const mine = districts.find((d) => d.district === body.dataset.district) || districts[0];
    state.outstanding = mine && mine.outstanding ? mine : null;
    $("outstanding").textContent = state.outstanding
      ? TEXT.owedFor(amount(mine.outstanding), mine.stays.length) + (mine.arrears ? TEXT.inArrears(amount(mine.arrears)) : "")
      : TEXT.nothingOwed;
    $("account-pay-form").hidden = !state.outstanding || !stripe;
  }

  async function payOutstanding(event) {
    event.preventDefault();
    hide($("account-pay-error"));
    try {
      await payByCard(`${body.dataset.drivers}/me/payments`,
        { amount: state.outstanding.outstanding, district: state.outstanding.district }, cards.account, true);
      await loadAccount();
    } catch (problem) {
      showProblem($("account-pay-error"), problem);
    }
  }

  /** The standing citations of my linked plates, each with a button to pay it. */
  function renderCitations(citations) {
    $("no-citations").hidden = citations.length > 0;
    $("citation-pay-form").hidden = true;
    $("citation-list").replaceChildren(
      ...citations.map((citation) => {
        const pay = el("button", { type: "button" }, TEXT.payAmount(amount(citation.amount)));
        pay.addEventListener("click", () => chooseCitation(citation));
        return el("li", { class: "stay citation", "data-citation": citation.citation },
          el("div", { class: "where" }, TEXT.citationOf(word(citation.rule), citation.plate)),
          el("div", { class: "muted" }, TEXT.issued(when(citation.issued_at), word(citation.status))),
          el("div", { class: "owed" }, amount(citation.amount)),
          pay);
      }),
    );
  }

  function chooseCitation(citation) {
    state.citation = citation;
    hide($("citation-pay-error"), $("citation-paid"));
    $("citation-pay-what").textContent = TEXT.payCitation(amount(citation.amount), word(citation.rule));
    $("citation-pay-saved").hidden = !state.cardUsable;
    $("citation-pay-form").hidden = false;
  }

  /** Pay the chosen citation, with my saved card (`withSaved`) or the card typed in. */
  async function payCitation(withSaved) {
    hide($("citation-pay-error"));
    const citation = state.citation;
    const url = `${body.dataset.drivers}/me/citations/${encodeURIComponent(citation.citation)}/payments`;
    const buttons = $("citation-pay-form").querySelectorAll("button");
    for (const button of buttons) button.disabled = true;
    try {
      const json = { amount: citation.amount };
      const payment = withSaved ? await payOnce(url, json, true) : await payByCard(url, json, cards.citation, true);
      await loadAccount();
      $("citation-paid").replaceChildren(
        el("div", {}, TEXT.citationPaid(amount(payment.amount), word(citation.rule))),
        el("a", { href: payment.receipt_url, id: "citation-receipt-link" }, TEXT.receipt),
      );
      $("citation-paid").hidden = false;
    } catch (problem) {
      showProblem($("citation-pay-error"), problem);
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  }

  async function saveCard(event) {
    event.preventDefault();
    hide($("save-card-error"));
    const drivers = body.dataset.drivers;
    try {
      const setup = await api.call("POST", `${drivers}/me/card/setup`, { auth: true });
      const method = await confirmSetup(setup.client_secret, cards.save);
      await api.call("PUT", `${drivers}/me/card`, { auth: true, json: { payment_method: method } });
      $("saved-card").textContent = TEXT.cardSavedNow;
    } catch (problem) {
      showProblem($("save-card-error"), problem);
    }
  }

  // --- wiring

  function network() {
    $("net").textContent = navigator.onLine ? "" : t("offline");
    $("net").classList.toggle("offline", !navigator.onLine);
  }

  for (const button of document.querySelectorAll("#tabs button")) {
    button.addEventListener("click", () => {
      show(button.dataset.screen);
      if (button.dataset.screen === "account") loadAccount();
    });
  }
  $("locate").addEventListener("click", locate);
  $("road-back").addEventListener("click", () => {
    state.road = null;
    show("map");
    loadRoads();
  });
  $("plate-form").addEventListener("submit", findUnpaid);
  $("card-form").addEventListener("submit", payPlate);
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("account-pay-form").addEventListener("submit", payOutstanding);
  $("save-card-form").addEventListener("submit", saveCard);
  $("citation-pay-form").addEventListener("submit", (event) => {
    event.preventDefault();
    payCitation(false);
  });
  $("citation-pay-saved").addEventListener("click", () => payCitation(true));
  const cards = {
    plate: cardField("#card-element"), account: cardField("#account-card-element"),
    save: cardField("#save-card-element"), citation: cardField("#citation-card-element"),
  };
  if (!stripe) {
    $("card-note").textContent = TEXT.cardsUnavailable;
    $("pay-button").disabled = true;
    $("save-card-form").hidden = true;
  }
  window.addEventListener("online", network);
  window.addEventListener("offline", network);
  network();
  loadRoads();
  setInterval(refresh, REFRESH_MS);
  document.addEventListener("visibilitychange", refresh);
})();
