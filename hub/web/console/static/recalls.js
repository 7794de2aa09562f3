/* The recalls: /console/api/recalls (the lines of the viewer's scope), each institution's acknowledgement. */
"use strict";
(function () {
  const {config, t, formatNumber, getJson, element: el, when} = window.HIE;
  const lang = config.lang;
  const box = document.getElementById("recalls");
  const status = box.querySelector(".status");
  const list = document.getElementById("recall-list");



  function amount(name, value) {
    return el("td", formatNumber(Number(value), "", lang), {"class": "num", "data-name": name, "data-value": String(value)});
  }

  /** confirmed, overdue (unconfirmed past the deadline) or pending. */
  function stateOf(line) {
    if (line.state === "confirmed") return "confirmed";
    return line.overdue ? "overdue" : "pending";
  }

  function recallCard(recall) {
    const card = el("article", null, {"class": "card recall-card", id: `recall-${recall.id}`,
      "data-recall": String(recall.id), "data-batch": recall.batch, "data-drug": recall.drug});
    const trace = `/console/drugs/trace?${new URLSearchParams({batch: recall.batch, drug: recall.drug})}`;
    const title = el("h2", `${t("recalls.recall")} #${recall.id} · ${recall.drug} · `);
    title.appendChild(el("a", recall.batch, {href: trace, "class": "trace-link"}));
    card.appendChild(title);
    const facts = el("dl");
    const progress = `${recall.progress.confirmed} / ${recall.progress.notified}` +
      (recall.complete ? ` · ${t("recalls.complete")}` : "");
    for (const [label, value, name] of [["recalls.reason", recall.reason, "reason"],
      ["recalls.raised_at", when(recall.raised_at), "raised-at"], ["recalls.raised_by", recall.raised_by, "raised-by"],
      ["recalls.confirm_by", when(recall.confirm_by), "confirm-by"], ["recalls.progress", progress, "progress"]]) {
      facts.append(el("dt", t(label)), el("dd", value, {"class": name}));
    }
    card.querySelector("h2").after(facts);
    const table = el("table", null, {"class": "cells lines"});
    const head = table.createTHead().insertRow();
    for (const label of ["recalls.institution", "recalls.received", "recalls.dispensed", "recalls.patients",
      "recalls.state", "recalls.sent_at", "recalls.confirmed_at"]) head.appendChild(el("th", t(label)));
    const body = table.createTBody();
    for (const line of recall.institutions) {
      const state = stateOf(line);
      const tr = body.insertRow();
      tr.dataset.institution = line.institution;
      tr.dataset.state = state;
      tr.append(el("td", line.institution), amount("received", line.received), amount("dispensed", line.dispensed),
        amount("patients", line.patients), el("td", t("recalls.state." + state), {"class": "state", "data-state": state}),
        el("td", when(line.sent_at)), el("td", when(line.confirmed_at), {"class": "confirmed-at"}));
    }
    card.appendChild(table);
    return card;
  }

  async function load() {
    try {
      const answer = await getJson("/console/api/recalls");
      list.replaceChildren(...answer.recalls.map(recallCard));
      status.textContent = answer.recalls.length ? "" : t("recalls.none");
      box.dataset.state = "loaded";
      const target = location.hash && document.getElementById(location.hash.slice(1));
      if (target) target.scrollIntoView();
    } catch (error) {
      const meaning = (config.meanings || {})[error.message];
      status.textContent = meaning ? `${error.message} — ${meaning}` : error.message;
      status.className = "status error";
      box.dataset.state = "failed";
    }
  }

  load();
})();
