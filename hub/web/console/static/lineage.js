/* The lineage view: the facts behind a dashboard cell (/console/api/lineage/cell) and, for a fact, its
   OLTP row, document and signed message (/console/api/lineage/fact/{key}): ids and digests only. */
"use strict";
(function () {
  const {config, t, getJson} = window.HIE;
  const cell = config.cell || {};

  function text(tag, content, attributes) {
    const element = document.createElement(tag);
    if (content !== undefined && content !== null) element.textContent = content;
    for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, value);
    return element;
  }

  function section(title, values, id) {
    const table = text("table", null, {"class": "cells", id});
    table.appendChild(text("caption", title));
    const body = table.createTBody();
    for (const [name, value] of Object.entries(values || {})) {
      const row = body.insertRow();
      row.dataset.key = name;
      row.appendChild(text("th", name));
      row.appendChild(text("td", value === null || value === undefined ? "—" : String(value), {"data-value": String(value)}));
    }
    return table;
  }

  async function trace(key) {
    const card = document.getElementById("lineage-fact");
    const status = card.querySelector(".status");
    const target = document.getElementById("fact");
    target.replaceChildren();
    card.dataset.state = "loading";
    try {
      const answer = await getJson("/console/api/lineage/fact/" + encodeURIComponent(key));
      const parts = [section(t("lineage.oltp"), {fact_key: answer.fact_key, oltp_table: answer.oltp_table,
                                                 oltp_row_id: answer.oltp_row_id, institution: answer.institution},
                             "fact-oltp"),
                     section(t("lineage.message"), answer.message, "fact-message")];
      if (answer.document) parts.push(section(t("lineage.document"), answer.document, "fact-document"));
      if (config.journeys && answer.message) {
        parts.push(text("a", t("lineage.journey"), {id: "fact-journey",
          href: "/console/monitor?" + new URLSearchParams({message_id: answer.message.message_id})}));
      }
      target.replaceChildren(...parts);
      status.textContent = "";
      card.dataset.state = "loaded";
    } catch (error) {
      status.textContent = t("chart.failed") + " (" + error.message + ")";
      card.dataset.state = "failed";
    }
  }

  async function facts() {
    const card = document.getElementById("lineage-cell");
    const status = card.querySelector(".status");
    // the cell as the link named it (the page's own parameters: the endpoint checks every one)
    const query = new URLSearchParams(window.location.search);
    for (const name of ["label", "fact_key"]) query.delete(name);
    try {
      const answer = await getJson("/console/api/lineage/cell?" + query.toString());
      const list = document.getElementById("facts");
      list.replaceChildren(...answer.fact_keys.map((key) => {
        const item = text("li");
        const link = text("a", key, {href: "#", "class": "fact", "data-key": key});
        link.addEventListener("click", (event) => { event.preventDefault(); trace(key); });
        item.appendChild(link);
        return item;
      }));
      const period = answer.facts_period || answer.period;
      if (period) document.getElementById("cell-period").textContent = `${t("lineage.period")}：${period.from} – ${period.to}`;
      status.textContent = answer.complete ? "" : t("lineage.more");
      card.dataset.state = "loaded";
    } catch (error) {
      status.textContent = error.message === "access.denied" ? t("lineage.withheld")
        : t("chart.failed") + " (" + error.message + ")";
      card.dataset.state = error.message === "access.denied" ? "withheld" : "failed";
    }
  }

  document.getElementById("fact-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = document.getElementById("fact-key").value.trim();
    if (key) trace(key);
  });
  if (cell.traced) facts();
  if (document.getElementById("fact-key").value) trace(document.getElementById("fact-key").value);
})();
