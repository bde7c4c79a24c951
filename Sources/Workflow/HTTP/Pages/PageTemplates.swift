import Mustache

/// The pages' Mustache templates, embedded in the binary (see docs/architecture.md, "Web
/// pages"): one executable to deploy, no resource bundle to locate at run time, and a
/// template that fails to parse fails the first test that renders any page.
///
/// Every `{{name}}` is HTML-escaped by swift-mustache (`< > & " '`). The only unescaped
/// output, `{{{content}}}` in the layout, is a page this library rendered itself.
enum PageTemplates {
    /// The library of every page and partial, parsed once.
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in sources {
            do {
                try library.register(text, named: name)
            } catch {
                // A template is a constant of this build: a parse error is a programming error
                // caught by the browser tests (every page renders there); render it visibly.
                try? library.register("<p>template \(name) failed to parse</p>", named: name)
            }
        }
        return library
    }()

    /// Templates that fail to parse, with the parser's error (empty for a good build).
    static func parseErrors() -> [String] {
        sources.sorted { $0.key < $1.key }.compactMap { name, text in
            do {
                _ = try MustacheTemplate(string: text)
                return nil
            } catch {
                return "\(name): \(error)"
            }
        }
    }

    static let sources: [String: String] = [
        "layout": layout, "field": field, "chart": chart, "events": events,
        "register": register, "agreement": agreement, "request": request, "docket": docket,
        "board": board, "verify": verify, "login": login, "clerk": clerk, "message": message,
    ]

    static let layout = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Florida 287(g) record</title>
        <link rel="icon" href="{{assets.icon}}" type="image/svg+xml">
        <link rel="stylesheet" href="{{assets.css}}">
        <script src="{{assets.js}}" defer></script>
        </head>
        <body>
        <a class="skip" href="#main">Skip to main content</a>
        <header class="site">
        <p class="brand"><a href="/">Florida 287(g) record</a></p>
        <nav aria-label="Main">
        <ul>
        <li><a href="/"{{#nav.register}} aria-current="page"{{/nav.register}}>Register</a></li>
        <li><a href="/docket"{{#nav.docket}} aria-current="page"{{/nav.docket}}>Docket</a></li>
        <li><a href="/board"{{#nav.board}} aria-current="page"{{/nav.board}}>Board seats</a></li>
        <li><a href="/verify"{{#nav.verify}} aria-current="page"{{/nav.verify}}>Verify this record</a></li>
        {{#viewer.isClerk}}<li><a href="/clerk"{{#nav.clerk}} aria-current="page"{{/nav.clerk}}>My agency's requests</a></li>{{/viewer.isClerk}}
        </ul>
        </nav>
        <div class="who">
        {{#viewer}}Signed in as <strong>{{login}}</strong> ({{roleLabel}})
        <form method="post" action="/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Sign out</button></form>{{/viewer}}
        {{^viewer}}<a href="/login"{{#nav.login}} aria-current="page"{{/nav.login}}>Sign in</a>{{/viewer}}
        </div>
        </header>
        <main id="main" tabindex="-1">
        {{#flash}}<div class="alert {{kind}}" role="status"><p>{{message}}</p></div>{{/flash}}
        {{{content}}}
        </main>
        <footer>
        <p>An event-sourced record of Florida's 287(g) agreements and termination requests. Every page is built from an append-only, hash-chained event log in PostgreSQL. Illustrative requests and votes in the demo did not happen.</p>
        </footer>
        </body>
        </html>

        """

    /// One labelled form control with its hint and its error beside it.
    static let field = """
        <div class="field{{#hasError}} has-error{{/hasError}}">
        <label for="{{id}}">{{label}}</label>
        {{#hasHint}}<p class="hint" id="{{id}}-hint">{{hint}}</p>{{/hasHint}}
        {{#hasError}}<p class="error" id="{{id}}-error"><span class="visually-hidden">Error: </span>{{error}}</p>{{/hasError}}
        {{#isText}}<input type="text" id="{{id}}" name="{{name}}" value="{{value}}"{{#hasDescription}} aria-describedby="{{describedBy}}"{{/hasDescription}}{{#hasError}} aria-invalid="true"{{/hasError}} autocomplete="{{autocomplete}}">{{/isText}}
        {{#isPassword}}<input type="password" id="{{id}}" name="{{name}}" value=""{{#hasDescription}} aria-describedby="{{describedBy}}"{{/hasDescription}}{{#hasError}} aria-invalid="true"{{/hasError}} autocomplete="current-password">{{/isPassword}}
        {{#isTextarea}}<textarea id="{{id}}" name="{{name}}" rows="3"{{#hasDescription}} aria-describedby="{{describedBy}}"{{/hasDescription}}{{#hasError}} aria-invalid="true"{{/hasError}}>{{value}}</textarea>{{/isTextarea}}
        {{#isSelect}}<select id="{{id}}" name="{{name}}"{{#hasDescription}} aria-describedby="{{describedBy}}"{{/hasDescription}}{{#hasError}} aria-invalid="true"{{/hasError}}>
        {{#options}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>
        {{/options}}</select>{{/isSelect}}
        </div>

        """

    /// A horizontal bar chart, drawn on the server (numbers in its description for screen readers).
    static let chart = """
        <figure>
        <figcaption id="{{id}}-title">{{title}}</figcaption>
        <svg class="chart" role="img" aria-labelledby="{{id}}-title {{id}}-desc" viewBox="0 0 {{width}} {{height}}" xmlns="http://www.w3.org/2000/svg">
        <desc id="{{id}}-desc">{{description}}</desc>
        {{#bars}}<text x="0" y="{{textY}}">{{label}}</text>
        <rect class="bar" x="{{barX}}" y="{{y}}" width="{{barWidth}}" height="{{barHeight}}"></rect>
        <text x="{{valueX}}" y="{{textY}}">{{value}}</text>
        {{/bars}}
        </svg>
        </figure>

        """

    /// A history table: one row per event, with its positions, legal date and hash chain entry.
    static let events = """
        <table class="history">
        <caption>{{historyCaption}}</caption>
        <thead><tr><th scope="col" class="num">Position</th><th scope="col">Stream, version</th><th scope="col">Legal date</th><th scope="col">What happened</th><th scope="col">Recorded by</th><th scope="col">Hash chain entry</th></tr></thead>
        <tbody>
        {{#history}}<tr id="event-{{position}}">
        <td class="num"><a href="/v1/events?after={{previous}}&amp;limit=1">{{position}}</a></td>
        <td><code>{{stream}}</code>, v{{version}}</td>
        <td class="date">{{legalDate}}</td>
        <td><strong>{{type}}</strong><br>{{summary}}</td>
        <td>{{actor}}<br><span class="hint">{{recordedAt}}</span></td>
        <td><details><summary><span class="hash">{{hashShort}}…</span></summary><p class="hash">hash {{hash}}</p><p class="hash hint">after {{prevHash}}</p></details></td>
        </tr>
        {{/history}}
        </tbody>
        </table>

        """

    static let register = """
        <h1>Florida's 287(g) agreements</h1>
        <p class="lede">Every agreement between a Florida agency and ICE in this record, with its state after every request and decision the record holds. {{total}} agreements; ICE's latest edition in the record: {{latestEdition}}.</p>
        <h2 class="visually-hidden">Agreements by state</h2>
        <ul class="counts">
        {{#stateCounts}}<li><strong>{{count}}</strong>{{label}}</li>
        {{/stateCounts}}</ul>
        <h2>In numbers</h2>
        <div class="charts">
        {{#charts}}{{> chart}}{{/charts}}
        </div>
        <h2>Agreements</h2>
        <form class="filters" method="get" action="/" aria-label="Filter the register">
        {{#filters}}{{> field}}{{/filters}}
        <div class="field"><button type="submit">Filter</button> <a href="/">Clear filters</a></div>
        </form>
        <p id="shown">{{shown}} of {{total}} agreements shown{{#filterSummary}} ({{.}}){{/filterSummary}}.</p>
        {{#hasRows}}
        <table>
        <caption class="visually-hidden">Agreements matching the filters</caption>
        <thead><tr><th scope="col">Agency</th><th scope="col">County</th><th scope="col">Model</th><th scope="col">Signed</th><th scope="col">State</th><th scope="col">ICE edition</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td><a href="{{href}}">{{agencyName}}</a></td><td>{{county}}</td><td>{{modelName}}</td><td class="date">{{signedOn}}</td><td><span class="badge state-{{state}}">{{stateLabel}}</span>{{#endedOn}} <span class="hint">{{endWord}} {{.}}</span>{{/endedOn}}</td><td class="date">{{edition}}{{#notListed}}<span class="notlisted">not listed in ICE's latest edition ({{latestEdition}})</span>{{/notListed}}</td></tr>
        {{/rows}}</tbody>
        </table>
        {{/hasRows}}
        {{^hasRows}}<p>No agreement matches these filters.</p>{{/hasRows}}

        """

    static let agreement = """
        <nav aria-label="Breadcrumb"><p><a href="/">Register</a> › {{agencyName}}</p></nav>
        <h1>{{agencyName}}: {{modelName}} agreement</h1>
        <dl class="facts">
        <dt>Agreement</dt><dd><code>{{id}}</code></dd>
        <dt>State</dt><dd><span class="badge state-{{state}}">{{stateLabel}}</span></dd>
        <dt>Agency</dt><dd>{{agencyName}} ({{agencyType}}{{#county}}, {{.}} County{{/county}})</dd>
        <dt>Model</dt><dd>{{modelName}}</dd>
        <dt>Signed</dt><dd>{{signedOn}}</dd>
        {{#endedOn}}<dt>Ends / ended</dt><dd>{{.}}</dd>{{/endedOn}}
        <dt>Must keep an agreement</dt><dd>{{mustKeep}}</dd>
        <dt>ICE edition</dt><dd>{{edition}}{{#notListed}} <span class="notlisted">not listed in ICE's latest edition ({{latestEdition}})</span>{{/notListed}}</dd>
        {{#moaURL}}<dt>MOA</dt><dd><a href="{{.}}" rel="noopener noreferrer">the signed MOA on ICE's site</a></dd>{{/moaURL}}
        {{#openRequestHref}}<dt>Open request</dt><dd><a href="{{.}}">the termination request under way</a></dd>{{/openRequestHref}}
        </dl>
        {{#hasRequests}}
        <h2>Termination requests</h2>
        <table>
        <caption class="visually-hidden">Termination requests for this agreement</caption>
        <thead><tr><th scope="col">Filed</th><th scope="col">State</th><th scope="col">Decided</th><th scope="col">Ends</th></tr></thead>
        <tbody>
        {{#requests}}<tr><td><a href="{{href}}">{{filedOn}}</a></td><td><span class="badge state-{{state}}">{{stateLabel}}</span></td><td>{{decidedOn}}</td><td>{{effectiveOn}}</td></tr>
        {{/requests}}</tbody>
        </table>
        {{/hasRequests}}
        <h2>History, event by event</h2>
        <p class="lede">Each event with its global position in the log, its stream and version, the legal date it carries, and its entry in the hash chain: its SHA-256 and the hash of the event before it. <a href="/verify">How to verify the chain</a>.</p>
        {{> events}}

        """

    static let request = """
        <nav aria-label="Breadcrumb"><p><a href="/">Register</a> › <a href="{{agreementHref}}">{{agencyName}}, {{modelName}}</a> › request</p></nav>
        <h1>Termination request: {{agencyName}}, {{modelName}}</h1>
        <dl class="facts">
        <dt>State</dt><dd><span class="badge state-{{state}}" id="request-state">{{stateLabel}}</span></dd>
        <dt>Request</dt><dd><code>{{id}}</code></dd>
        <dt>Agreement</dt><dd><a href="{{agreementHref}}"><code>{{agreementID}}</code></a></dd>
        <dt>Filed</dt><dd>{{filedOn}}</dd>
        <dt>Reason</dt><dd>{{reason}}</dd>
        <dt>Local authorization</dt><dd>{{localAuthorization}}</dd>
        <dt>Board meeting</dt><dd>{{meetingOn}}{{^meetingOn}}not scheduled{{/meetingOn}}</dd>
        <dt>Decided</dt><dd>{{decidedOn}}{{^decidedOn}}not yet{{/decidedOn}}</dd>
        <dt>Notice received by ICE</dt><dd>{{noticeReceivedOn}}{{^noticeReceivedOn}}not yet{{/noticeReceivedOn}}</dd>
        <dt>Agreement ends</dt><dd>{{effectiveOn}}{{^effectiveOn}}not set{{/effectiveOn}}</dd>
        </dl>
        <h2>The Board's vote</h2>
        {{#hasVotes}}
        <table id="votes">
        <caption>Votes at the {{meetingOn}} meeting, seat by seat</caption>
        <thead><tr><th scope="col">Seat</th><th scope="col">Member</th><th scope="col">Vote</th></tr></thead>
        <tbody>
        {{#votes}}<tr><td>{{seat}}</td><td>{{member}}</td><td>{{vote}}</td></tr>
        {{/votes}}</tbody>
        </table>
        <p class="hint">Approval needs a yes from every sitting member (s. 908.1031, F.S.: "All board action shall be by unanimous vote").</p>
        {{/hasVotes}}
        {{^hasVotes}}<p>No vote has been recorded.</p>{{/hasVotes}}
        <h2>Decisions, rules and sources</h2>
        <table id="decisions">
        <caption class="visually-hidden">Each decision with the rule and its legal source</caption>
        <thead><tr><th scope="col">Date</th><th scope="col">Decision</th><th scope="col">Rule</th><th scope="col">Source</th></tr></thead>
        <tbody>
        {{#decisions}}<tr><td class="date">{{date}}</td><td>{{decision}}</td><td>{{rule}}</td><td>{{source}}</td></tr>
        {{/decisions}}</tbody>
        </table>
        {{#actions}}
        {{#alert}}<div class="alert" role="alert" id="form-alert"><h2>{{heading}}</h2><p>{{message}}</p>{{#source}}<p>Rule and source: {{.}}</p>{{/source}}</div>{{/alert}}
        {{#forms}}
        <h2 id="{{id}}-heading">{{heading}}</h2>
        {{#note}}<p class="hint">{{.}}</p>{{/note}}
        <form method="post" action="{{action}}" aria-labelledby="{{id}}-heading" novalidate>
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="form_id" value="{{formID}}">
        {{#fields}}{{> field}}{{/fields}}
        {{#ballot}}<fieldset class="ballot"><legend>Votes at the {{meeting}} meeting (members sitting that day, from the seat record)</legend>
        {{#seats}}<div class="seat">{{#vacant}}<span class="seat-title">{{title}}</span><span class="vacant">vacant on {{meeting}}: no vote</span>{{/vacant}}{{^vacant}}<fieldset class="radios"><legend>{{title}}: {{member}}{{#hasError}} <span class="error">{{error}}</span>{{/hasError}}</legend>
        {{#choices}}<label><input type="radio" name="vote_{{seat}}" value="{{value}}"{{#checked}} checked{{/checked}}> {{label}}</label>
        {{/choices}}</fieldset>{{/vacant}}</div>
        {{/seats}}</fieldset>{{/ballot}}
        <button type="submit">{{button}}</button>
        </form>
        {{/forms}}
        {{/actions}}
        <h2>History, event by event</h2>
        {{> events}}

        """

    static let docket = """
        <h1>The Board's docket</h1>
        <p class="lede">Open termination requests in review order: scheduled meetings first, then by filing date. The State Board of Immigration Enforcement must approve a termination (s. 908.11(1), F.S.), by unanimous vote (s. 908.1031, F.S.).</p>
        <div class="live" aria-live="polite" data-live-after="{{head}}"></div>
        {{#hasRows}}
        <table id="docket">
        <caption class="visually-hidden">Open requests</caption>
        <thead><tr><th scope="col">Agency</th><th scope="col">Model</th><th scope="col">Filed</th><th scope="col">State</th><th scope="col">Meeting</th><th scope="col">Request</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td>{{agencyName}}</td><td>{{modelName}}</td><td>{{filedOn}}</td><td><span class="badge state-{{state}}">{{stateLabel}}</span></td><td>{{meetingOn}}{{^meetingOn}}not scheduled{{/meetingOn}}</td><td><a href="{{href}}">{{linkText}}</a></td></tr>
        {{/rows}}</tbody>
        </table>
        {{/hasRows}}
        {{^hasRows}}<p>No request is open.</p>{{/hasRows}}

        """

    static let board = """
        <h1>The Board's seats over time</h1>
        <p class="lede">The State Board of Immigration Enforcement: the Governor and the three Cabinet members (s. 908.1031, F.S.). Each seat's members with the dates they took or left it, and the sources for each entry.</p>
        <h2>Sitting on {{today}}</h2>
        <table id="sitting">
        <caption class="visually-hidden">Members sitting today</caption>
        <thead><tr><th scope="col">Seat</th><th scope="col">Member</th></tr></thead>
        <tbody>
        {{#sitting}}<tr><td>{{title}}</td><td>{{member}}{{^member}}<span class="vacant">vacant</span>{{/member}}</td></tr>
        {{/sitting}}</tbody>
        </table>
        {{#seats}}
        <h2>{{title}}</h2>
        <table>
        <caption class="visually-hidden">{{title}}: entries by effective date</caption>
        <thead><tr><th scope="col">From</th><th scope="col">Member</th><th scope="col">Note</th><th scope="col">Sources</th></tr></thead>
        <tbody>
        {{#entries}}<tr><td><span class="date">{{effectiveOn}}</span>{{#uncertain}}<br><span class="hint">date uncertain</span>{{/uncertain}}</td><td>{{member}}{{^member}}<span class="vacant">vacant</span>{{/member}}</td><td>{{note}}</td><td>{{#sources}}<a href="{{href}}" rel="noopener noreferrer">{{text}}</a><br>{{/sources}}{{#plainSources}}{{.}} {{/plainSources}}</td></tr>
        {{/entries}}</tbody>
        </table>
        {{^entries}}<p>No entry: the seat counts as vacant.</p>{{/entries}}
        {{/seats}}
        {{#form}}
        <h2 id="seat-change-heading">Record a seat change</h2>
        {{#alert}}<div class="alert" role="alert" id="form-alert"><h3>{{heading}}</h3><p>{{message}}</p></div>{{/alert}}
        <form method="post" action="/board/seats" aria-labelledby="seat-change-heading" novalidate>
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="form_id" value="{{formID}}">
        {{#fields}}{{> field}}{{/fields}}
        <button type="submit">Record the seat change</button>
        </form>
        {{/form}}

        """

    static let verify = """
        <h1>Verify this record</h1>
        <p class="lede">Every fact on these pages comes from one append-only event log. Each event stores the SHA-256 of its content chained to the hash of the event before it, so changing or removing any past event breaks every hash after it.</p>
        <dl class="facts">
        <dt>Events in the log</dt><dd id="event-count">{{count}}</dd>
        <dt>Chain head (global position)</dt><dd>{{headPosition}}</dd>
        <dt>Head hash</dt><dd><code id="head-hash">{{headHash}}</code></dd>
        <dt>Head recorded at</dt><dd>{{headRecordedAt}}</dd>
        <dt>Positions dense</dt><dd>{{dense}}</dd>
        <dt>Links checked here</dt><dd>{{linkCheck}}</dd>
        </dl>
        <h2>Verify an export offline</h2>
        <ol>
        <li>Get the log: an auditor exports it with <code>sbie export events --format jsonl &gt; events.jsonl</code>, or over HTTP with an auditor's token from <code>/v1/exports/events?format=jsonl</code>. Anyone can page through the public log (hashes included, login names withheld) at <a href="/v1/events?after=0&amp;limit=100">/v1/events</a>.</li>
        <li>Check the chain with this project's tools: <code>sbie verify --file events.jsonl</code>, or the standalone <code>python3 scripts/verify-export.py events.jsonl</code> (Python's standard library only).</li>
        <li>Compare the head above with the last line of the export: the same position and hash mean the export is this record.</li>
        </ol>
        <p>Inside the database an auditor runs <code>sbie verify</code>, which re-computes every hash from the stored events.</p>

        """

    static let login = """
        <h1>Sign in</h1>
        <p class="lede">Agency clerks and Board staff sign in with their database login. PostgreSQL itself checks the password; this server keeps no password.</p>
        {{#alert}}<div class="alert" role="alert" id="form-alert"><h2>{{heading}}</h2><p>{{message}}</p></div>{{/alert}}
        <form method="post" action="/login" novalidate>
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#fields}}{{> field}}{{/fields}}
        <button type="submit">Sign in</button>
        </form>

        """

    static let clerk = """
        <h1>{{agencyName}}: termination requests</h1>
        <p class="lede">Signed in as a records clerk of {{agencyName}}. You see and act for this agency only: PostgreSQL's row-level security decides, not these pages.</p>
        {{#hasRequests}}
        <table id="agency-requests">
        <caption>Requests and their outcomes</caption>
        <thead><tr><th scope="col">Filed</th><th scope="col">Agreement</th><th scope="col">State</th><th scope="col">Decided</th><th scope="col">Ends</th></tr></thead>
        <tbody>
        {{#requests}}<tr><td><a href="{{href}}">{{filedOn}}</a></td><td>{{modelName}}</td><td><span class="badge state-{{state}}">{{stateLabel}}</span></td><td>{{decidedOn}}</td><td>{{effectiveOn}}</td></tr>
        {{/requests}}</tbody>
        </table>
        {{/hasRequests}}
        {{^hasRequests}}<p>This agency has filed no request.</p>{{/hasRequests}}
        <h2 id="file-heading">File a termination request</h2>
        {{#alert}}<div class="alert" role="alert" id="form-alert"><h3>{{heading}}</h3><p>{{message}}</p>{{#source}}<p>Rule and source: {{.}}</p>{{/source}}</div>{{/alert}}
        {{#canFile}}
        <form method="post" action="/clerk/requests" aria-labelledby="file-heading" novalidate>
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="request_id" value="{{requestID}}">
        {{#fields}}{{> field}}{{/fields}}
        <button type="submit">File the request</button>
        </form>
        {{/canFile}}
        {{^canFile}}<p>This agency holds no active agreement to end.</p>{{/canFile}}

        """

    static let message = """
        <h1>{{heading}}</h1>
        {{#paragraphs}}<p>{{.}}</p>
        {{/paragraphs}}
        {{#link}}<p><a href="{{href}}">{{text}}</a></p>{{/link}}

        """
}
