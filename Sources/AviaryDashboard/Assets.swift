/// The dashboard's script and stylesheet, served by the daemon at `/dashboard/assets/` (nothing
/// from a CDN, no inline script or style: the Content-Security-Policy allows only these).
public enum DashboardAssets {
    /// `dashboard.js`: confirms destructive actions, posts forms with the CSRF token, follows the
    /// change stream and swaps in new content, counts timed pauses down.
    public static let javascript = #"""
        // Aviary's dashboard: confirms destructive actions, posts the forms with the page's CSRF token,
        // follows the daemon's change stream and swaps in the new content without a reload.
        "use strict";
        (function () {
          const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
          const content = document.getElementById("content");
          const notice = document.getElementById("notice");
          const banner = document.getElementById("connection");
          const live = document.body.dataset.live;
          const fragment = document.body.dataset.fragment;

          function say(text, kind) {
            if (!notice) return;
            notice.textContent = text;
            notice.className = kind;
          }

          // The page's inputs keep what was typed (and the focus) across a refresh.
          function keepInputs(apply) {
            const values = {};
            content.querySelectorAll("input[id], select[id]").forEach(function (field) {
              if (field.type !== "hidden") values[field.id] = field.value;
            });
            const focused = document.activeElement && document.activeElement.id;
            const open = Array.from(content.querySelectorAll("details[open]")).map(function (d, i) {
              return d.closest("[data-run]") ? d.closest("[data-run]").dataset.run + ":" + i : String(i);
            });
            apply();
            Object.keys(values).forEach(function (id) {
              const field = document.getElementById(id);
              if (field && field.type !== "hidden") field.value = values[id];
            });
            content.querySelectorAll("details").forEach(function (d, i) {
              const key = d.closest("[data-run]") ? d.closest("[data-run]").dataset.run + ":" + i : String(i);
              if (open.indexOf(key) >= 0) d.open = true;
            });
            if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
          }

          let refreshing = false;
          let again = false;
          function refresh() {
            if (!fragment) return;
            if (refreshing) { again = true; return; }
            refreshing = true;
            fetch(fragment, { headers: { Accept: "text/html" }, credentials: "same-origin", cache: "no-store" })
              .then(function (response) {
                if (response.status === 401) { window.location.assign("/dashboard/login?next=" + encodeURIComponent(location.pathname)); return null; }
                if (response.status === 404) { return response.text(); }
                if (!response.ok) throw new Error("HTTP " + response.status);
                return response.text();
              })
              .then(function (html) {
                if (html !== null) keepInputs(function () { content.innerHTML = html; });
                document.body.dataset.updated = String(Date.now());
              })
              .catch(function () { if (banner) banner.hidden = false; })
              .finally(function () {
                refreshing = false;
                if (again) { again = false; refresh(); }
              });
          }

          // Forms with data-action: confirm where asked, post with the CSRF token, show the answer.
          document.addEventListener("submit", function (event) {
            const form = event.target;
            if (!form.dataset || !form.dataset.action) return;
            event.preventDefault();
            if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
            const buttons = form.querySelectorAll("button");
            buttons.forEach(function (b) { b.disabled = true; });
            fetch(form.action, {
              method: "POST",
              credentials: "same-origin",
              headers: { "X-CSRF-Token": csrf, Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
              body: new URLSearchParams(new FormData(form)).toString()
            })
              .then(function (response) {
                return response.json().then(function (body) { return { ok: response.ok, body: body }; },
                  function () { return { ok: false, body: { error: "HTTP " + response.status } }; });
              })
              .then(function (answer) {
                if (answer.ok) say(answer.body.message, "done");
                else say(answer.body.error || "the daemon refused the action", "error");
              })
              .catch(function () { say("The daemon did not answer; nothing may have changed.", "error"); })
              .finally(function () { refresh(); });
          });

          // Timed pauses count down.
          function tick() {
            document.querySelectorAll(".countdown[data-until]").forEach(function (span) {
              const left = Math.max(0, Math.ceil((Date.parse(span.dataset.until) - Date.now()) / 1000));
              span.textContent = left + "s left";
            });
          }
          setInterval(tick, 1000);

          // Live: each change the daemon announces brings the new content.
          if (live && window.EventSource) {
            let source = null;
            function connect() {
              source = new EventSource(live);
              source.addEventListener("open", function () {
                if (banner && !banner.hidden) { banner.hidden = true; refresh(); }
                document.body.dataset.connected = "true";
              });
              source.addEventListener("change", function () { refresh(); });
              source.addEventListener("error", function () {
                document.body.dataset.connected = "false";
                if (banner) banner.hidden = false;
                if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
              });
            }
            connect();
          }
        })();
        """#

    /// `dashboard.css`: light and dark themes (`prefers-color-scheme`).
    public static let stylesheet = #"""
        /* Aviary's dashboard. Light and dark follow the system; colours pass WCAG AA on their backgrounds. */
        :root {
          --bg: #ffffff; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --panel: #f6f8fa; --link: #0550ae;
          --ok: #116329; --warn: #7d4e00; --bad: #a40e26; --pause: #0b5cad; --stable: #1a5fc7; --canary: #8a5a00;
          --focus: #0969da;
        }
        @media (prefers-color-scheme: dark) {
          :root {
            --bg: #0d1117; --fg: #e6edf3; --muted: #9da7b3; --line: #30363d; --panel: #161b22; --link: #6cb6ff;
            --ok: #56d364; --warn: #e3b341; --bad: #ff7b72; --pause: #79c0ff; --stable: #58a6ff; --canary: #e3b341;
            --focus: #79c0ff;
          }
        }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
        a { color: var(--link); }
        :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
        code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; }
        .top { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line); background: var(--panel); }
        .top .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
        .top nav { flex: 1; }
        .signout { margin: 0; }
        main { padding: 1rem 1.2rem 3rem; max-width: 1200px; }
        h1 { font-size: 1.5rem; margin: .4rem 0 .8rem; }
        h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
        h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
        h4 { font-size: .95rem; margin: .8rem 0 .2rem; }
        .muted, .total, .crumbs { color: var(--muted); }
        .total { font-size: .9rem; font-weight: 400; }
        .banner { background: var(--bad); color: var(--bg); padding: .5rem 1.2rem; font-weight: 600; }
        #notice:empty { display: none; }
        #notice, .done { margin: .6rem 1.2rem; padding: .5rem .8rem; border-radius: 6px; border: 1px solid var(--line); }
        #notice.done, p.done { border-color: var(--ok); }
        #notice.error { border-color: var(--bad); color: var(--bad); }
        .error { color: var(--bad); font-weight: 600; }
        table { border-collapse: collapse; width: 100%; margin: .3rem 0; }
        th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        thead th { font-size: .85rem; color: var(--muted); font-weight: 600; }
        td.message { color: var(--muted); max-width: 24rem; }
        .status { font-weight: 600; white-space: nowrap; }
        .status.healthy, .status.successful { color: var(--ok); }
        .status.progressing, .status.running, .status.pending, .status.waiting, .status.inconclusive { color: var(--warn); }
        .status.paused { color: var(--pause); }
        .status.degraded, .status.failed, .status.error { color: var(--bad); }
        .role { display: inline-block; font-size: .75rem; padding: 0 .4rem; border-radius: 10px; border: 1px solid var(--line); margin-left: .2rem; }
        .role.stable, .role.active { border-color: var(--stable); color: var(--stable); }
        .role.canary, .role.preview { border-color: var(--canary); color: var(--canary); }
        .badge { font-size: .8rem; border: 1px solid var(--line); padding: 0 .5rem; border-radius: 10px; }
        .filter { display: flex; flex-wrap: wrap; gap: .4rem .6rem; align-items: center; margin-bottom: .6rem; }
        .counts { list-style: none; display: flex; gap: .8rem; padding: 0; margin: .4rem 0 .8rem; flex-wrap: wrap; }
        .counts a { text-decoration: none; padding: .15rem .5rem; border: 1px solid var(--line); border-radius: 6px; }
        .counts a[aria-current] { border-color: var(--focus); }
        .count .number { font-weight: 700; }
        input, select, button { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: .25rem .5rem; }
        button { cursor: pointer; background: var(--panel); font-weight: 600; }
        button:disabled { cursor: not-allowed; opacity: .55; }
        .controls .buttons { display: flex; flex-wrap: wrap; gap: .4rem; margin-bottom: .6rem; }
        .controls form { margin: 0; }
        .set-image { display: flex; flex-wrap: wrap; gap: .4rem .6rem; align-items: center; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .4rem 0; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; }
        ul.images { list-style: none; margin: 0; padding: 0; }
        p.message { background: var(--panel); border-left: 3px solid var(--line); padding: .3rem .6rem; margin: .3rem 0; }
        ol.steps { list-style: none; padding: 0; margin: 0; border-left: 2px solid var(--line); }
        ol.steps li { padding: .25rem .8rem; position: relative; }
        ol.steps li.step-done { color: var(--muted); }
        ol.steps li.step-current { font-weight: 700; border-left: 4px solid var(--focus); margin-left: -3px; }
        ol.steps .index { display: inline-block; min-width: 1.6rem; color: var(--muted); }
        .countdown, .waiting { font-weight: 400; color: var(--pause); margin-left: .4rem; }
        svg.split { width: 100%; height: 18px; border-radius: 4px; display: block; }
        svg.split .stable, .key.stable { fill: var(--stable); background: var(--stable); }
        svg.split .canary, .key.canary { fill: var(--canary); background: var(--canary); }
        .key { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin: 0 .3rem 0 .8rem; vertical-align: middle; }
        .legend .key:first-child { margin-left: 0; }
        svg.topology { width: 100%; max-width: 720px; height: auto; }
        .topology rect { fill: var(--panel); stroke: var(--line); stroke-width: 1.5; }
        .topology .service rect { stroke: var(--link); }
        .topology .replicaset.stable rect, .topology .replicaset.active rect { stroke: var(--stable); stroke-width: 2.5; }
        .topology .replicaset.canary rect, .topology .replicaset.preview rect { stroke: var(--canary); stroke-width: 2.5; }
        .topology .pod.ready rect { stroke: var(--ok); }
        .topology .pod.not-ready rect { stroke: var(--warn); stroke-dasharray: 4 3; }
        .topology text { fill: var(--fg); font-size: 12px; }
        .topology text.detail { fill: var(--muted); font-size: 11px; }
        .topology .edge { stroke: var(--muted); stroke-width: 1.2; }
        .topology .edge.traffic { stroke: var(--link); stroke-width: 2; }
        .topology .arrowhead { fill: var(--link); }
        .topology text.weight { fill: var(--link); font-weight: 700; }
        svg.chart { width: 100%; max-width: 640px; height: auto; display: block; }
        .chart .frame { fill: none; stroke: var(--line); }
        .chart .axis { fill: var(--muted); font-size: 11px; }
        .chart .series { fill: none; stroke: var(--link); stroke-width: 1.5; }
        .chart .point { fill: var(--muted); }
        .chart .point.successful { fill: var(--ok); }
        .chart .point.failed, .chart .point.error { fill: var(--bad); }
        .chart .point.inconclusive { fill: var(--warn); }
        .chart .threshold { stroke-dasharray: 6 4; stroke-width: 1.5; }
        .chart .threshold.success { stroke: var(--ok); }
        .chart .threshold.failure { stroke: var(--bad); }
        .chart .threshold-label { font-size: 11px; }
        .chart .threshold-label.success { fill: var(--ok); }
        .chart .threshold-label.failure { fill: var(--bad); }
        ol.events { list-style: none; padding: 0; margin: 0; }
        ol.events li { padding: .2rem 0; border-bottom: 1px solid var(--line); }
        ol.events li.warning strong { color: var(--bad); }
        ol.events .age { display: inline-block; min-width: 3.5rem; color: var(--muted); }
        .login { max-width: 26rem; }
        .login form { display: grid; gap: .5rem; }
        .empty { color: var(--muted); }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        """#
}
