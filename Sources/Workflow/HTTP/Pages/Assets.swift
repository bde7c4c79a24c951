import Crypto
import Foundation
import Hummingbird

/// The pages' static assets (stylesheet, progressive-enhancement script, icon), embedded in
/// the binary and served by the same process under content-versioned paths
/// (`/static/NAME-HASH.EXT`, `HASH` = the first 12 hex digits of the content's SHA-256), so a
/// browser may cache each for a year and a new build is fetched at once.
enum PageAssets {
    struct Asset: Sendable {
        var path: String
        var contentType: String
        var body: String
    }

    static let css = make("app", "css", "text/css; charset=utf-8", stylesheet)
    static let js = make("app", "js", "text/javascript; charset=utf-8", script)
    static let icon = make("icon", "svg", "image/svg+xml", iconSVG)
    static let all: [String: Asset] = Dictionary(uniqueKeysWithValues: [css, js, icon].map { ($0.path, $0) })

    /// Paths as templates use them.
    struct Paths: Sendable { var css: String; var js: String; var icon: String }
    static let paths = Paths(css: css.path, js: js.path, icon: icon.path)

    private static func make(_ name: String, _ ext: String, _ type: String, _ body: String) -> Asset {
        let digest = SHA256.hash(data: Data(body.utf8)).map { String(format: "%02x", $0) }.joined()
        return Asset(path: "/static/\(name)-\(digest.prefix(12)).\(ext)", contentType: type, body: body)
    }

    /// The asset at a request path, or nil (an unknown or stale version is a 404).
    static func response(path: String) -> Response? {
        guard let asset = all[path] else { return nil }
        var headers = HTTPFields()
        headers[.contentType] = asset.contentType
        headers[.cacheControl] = "public, max-age=31536000, immutable"
        headers[.xContentTypeOptions] = "nosniff"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: asset.body)))
    }

    static let iconSVG = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d3b5c"/>\
        <path d="M4 4h8v2H4zM4 7h8v2H4zM4 10h5v2H4z" fill="#fff"/></svg>
        """

    static let stylesheet = """
        :root { --ink: #1b1b1b; --muted: #4a4a4a; --line: #c8ccd0; --brand: #1d3b5c; --link: #0b4f8a;
          --ok: #1e6b34; --bad: #a4161a; --warn: #7a4d00; --bg: #ffffff; --panel: #f3f5f7; }
        * { box-sizing: border-box; }
        html { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--ink); background: var(--bg); }
        body { margin: 0; }
        a { color: var(--link); }
        a:focus, button:focus, input:focus, select:focus, textarea:focus, main:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
        .skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem 1rem; z-index: 2; }
        .skip:focus { left: .5rem; }
        header.site { background: var(--brand); color: #fff; padding: .6rem 1.25rem; display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; }
        header.site a { color: #fff; }
        .brand { margin: 0; font-weight: 700; font-size: 1.1rem; }
        .brand a { text-decoration: none; }
        nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
        nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
        .who { margin-left: auto; font-size: .95rem; }
        .who form { display: inline; }
        .who button { background: transparent; color: #fff; border: 1px solid #fff; border-radius: 4px; padding: .1rem .5rem; cursor: pointer; font: inherit; }
        main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
        h1 { font-size: 1.7rem; margin: .5rem 0 1rem; line-height: 1.25; }
        h2 { font-size: 1.3rem; margin: 2rem 0 .75rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
        h3 { font-size: 1.1rem; margin: 1.25rem 0 .5rem; }
        .lede { color: var(--muted); max-width: 48rem; }
        table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .95rem; }
        caption { text-align: left; font-weight: 600; padding: .25rem 0; }
        th, td { text-align: left; vertical-align: top; padding: .4rem .5rem; border-bottom: 1px solid var(--line); }
        thead th { background: var(--panel); }
        td.date, span.date { white-space: nowrap; }
        table.history td:last-child { min-width: 12rem; }
        details summary { cursor: pointer; }
        details p { margin: .25rem 0; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        code, .hash { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85rem; overflow-wrap: anywhere; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.25rem; margin: 0 0 1rem; }
        dl.facts dt { font-weight: 600; }
        dl.facts dd { margin: 0; }
        .badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .85rem; border: 1px solid currentColor; white-space: nowrap; }
        .state-active, .state-approved, .state-effective { color: var(--ok); }
        .state-terminated, .state-denied, .state-withdrawn { color: var(--bad); }
        .state-termination_requested, .state-termination_approved, .state-termination_pending, .state-submitted, .state-under_review, .state-notice_served { color: var(--warn); }
        .notlisted { color: var(--warn); font-size: .85rem; display: block; }
        .filters { display: flex; flex-wrap: wrap; gap: .75rem 1rem; align-items: flex-end; background: var(--panel); padding: .75rem 1rem; border-radius: 6px; }
        .filters .field { margin: 0; }
        .field { margin: 0 0 1rem; max-width: 40rem; }
        .field label, .field legend { display: block; font-weight: 600; margin-bottom: .2rem; }
        .hint { color: var(--muted); font-size: .9rem; margin: 0 0 .25rem; }
        .error { color: var(--bad); font-weight: 600; margin: 0 0 .25rem; }
        .has-error input, .has-error select, .has-error textarea { border-color: var(--bad); border-width: 2px; }
        input[type="text"], input[type="password"], select, textarea { font: inherit; padding: .35rem .5rem; border: 1px solid #6b7177; border-radius: 4px; width: 100%; max-width: 40rem; background: #fff; color: var(--ink); }
        textarea { min-height: 5rem; }
        .filters input, .filters select { width: auto; min-width: 10rem; }
        button, .button { font: inherit; background: var(--brand); color: #fff; border: 0; border-radius: 4px; padding: .45rem 1rem; cursor: pointer; text-decoration: none; display: inline-block; }
        button.secondary { background: #fff; color: var(--brand); border: 1px solid var(--brand); }
        .alert { border-left: 6px solid var(--bad); background: #fdf0f0; padding: .75rem 1rem; margin: 0 0 1rem; }
        .alert.ok { border-color: var(--ok); background: #eef7f0; }
        .alert.info { border-color: var(--link); background: #eef4fa; }
        .alert h2, .alert h3 { border: 0; margin: 0 0 .25rem; font-size: 1.1rem; }
        .alert p { margin: .25rem 0; }
        .panel { background: var(--panel); border-radius: 6px; padding: 1rem 1.25rem; margin: 1rem 0; }
        .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(21rem, 1fr)); gap: 1rem 2rem; }
        figure { margin: 0; }
        figcaption { font-weight: 600; margin-bottom: .25rem; }
        svg.chart { width: 100%; height: auto; max-width: 28rem; }
        svg.chart text { font: 13px system-ui, sans-serif; fill: #1b1b1b; }
        svg.chart rect.bar { fill: #2f6690; }
        .counts { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; padding: 0; list-style: none; }
        .counts strong { font-size: 1.4rem; display: block; }
        fieldset { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin: 0 0 1rem; }
        fieldset.ballot .seat { padding: .5rem 0; border-bottom: 1px solid var(--line); }
        fieldset.ballot .seat:last-child { border-bottom: 0; }
        fieldset.radios { border: 0; padding: 0; margin: 0; }
        fieldset.radios legend { font-weight: 600; padding: 0; margin-bottom: .25rem; }
        .radios label { display: inline-block; font-weight: 400; margin-right: 1.5rem; white-space: nowrap; }
        .seat-title { font-weight: 600; margin-right: 1rem; }
        .vacant { color: var(--muted); font-style: italic; }
        .visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        footer { border-top: 1px solid var(--line); color: var(--muted); font-size: .9rem; padding: 1rem 1.25rem; max-width: 72rem; margin: 0 auto; }
        .live { min-height: 1.5rem; }
        pre { background: var(--panel); padding: .75rem 1rem; overflow-x: auto; border-radius: 6px; }
        """

    /// Progressive enhancement only: every page works without it. On a page that carries
    /// `data-live-after` (the docket), it follows the public event feed (`/v1/events/stream`)
    /// and says in a polite live region when the docket's events (filed, scheduled, decided, ...) arrive, with a link to reload.
    static let script = """
        (function () {
          "use strict";
          var live = document.querySelector("[data-live-after]");
          if (!live || typeof window.EventSource !== "function") { return; }
          var after = live.getAttribute("data-live-after");
          if (!/^[0-9]+$/.test(after)) { return; }
          var seen = 0;
          var source = new EventSource("/v1/events/stream?after=" + after);
          function changed() {
            seen += 1;
            live.textContent = "";
            var text = document.createTextNode(seen + (seen === 1 ? " new event" : " new events") + " recorded since this page loaded. ");
            var link = document.createElement("a");
            link.href = window.location.pathname + window.location.search;
            link.textContent = "Reload the docket";
            live.appendChild(text);
            live.appendChild(link);
          }
          ["TerminationRequestSubmitted", "TerminationRequestWithdrawn", "ReviewScheduled", "BoardVoteRecorded",
           "TerminationApproved", "TerminationDenied", "TerminationNoticeReceived", "AgreementTerminated"]
            .forEach(function (type) { source.addEventListener(type, changed); });
          source.onerror = function () { if (source.readyState === EventSource.CLOSED) { live.textContent = ""; } };
          window.addEventListener("pagehide", function () { source.close(); });
        })();
        """
}
