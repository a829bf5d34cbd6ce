// The variant board in the browser (app/board_component/__init__.py says what travels where and why).
// Called again with each new board Python sends; what the expert did lives on window, so a new call (or a
// remount after another page) picks it up: the focus, the actions Python has not acknowledged, typed scores.

const DECISION = { approve: "✓ approved", reject: "✗ rejected", skip: "skipped" };
const IN_FULL = "full sections";

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function bound(spec) {
  // "Shift+A" → { key: "a", shift: true }: the keys are checked in Python (one letter, optionally Shift+).
  return { key: spec.replace("Shift+", "").toLowerCase(), shift: spec.startsWith("Shift+") };
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const S = (window.__sraditBoard ||= { seq: 0, pending: [], focus: {}, full: false, token: null, scores: {}, acts: [] });
  if (S.session !== data.session) {
    // Another Streamlit session (a reconnect after the server restarted, another account in this tab): its
    // numbers start again, and what the old one never confirmed is not applied to this one — said on screen.
    S.dropped = S.session === undefined ? 0 : S.pending.length;
    Object.assign(S, { session: data.session, seq: 0, pending: [], scores: {}, acts: [] });
  }
  S.seq = Math.max(S.seq, data.acked);
  S.pending = S.pending.filter((a) => a.seq > data.acked);
  if (S.board !== data.badcase) {
    S.board = data.badcase;
    S.opened = Date.now() / 1000;
  }
  if (S.token !== data.focus_token) {
    // Python moved the focus (a new board, an undo, a reopened decision): that wins over the last J/K.
    S.token = data.focus_token;
    if (data.focus !== null) S.focus[data.badcase] = data.focus;
  }
  const root = parentElement.querySelector(".sb-root");
  if (!root.querySelector(".sb-keys")) skeleton(root);
  const keyOf = Object.fromEntries(Object.entries(data.keys).map(([action, spec]) => [action, bound(spec)]));

  // The cards as Python sent them, with the actions it has not applied yet laid over them.
  function view() {
    const cards = data.cards.map((c) => ({ ...c }));
    const byId = Object.fromEntries(cards.map((c) => [c.id, c]));
    for (const a of S.pending) {
      if (a.kind === "decide" && byId[a.variant]) {
        if (a.best) for (const c of cards) if (c.mine && c.mine.best) c.mine = { ...c.mine, best: false };
        byId[a.variant].mine = { decision: a.decision, score: a.score, best: a.best, text: a.text, reason: a.decision === "reject" };
      } else if (a.kind === "rest" && a.badcase === data.badcase) {
        for (const c of cards) if (!c.mine || c.mine.decision === "skip") c.mine = { decision: a.decision, score: null, best: false };
      }
    }
    return cards;
  }

  function focusedIndex(cards) {
    const i = cards.findIndex((c) => c.id === S.focus[data.badcase]);
    return i >= 0 ? i : 0;
  }

  function scoreOf(card) {
    const typed = S.scores[card.id] ?? data.scores[String(card.id)];
    return typed ?? (card.mine ? card.mine.score : null);
  }

  function send(action) {
    S.acts.push(Date.now() / 1000);
    S.seq += 1;
    const at = Date.now() / 1000;
    S.pending.push({ ...action, session: S.session, seq: S.seq, at, opened: S.opened, acts: S.acts.splice(0) });
    setStateValue("actions", S.pending.slice());
    render();
  }

  function decide(decision, best, text) {
    const cards = view();
    if (!cards.length) return;
    const i = focusedIndex(cards);
    const card = cards[i];
    send({ kind: "decide", variant: card.id, decision, best, score: scoreOf(card), text: text || null });
    delete S.scores[card.id];
    if (!best && data.auto_advance) {
      // On to the next variant still undecided (after this one, then from the top), as the expert sees them.
      const now = view();
      const order = now.slice(i + 1).concat(now.slice(0, i));
      const next = order.find((c) => !c.mine || c.mine.decision === "skip");
      if (next) S.focus[data.badcase] = next.id;
    }
    render();
  }

  function move(delta) {
    const cards = view();
    if (!cards.length) return;
    const i = Math.max(0, Math.min(cards.length - 1, focusedIndex(cards) + delta));
    S.focus[data.badcase] = cards[i].id;
    render();
  }

  function score(k) {
    const cards = view();
    if (!cards.length) return;
    S.scores[cards[focusedIndex(cards)].id] = k;
    render();
  }

  const box = root.querySelector(".sb-reason input");
  function commitReason(decision) {
    const text = box.value.trim();
    box.value = "";
    box.blur();
    const cards = view();
    const i = cards.findIndex((c) => c.id === S.reasonFor);
    if (i < 0) {
      // The board changed while the box was open (a queued N came back): the text waits, decided on nothing.
      box.value = text;
      return;
    }
    S.focus[data.badcase] = cards[i].id; // the variant the box was opened for, whatever moved since
    decide(decision, false, text);
  }

  const actions = {
    next: () => move(1),
    previous: () => move(-1),
    approve: () => decide("approve", false),
    reject: () => decide("reject", false),
    best: () => decide("approve", true),
    approve_rest: () => send({ kind: "rest", badcase: data.badcase, decision: "approve" }),
    reject_rest: () => send({ kind: "rest", badcase: data.badcase, decision: "reject" }),
    undo: () => send({ kind: "undo" }),
    diff: () => {
      S.full = !S.full;
      render();
    },
    next_badcase: () => send({ kind: "next", badcase: data.badcase }),
    reason: () => box.focus(),
  };

  function onKey(e) {
    const t = e.target;
    if (t === box) {
      if (e.key === "Enter") {
        e.preventDefault();
        e.stopImmediatePropagation();
        commitReason(e.ctrlKey || e.metaKey ? "approve" : "reject");
      } else if (e.key === "Escape") {
        e.preventDefault();
        box.blur();
      }
      return;
    }
    const typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "?") {
      const sheet = [...document.querySelectorAll("button")].find((b) => b.innerText.startsWith("Keys (?)"));
      if (sheet) {
        e.preventDefault();
        sheet.click();
      }
      return;
    }
    let act = null;
    if (!e.shiftKey && e.key >= "1" && e.key <= "5") act = () => score(Number(e.key));
    for (const [name, k] of Object.entries(keyOf)) {
      if (e.key.toLowerCase() === k.key && e.shiftKey === k.shift) act = actions[name];
    }
    if (!act) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    S.acts.push(Date.now() / 1000);
    act();
  }

  function onClick(e) {
    const b = e.target.closest("[data-act], [data-variant]");
    if (!b || !root.contains(b)) return;
    S.acts.push(Date.now() / 1000);
    if (b.dataset.act) {
      const [name, arg] = b.dataset.act.split(":");
      if (name === "score") score(Number(arg));
      else actions[name]();
    } else {
      S.focus[data.badcase] = Number(b.dataset.variant);
      render();
    }
  }

  function onBoxFocus() {
    const cards = view();
    if (cards.length) S.reasonFor = cards[focusedIndex(cards)].id;
  }

  function render() {
    const cards = view();
    const i = focusedIndex(cards);
    const card = cards[i];
    const decided = cards.filter((c) => c.mine && c.mine.decision !== "skip").length;
    root.querySelector(".sb-count").textContent = `${decided} of ${cards.length} decided`;
    const waiting = S.pending.length;
    const dropped = S.dropped ? ` (${S.dropped} unconfirmed before the session changed: not saved)` : "";
    root.querySelector(".sb-status").textContent = (waiting ? `saving ${waiting}…` : "saved") + dropped;
    for (const b of root.querySelectorAll("[data-act^='score:']")) {
      b.classList.toggle("on", !!card && scoreOf(card) === Number(b.dataset.act.split(":")[1]));
    }
    root.querySelector("[data-act=diff]").classList.toggle("on", S.full);
    const list = root.querySelector(".sb-cards");
    list.replaceChildren(...cards.map((c, k) => drawCard(c, k === i)));
    const pane = root.querySelector(".sb-view");
    pane.replaceChildren(...(card ? drawPane(card) : [el("p", "sb-sub", "No variant of this badcase is in view.")]));
    box.setAttribute(
      "aria-label",
      card ? `Reason or comment for Variant ${card.number} (Enter rejects with it, Ctrl+Enter approves with it)` : "Reason or comment",
    );
    box.placeholder = card ? `T: a reason for Variant ${card.number} — Enter rejects, Ctrl+Enter approves, Esc leaves` : "";
    fit();
    const shown = list.querySelector(".focused");
    if (shown) {
      // Keep the focused card in its list's view without scrolling the page.
      const top = shown.offsetTop - list.offsetTop;
      if (top < list.scrollTop) list.scrollTop = top;
      else if (top + shown.offsetHeight > list.scrollTop + list.clientHeight) list.scrollTop = top + shown.offsetHeight - list.clientHeight;
    }
  }

  function drawCard(c, focused) {
    const m = c.mine;
    const state = m ? (m.best ? "best" : m.decision) : "open";
    const div = el("div", `sb-card sb-${state}${focused ? " focused" : ""}`);
    div.dataset.variant = c.id;
    const title = el("button", "sb-title", `Variant ${c.number}`);
    title.dataset.variant = c.id;
    const badge = m ? DECISION[m.decision] + (m.best ? " · ★ best" : "") : "undecided";
    const sc = scoreOf(c);
    const line = el("div", "sb-line", `${c.place}${c.similarity !== null ? ` · similarity ${c.similarity}` : ""} · `);
    line.append(el("strong", "sb-badge", badge));
    if (sc) line.append(` · score ${sc}`);
    const experts = c.votes ? `experts: ✓${c.votes[0]} ✗${c.votes[1]} ★${c.votes[2]}` : "experts: hidden until you vote (blind review)";
    const sub = el("div", "sb-sub", `${experts} · ${c.summary}`);
    sub.title = c.summary;
    div.append(title, line, sub);
    return div;
  }

  function drawPane(c) {
    const head = el("div", "sb-head", `Variant ${c.number} · ${c.place}${c.similarity !== null ? ` · similarity ${c.similarity}` : ""}`);
    const verdicts = el("div", "sb-sub", c.verdicts.map(([n, ok, r]) => `${ok ? "✓" : "✗"} ${n}: ${r}`).join(" · ") || "not filtered yet");
    const gold = data.gold.map(([code, name, main]) => `${main ? "主 " : ""}${code} ${name}`).join(" · ");
    const parts = [el("div", "sb-gold", `gold: ${gold}`), el("div", "sb-sub", `why a badcase: ${data.why}`), head, verdicts];
    if (c.mine && c.mine.text) parts.push(el("div", "sb-sub", `your ${c.mine.reason ? "reason" : "comment"}: ${c.mine.text}`));
    const diff = el("div", "sb-diff");
    diff.dataset.variant = c.id;
    const names = S.full ? data.sections : Object.keys(c.diffs).length ? Object.keys(c.diffs) : data.sections.slice(0, 1);
    for (const name of names) {
      const sec = el("div", "sb-sec");
      const changed = c.diffs[name];
      sec.append(el("div", "sb-name", changed ? name : `${name} · unchanged`));
      const a = el("div", "sb-side");
      const b = el("div", "sb-side");
      // Escaped by app.textdiff (record text) or html.escape (an unchanged section): never markup from data.
      a.innerHTML = changed ? changed[0] : data.original[name];
      b.innerHTML = changed ? changed[1] : data.original[name];
      const cols = el("div", "sb-cols");
      cols.append(a, b);
      sec.append(cols);
      diff.append(sec);
    }
    const legend = el("div", "sb-legend", `original | Variant ${c.number}  ·  ${S.full ? "every section" : "changed sections"} (D: ${S.full ? "changed only" : IN_FULL})`);
    parts.push(legend, diff);
    return parts;
  }

  function fit() {
    // The pane and the card list end at the window's bottom edge: the focused diff is read without scrolling
    // the page, and a long section scrolls inside the diff box.
    const scroller = root.closest("[data-testid=stMain]") || document.scrollingElement;
    const offset = scroller ? scroller.scrollTop : 0;
    const bottom = window.innerHeight - 12;
    const diff = root.querySelector(".sb-diff");
    if (diff) diff.style.height = `${Math.max(160, bottom - (diff.getBoundingClientRect().top + offset))}px`;
    const list = root.querySelector(".sb-cards");
    list.style.maxHeight = `${Math.max(240, bottom - (list.getBoundingClientRect().top + offset))}px`;
  }

  // Streamlit calls this function again with each new board without ending the call before: the listeners of
  // that call (holding its older board) go first, or a key would act on what the board was.
  if (S.detach) S.detach();
  document.addEventListener("keydown", onKey, true);
  root.addEventListener("click", onClick);
  box.addEventListener("focus", onBoxFocus);
  window.addEventListener("resize", fit);
  const detach = () => {
    document.removeEventListener("keydown", onKey, true);
    root.removeEventListener("click", onClick);
    box.removeEventListener("focus", onBoxFocus);
    window.removeEventListener("resize", fit);
    if (S.detach === detach) S.detach = null;
  };
  S.detach = detach;
  render();
  return detach;
}

function skeleton(root) {
  const keys = el("div", "sb-keys");
  const button = (label, act) => {
    const b = el("button", "sb-key", label);
    b.dataset.act = act;
    return b;
  };
  keys.append(button("Previous", "previous"), button("Next variant", "next"));
  for (let k = 1; k <= 5; k++) keys.append(button("★".repeat(k), `score:${k}`));
  keys.append(
    button("Approve", "approve"),
    button("Reject", "reject"),
    button("Best", "best"),
    button("Approve the rest", "approve_rest"),
    button("Reject the rest", "reject_rest"),
    button("Undo", "undo"),
    button("Full sections", "diff"),
    button("Next badcase", "next_badcase"),
    el("span", "sb-count"),
    el("span", "sb-status"),
  );
  const body = el("div", "sb-body");
  const pane = el("div", "sb-pane");
  const reason = el("div", "sb-reason");
  reason.append(el("input"));
  pane.append(reason, el("div", "sb-view"));
  body.append(el("div", "sb-cards"), pane);
  root.append(keys, body);
}
