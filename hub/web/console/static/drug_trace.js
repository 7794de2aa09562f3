/* The batch trace: /console/api/drug_trace (the viewer's scope) as tables and a flow; operators start a recall. */
"use strict";
(function () {
  const {config, t, formatNumber, getJson, csrfToken, element: el, when} = window.HIE;
  const lang = config.lang;
  const result = document.getElementById("trace-result");
  const status = result.querySelector(".status");
  const list = document.getElementById("trace-drugs");



  /** A quantity as the ledger gives it (decimal text, or null: none told) in a number cell. */
  function amount(name, value) {
    return el("td", value === null || value === undefined ? "—" : formatNumber(Number(value), "", lang),
      {"class": "num", "data-name": name, "data-value": value === null || value === undefined ? "" : value});
  }

  function table(headers, rows) {
    const element = el("table", null, {"class": "cells"});
    const head = element.createTHead().insertRow();
    for (const label of headers) head.appendChild(el("th", label));
    const body = element.createTBody();
    for (const row of rows) body.appendChild(row);
    if (!rows.length) body.appendChild(el("tr")).appendChild(el("td", t("trace.none"), {colspan: headers.length}));
    return element;
  }

  function row(cells, data) {
    const tr = document.createElement("tr");
    for (const [name, value] of Object.entries(data || {})) tr.setAttribute("data-" + name, value === null ? "" : value);
    for (const cell of cells) tr.appendChild(cell instanceof Node ? cell : el("td", cell));
    return tr;
  }

  function section(title, content) {
    const part = el("section", null, {"class": "part"});
    part.appendChild(el("h3", title));
    part.appendChild(content);
    return part;
  }

  function holderName(holder) {
    return holder.name ? `${holder.name}（${holder.code}）` : holder.code;
  }

  function kindLabel(kind) {
    const found = (config.labels || {})["trace.kind." + kind];
    return found === undefined ? kind : found;
  }

  function errorLine(code) {
    const meaning = (config.meanings || {})[code];
    return meaning ? `${code} — ${meaning}` : code;
  }

  /** Forward legs and dispenses as a sankey, or null when the chain loops (a sankey cannot draw a cycle). */
  function flowOf(drug) {
    const names = new Map(drug.holders.map((h) => [h.code, holderName(h)]));
    const links = [];
    for (const leg of drug.legs) {
      const value = Number(leg.received !== null ? leg.received : leg.shipped);
      if (leg.returned === null && value > 0) {
        links.push({source: names.get(leg.from) || leg.from, target: names.get(leg.to) || leg.to, value});
      }
    }
    for (const line of drug.dispensed) {
      const from = names.get(line.institution) || line.institution;
      links.push({source: from, target: `${from} · ${t("trace.patients_node")}`, value: Number(line.quantity)});
    }
    const next = new Map();
    for (const link of links) next.set(link.source, [...(next.get(link.source) || []), link.target]);
    const state = new Map();
    const loops = (node) => {
      if (state.get(node) === 1) return true;
      if (state.get(node) === 2) return false;
      state.set(node, 1);
      const found = (next.get(node) || []).some(loops);
      state.set(node, 2);
      return found;
    };
    if ([...next.keys()].some(loops)) return null;
    const nodes = [...new Set(links.flatMap((link) => [link.source, link.target]))].map((name) => ({name}));
    return nodes.length ? {nodes, links} : null;
  }

  /** The flow's place in the card; drawn by ``drawFlow`` once the card is on the page (ECharts needs its size). */
  function flowPart(card, drug) {
    const box = el("div", null, {"class": "flow"});
    card.appendChild(section(t("trace.flow"), box));
    return () => drawFlow(box, drug);
  }

  function drawFlow(box, drug) {
    const flow = flowOf(drug);
    if (flow === null || !window.echarts) {
      box.replaceWith(el("p", t("trace.flow.none"), {"class": "hint"}));
      return;
    }
    const chart = window.echarts.init(box);
    chart.setOption({animation: false, tooltip: {trigger: "item"},
      series: [{type: "sankey", data: flow.nodes, links: flow.links, emphasis: {focus: "adjacency"},
        lineStyle: {color: "gradient", opacity: 0.4}, label: {fontSize: 11}}]});
  }

  function recallPart(card, drug) {
    const part = el("section", null, {"class": "part recall", "data-drug": drug.drug});
    part.appendChild(el("h3", t("recall.start")));
    const message = el("p", null, {"class": "recall-message"});
    if (drug.recall) {
      message.textContent = t("recall.exists");
      message.appendChild(el("a", `#${drug.recall.id}`, {href: `/console/drugs/recalls#recall-${drug.recall.id}`,
        "class": "recall-link"}));
      part.appendChild(message);
      card.appendChild(part);
      return;
    }
    const form = el("form", null, {"class": "recall-form"});
    const reason = el("textarea", null, {name: "reason", maxlength: "500", rows: "2", required: "", "class": "recall-reason"});
    const hours = el("input", null, {type: "number", name: "hours", min: "1", max: "2160", step: "1", value: "48",
      "class": "recall-hours"});
    const reasonLabel = el("label", t("recall.reason") + " ");
    reasonLabel.appendChild(reason);
    const hoursLabel = el("label", t("recall.hours") + " ");
    hoursLabel.appendChild(hours);
    const start = el("button", t("recall.start"), {type: "submit", "class": "recall-start"});
    form.append(reasonLabel, el("br"), hoursLabel, " ", start);
    const confirm = el("div", null, {"class": "recall-confirm", hidden: ""});
    const yes = el("button", t("recall.confirm"), {type: "button", "class": "recall-yes"});
    const no = el("button", t("recall.cancel"), {type: "button", "class": "recall-no"});
    confirm.append(el("p", t("recall.confirm_question")), yes, " ", no);
    form.addEventListener("submit", (event) => {  // the first click only asks: the second step sends
      event.preventDefault();
      if (!reason.value.trim()) return;
      confirm.hidden = false;
      start.disabled = true;
    });
    no.addEventListener("click", () => { confirm.hidden = true; start.disabled = false; });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      const response = await fetch("/console/api/recalls", {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken()},
        body: JSON.stringify({batch: drug.batch, drug: drug.drug, reason: reason.value,
          confirm_within_hours: Number(hours.value)})});
      const body = await response.json().catch(() => ({}));
      confirm.hidden = true;
      if (response.ok) {
        form.remove();
        message.textContent = t("recall.started");
        message.appendChild(el("a", `#${body.id}`, {href: `/console/drugs/recalls#recall-${body.id}`, "class": "recall-link"}));
        part.dataset.state = "started";
      } else {
        start.disabled = false;
        yes.disabled = false;
        message.textContent = t("recall.failed") + errorLine(body.code || String(response.status));
        message.className = "recall-message error";
        message.dataset.code = body.code || "";
        part.dataset.state = "failed";
      }
    });
    part.append(form, confirm, message);
    card.appendChild(part);
  }

  function drugCard(drug, index) {
    const card = el("article", null, {"class": "card drug-card", id: `drug-${index}`, "data-drug": drug.drug,
      "data-batch": drug.batch});
    card.appendChild(el("h2", `${drug.drug} · ${drug.batch}`));
    const facts = el("dl");
    facts.append(el("dt", t("trace.expiry")), el("dd", drug.expiry_date || "—", {"class": "expiry"}));
    if (!drug.known) facts.append(el("dt", t("trace.known")), el("dd", t("trace.unknown_batch"), {"class": "error"}));
    card.appendChild(facts);
    if (!drug.whole) card.appendChild(el("p", t("trace.scope_note"), {"class": "hint scope-note"}));
    card.drawFlow = drug.legs.length || drug.dispensed.length ? flowPart(card, drug) : () => {};
    const named = new Map(drug.holders.map((h) => [h.code, h]));
    const nameOf = (code) => (named.has(code) ? holderName(named.get(code)) : code);
    card.appendChild(section(t("trace.chain"), table(
      [t("trace.from"), t("trace.to"), t("trace.shipped"), t("trace.received"), t("trace.returned"), t("trace.first"),
        t("trace.last")],
      drug.legs.map((leg) => row([nameOf(leg.from), nameOf(leg.to), amount("shipped", leg.shipped),
        amount("received", leg.received), amount("returned", leg.returned), when(leg.first_at), when(leg.last_at)],
      {from: leg.from, to: leg.to})))));
    card.lastChild.querySelector("table").classList.add("legs");
    card.appendChild(section(t("trace.holders"), table(
      [t("trace.holder"), t("trace.kind"), t("trace.holder_received"), t("trace.transferred"), t("trace.returned"),
        t("trace.dispensed"), t("trace.stock")],
      drug.holders.map((h) => h.in_scope
        ? row([holderName(h), kindLabel(h.kind), amount("received", h.received), amount("transferred", h.transferred),
          amount("returned", h.returned), amount("dispensed", h.dispensed),
          h.stock === null ? el("td", t("trace.source"), {"class": "num", "data-name": "stock", "data-value": ""})
            : amount("stock", h.stock)], {code: h.code, "in-scope": "true"})
        : row([holderName(h), kindLabel(h.kind), el("td", t("trace.outside"), {colspan: "5"})],
          {code: h.code, "in-scope": "false"})))));
    card.lastChild.querySelector("table").classList.add("holders");
    card.appendChild(section(t("trace.dispensed_by"), table(
      [t("trace.holder"), t("trace.dispenses"), t("trace.patients"), t("trace.quantity")],
      drug.dispensed.map((d) => row([nameOf(d.institution), amount("dispenses", String(d.dispenses)),
        amount("patients", String(d.patients)), amount("quantity", d.quantity)], {institution: d.institution})))));
    card.lastChild.querySelector("table").classList.add("dispensed");
    card.appendChild(section(t("trace.alerts"), table(
      [t("trace.alert"), t("trace.holder"), t("trace.alert_state"), t("trace.alert_count"), t("trace.alert_facts"),
        t("trace.alert_opened")],
      drug.alerts.map((a) => row([lang === "zh" ? a.title_zh : a.title, nameOf(a.institution || "—"),
        t("trace.alert_state." + a.state), String(a.count),
        Object.entries(a.facts).map(([name, value]) => `${name}=${value}`).join("  "), when(a.opened_at)],
      {kind: a.kind, institution: a.institution, key: a.key})))));
    card.lastChild.querySelector("table").classList.add("alerts");
    if (config.may_recall) recallPart(card, drug);
    return card;
  }

  async function lookUp(batch, drug) {
    list.replaceChildren();
    result.dataset.state = "loading";
    status.textContent = t("trace.loading");
    status.className = "status";
    const query = new URLSearchParams({batch});
    if (drug) query.set("drug", drug);
    try {
      const answer = await getJson(`/console/api/drug_trace?${query}`);
      answer.drugs.forEach((found, index) => list.appendChild(drugCard(found, index)).drawFlow());
      status.textContent = "";
      result.dataset.state = "loaded";
    } catch (error) {
      status.textContent = errorLine(error.message);
      status.className = "status error";
      status.dataset.code = error.message;
      result.dataset.state = "failed";
    }
  }

  const form = document.getElementById("trace-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const batch = document.getElementById("trace-batch").value.trim();
    const drug = document.getElementById("trace-drug").value.trim();
    if (!batch) return;
    const query = new URLSearchParams({batch});
    if (drug) query.set("drug", drug);
    history.replaceState(null, "", `/console/drugs/trace?${query}`);
    lookUp(batch, drug);
  });
  const asked = document.getElementById("trace-batch").value.trim();
  if (asked) lookUp(asked, document.getElementById("trace-drug").value.trim());
})();
