// rolecall console: kick off runs from the crew forms, follow a run's events, decide approvals.
// The session cookie (HttpOnly) carries the token; this script never sees it.
"use strict";

async function send(url, body) {
  const response = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                                     body: JSON.stringify(body || {}), credentials: "same-origin"});
  const data = await response.json().catch(() => ({error: "the server answered " + response.status}));
  if (!response.ok) throw new Error(data.error + (data.hint ? " (" + data.hint + ")" : ""));
  return data;
}

function inputsOf(form) {
  const inputs = {};
  for (const field of form.querySelectorAll("input[name]")) {
    const type = field.dataset.type;
    if (type === "boolean") inputs[field.name] = field.checked;
    else if (field.value === "") continue;  // not given: the default applies
    else if (type === "integer" || type === "number") inputs[field.name] = Number(field.value);
    else inputs[field.name] = field.value;
  }
  return inputs;
}

function crewForms() {
  for (const form of document.querySelectorAll("form.kickoff")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = form.querySelector(".error");
      error.textContent = "";
      try {
        const answer = await send("/crews/" + encodeURIComponent(form.dataset.crew) + "/kickoff",
                                  {inputs: inputsOf(form)});
        location.href = "/console/runs/" + encodeURIComponent(answer.kickoff_id);
      } catch (e) { error.textContent = e.message; }
    });
  }
}

function setStatus(el, status) {
  el.textContent = status;
  el.className = "status s-" + status;
}

function liveRun(section) {
  const id = section.dataset.run;
  const byTask = (key) => section.querySelector('li.task[data-task="' + CSS.escape(key) + '"]');
  const stream = new EventSource("/runs/" + encodeURIComponent(id) + "/events");
  stream.addEventListener("task", (e) => {
    const d = JSON.parse(e.data), li = byTask(d.task);
    if (!li) return;
    li.dataset.status = d.status === "pending" ? "waiting" : d.status;
    li.querySelector(".state").textContent = li.dataset.status;
    li.querySelector(".agent").textContent = d.agent ? "by " + d.agent : "";
    if (d.output) li.querySelector(".output").textContent = d.output;
  });
  stream.addEventListener("flow_step", (e) => {
    const d = JSON.parse(e.data), list = document.getElementById("steps");
    if (!list) return;
    let li = list.querySelector('li.step[data-seq="' + d.seq + '"]');
    if (!li) {
      li = document.createElement("li");
      li.className = "step";
      li.dataset.seq = d.seq;
      for (const [tag, cls] of [["b", "method"], ["span", "round"], ["span", "state"], ["span", "label"], ["a", "child"]]) {
        const part = document.createElement(tag);
        part.className = cls;
        li.append(part, " ");
      }
      list.append(li);
    }
    li.dataset.status = d.status;
    li.querySelector(".method").textContent = d.method;
    li.querySelector(".round").textContent = d.round > 1 ? "(round " + d.round + ")" : "";
    li.querySelector(".state").textContent = d.status;
    li.querySelector(".label").textContent = d.label ? "→ " + d.label : "";
    const child = li.querySelector(".child");
    child.hidden = !d.child_run;
    if (d.child_run) { child.href = "/console/runs/" + encodeURIComponent(d.child_run); child.textContent = d.child_run; }
  });
  stream.addEventListener("usage", (e) => {
    const d = JSON.parse(e.data);
    document.getElementById("tokens").textContent = d.tokens;
    document.getElementById("cost").textContent = Number(d.cost || 0).toFixed(4);
    document.getElementById("calls").textContent = d.calls;
  });
  stream.addEventListener("delegation", (e) => {
    const d = JSON.parse(e.data), li = document.createElement("li");
    li.textContent = d.task + ": " + d.manager + " → " + d.coworker + " (" + d.kind + "): " + d.request;
    document.getElementById("delegations").append(li);
  });
  stream.addEventListener("approval", (e) => {
    const d = JSON.parse(e.data), box = document.getElementById("approval");
    box.hidden = d.status !== "pending";
    box.querySelector(".content").textContent = d.content || "";
  });
  stream.addEventListener("run", (e) => {
    const d = JSON.parse(e.data);
    setStatus(document.getElementById("run-status"), d.status);
    document.getElementById("run-error").textContent = d.error || "";
    if (d.output) document.getElementById("output").textContent = d.output;
    document.getElementById("resume").hidden = !["interrupted", "failed", "stopped"].includes(d.status);
    if (d.status !== "awaiting_approval") document.getElementById("approval").hidden = true;
  });
  stream.addEventListener("end", () => stream.close());
  document.getElementById("resume").addEventListener("click", async () => {
    try { await send("/runs/" + encodeURIComponent(id) + "/resume"); location.reload(); }
    catch (e) { document.getElementById("run-error").textContent = e.message; }
  });
}

function approvalGates() {
  for (const gate of document.querySelectorAll("section.gate")) {
    const decide = async (approve) => {
      const out = gate.querySelector(".answer");
      try {
        const answer = await send("/crews/" + encodeURIComponent(gate.dataset.crew) + "/resume", {
          execution_id: gate.dataset.run, task_id: gate.dataset.task, is_approve: approve,
          human_feedback: gate.querySelector(".feedback").value});
        out.textContent = answer.decision + ": " + answer.status;
        gate.dataset.decided = answer.decision;
        for (const b of gate.querySelectorAll("button")) b.disabled = true;
      } catch (e) { out.textContent = e.message; }
    };
    gate.querySelector(".approve").addEventListener("click", () => decide(true));
    gate.querySelector(".reject").addEventListener("click", () => decide(false));
  }
}

function tryRoutes() {
  for (const route of document.querySelectorAll("section.route")) {
    route.querySelector("button.try").addEventListener("click", async () => {
      const out = route.querySelector(".answer"), body = route.querySelector(".body");
      const init = {method: route.dataset.method, credentials: "same-origin"};
      if (body) { init.headers = {"Content-Type": "application/json"}; init.body = body.value; }
      out.hidden = false;
      try {
        const response = await fetch(route.querySelector(".url").value, init);
        const text = await response.text();
        let shown = text;
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON: the report's HTML */ }
        out.textContent = response.status + " " + response.statusText + "\n" + shown.slice(0, 20000);
      } catch (e) { out.textContent = e.message; }
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  crewForms();
  tryRoutes();
  approvalGates();
  const run = document.getElementById("run");
  if (run) liveRun(run);
});
