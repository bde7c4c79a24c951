import json
problem = {"description": "Problem (RFC 9457)", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
def ok(schema, desc="OK"):
    return {"description": desc, "content": {"application/json": {"schema": schema}}}
def ref(n): return {"$ref": "#/components/schemas/" + n}
def errs(*codes):
    return {str(c): {"$ref": "#/components/responses/Problem"} for c in codes}
asof = {"name": "as_of", "in": "query", "required": False, "description": "A global position (digits), a Florida date YYYY-MM-DD (its end), or an ISO 8601 instant. Folds the log: anonymous callers fold the public log (public_events, the same events the public pages show); a login needs log access (board staff, registrar, auditor), so a clerk's token gets 403.", "schema": {"type": "string"}}
auth_note = "Credentials: `Authorization: Bearer <token>` or the `sbie_session` cookie; without them the caller is the public role `web_anon`."
# Every CommandType, in its declaration order (a unit test checks equality with CommandType.allCases).
command_types = ["register_agreement", "rename_agency", "correct_signed_date", "submit_termination_request", "withdraw_termination_request", "record_termination_notice", "schedule_review", "record_board_vote", "fill_board_seat", "vacate_board_seat", "record_local_government_vote", "end_agreement", "record_edition", "change_agreement_holder", "record_resigned_agreement", "mark_duplicate_agreement", "adopt_policy_entry"]
nullable_str = {"type": ["string", "null"]}
doc = {
 "openapi": "3.1.0",
 "info": {"title": "sbie: the State Board of Immigration Enforcement record", "version": "1",
   "description": "Event-sourced record of 287(g) termination requests. Identity is enforced by PostgreSQL: each request runs as the caller's own database login (see docs/security.md). " + auth_note + " Request bodies are limited to 81,920 bytes; command payloads to 65,536 bytes. Errors are application/problem+json (RFC 9457) with a stable `code` and, when one is at fault, `field`."},
 "servers": [{"url": "http://127.0.0.1:8080"}],
 "components": {
  "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, "session": {"type": "apiKey", "in": "cookie", "name": "sbie_session"}},
  "responses": {"Problem": problem},
  "schemas": {
   "Problem": {"type": "object", "required": ["type", "title", "status", "detail", "code"], "properties": {
      "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
      "code": {"type": "string"}, "field": {"type": "string"}, "command_id": {"type": "string"}}},
   "Command": {"type": "object", "required": ["command_id", "command_type", "status", "submitted_by", "idempotency_key", "submitted_at", "available_at", "attempts", "event_positions", "url"], "properties": {
      "command_id": {"type": "string", "format": "uuid"}, "command_type": {"type": "string"},
      "status": {"type": "string", "enum": ["pending", "accepted", "rejected", "failed"]},
      "submitted_by": {"type": "string"}, "idempotency_key": {"type": "string"}, "agency_id": nullable_str,
      "submitted_at": {"type": "string"}, "available_at": {"type": "string"}, "attempts": {"type": "integer"},
      "outcome": {}, "error_code": nullable_str, "error_message": nullable_str, "processed_at": nullable_str,
      "event_positions": {"type": "array", "items": {"type": "integer"}}, "url": {"type": "string"}}},
   "Agreement": {"type": "object", "required": ["agreement_id", "agency_id", "agency_name", "agency_type", "model", "signed_on", "state", "must_keep"], "properties": {
      "agreement_id": {"type": "string"}, "agency_id": {"type": "string"}, "agency_name": {"type": "string"}, "agency_type": {"type": "string"},
      "county": nullable_str, "model": {"type": "string", "enum": ["TFM", "WSO", "JEM"]}, "signed_on": {"type": "string"}, "state": {"type": "string"},
      "must_keep": {"type": "boolean"}, "open_request_id": nullable_str, "ended_on": nullable_str, "moa_url": nullable_str, "source_edition": nullable_str}},
   "TerminationRequest": {"type": "object", "required": ["request_id", "agreement_id", "agency_id", "state", "filed_on", "reason", "local_authorization", "votes"], "properties": {
      "request_id": {"type": "string"}, "agreement_id": {"type": "string"}, "agency_id": {"type": "string"}, "state": {"type": "string"},
      "filed_on": {"type": "string"}, "reason": {"type": "string"}, "local_authorization": {"type": "string"}, "meeting_on": nullable_str,
      "decided_on": nullable_str, "votes": {"type": "array", "items": {"type": "object"}}, "notice_received_on": nullable_str, "effective_on": nullable_str}},
   "DocketRow": {"type": "object", "required": ["request_id", "agreement_id", "agency_id", "agency_name", "model", "state", "filed_on"], "properties": {
      "request_id": {"type": "string"}, "agreement_id": {"type": "string"}, "agency_id": {"type": "string"}, "agency_name": {"type": "string"},
      "model": {"type": "string"}, "state": {"type": "string"}, "filed_on": {"type": "string"}, "meeting_on": nullable_str}},
   "Event": {"type": "object", "required": ["global_position", "stream_id", "stream_version", "event_id", "event_type", "data", "metadata", "occurred_at", "recorded_at", "prev_hash", "hash"], "properties": {
      "global_position": {"type": "integer"}, "stream_id": {"type": "string"}, "stream_version": {"type": "integer"}, "event_id": {"type": "string"},
      "event_type": {"type": "string"}, "data": {"type": "object"}, "metadata": {"type": "object", "description": "For callers without log access, `actor` is {role, agency_id}, never a login name."},
      "occurred_at": {"type": "string"}, "recorded_at": {"type": "string"}, "prev_hash": {"type": "string"}, "hash": {"type": "string"}}},
   "HistoryEntry": {"type": "object", "required": ["global_position", "stream_id", "event_type", "summary"], "properties": {
      "global_position": {"type": "integer"}, "stream_id": {"type": "string"}, "stream_version": {"type": "integer"}, "event_type": {"type": "string"},
      "occurred_at": {"type": "string"}, "recorded_at": {"type": "string"}, "actor": nullable_str, "command_id": nullable_str, "command_type": nullable_str,
      "summary": {"type": "string"}, "data": {}}},
   "Principal": {"type": "object", "required": ["role"], "properties": {"login": {"type": "string"}, "agency_id": {"type": "string"}, "role": {"type": "string"}}},
  }},
 "security": [{}, {"bearer": []}, {"session": []}],
 "paths": {}
}
P = doc["paths"]
idpath = lambda name, desc, fmt=None: {"name": name, "in": "path", "required": True, "description": desc, "schema": ({"type": "string", "format": fmt} if fmt else {"type": "string"})}
P["/health/live"] = {"get": {"operationId": "live", "summary": "The process is up.", "security": [{}], "responses": {"200": ok({"type": "object"})}}}
P["/health/ready"] = {"get": {"operationId": "ready", "summary": "Ready: database reachable, migrations current, and a daemon deciding: with serve --with-daemon, the in-process daemon's own status is ready; otherwise a daemon waits on the queue or decided a command within --ready-max-queue-age (daemon_liveness()); and no due command has waited longer than --ready-max-queue-age.", "security": [{}],
   "responses": {"200": ok(ref("Readiness")), "503": ok(ref("Readiness"), "Not ready")}}}
doc["components"]["schemas"]["Readiness"] = {"type": "object", "required": ["ready", "database", "migrations", "daemon"], "properties": {"ready": {"type": "boolean"}, "database": {"type": "string"}, "migrations": {"type": "string"}, "daemon": {"type": "string"}}}
P["/metrics"] = {"get": {"operationId": "metrics", "summary": "Prometheus text: queue depth by status, commands by outcome and code, events appended, projection lag, SSE subscribers, HTTP requests.", "security": [{}],
   "responses": {"200": {"description": "Prometheus exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}}
P["/v1/openapi.json"] = {"get": {"operationId": "openapi", "summary": "This document.", "security": [{}], "responses": {"200": ok({"type": "object"})}}}
P["/v1/ping"] = {"get": {"operationId": "ping", "summary": "A trivial endpoint (benchmark baseline).", "security": [{}], "responses": {"200": ok({"type": "object"})}}}
P["/v1/session"] = {
  "post": {"operationId": "createSession", "summary": "A web session: PostgreSQL checks the password (a libpq connection as that login). 401 invalid_credentials or password_not_checked; 403 session_not_allowed for a login that may not hold a session (only web-enabled clerks, Board staff, registrars and auditors may: never the authenticator, the daemon, the owner or a superuser).", "security": [{}],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": False, "required": ["login", "password"], "properties": {"login": {"type": "string", "minLength": 1, "maxLength": 63}, "password": {"type": "string", "minLength": 1, "maxLength": 1000}}}}}},
    "responses": {"201": ok({"type": "object", "required": ["token", "login", "expires_at"], "properties": {"token": {"type": "string"}, "login": {"type": "string"}, "expires_at": {"type": "string"}}}, "Session opened; also set as the sbie_session cookie"), **errs(400, 401, 403, 413, 415)}},
  "delete": {"operationId": "deleteSession", "summary": "Revoke the token or session presented.", "responses": {"204": {"description": "Revoked"}, **errs(401)}}}
P["/v1/me"] = {"get": {"operationId": "me", "summary": "Who the database says the caller is.", "responses": {"200": ok(ref("Principal")), **errs(401)}}}
P["/v1/actions/{command_type}"] = {"post": {"operationId": "submitCommand",
   "summary": "Submit a command (the body is its payload, as `sbie` sends it). 202 with Location while queued; with `Prefer: wait=N` (0-60 s) the outcome: 200 accepted (or failed), 422 rejected by a rule (code and legal source). A schedule_review without scheduled_on is scheduled on Florida's date today (the meeting date if that is earlier), as `sbie schedule` does; the response's `Sbie-Defaulted` header says so (`scheduled_on=YYYY-MM-DD`).",
   "parameters": [{"name": "command_type", "in": "path", "required": True, "schema": {"type": "string", "enum": command_types}},
                  {"name": "Idempotency-Key", "in": "header", "required": False, "description": "1-200 characters; the same key (per login) with the same payload returns the first command; with another command type or payload, 409 idempotency_key_reused naming the first command (command_id), and nothing is queued.", "schema": {"type": "string", "minLength": 1, "maxLength": 200}},
                  {"name": "Prefer", "in": "header", "required": False, "description": "wait=N, 0-60 seconds", "schema": {"type": "string"}}],
   "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
   "responses": {"200": ok(ref("Command"), "Decided (accepted or failed)"), "202": ok(ref("Command"), "Queued"), **errs(400, 401, 403, 404, 409, 413, 415, 422)}}}
P["/v1/commands"] = {"get": {"operationId": "listCommands", "summary": "The caller's visible commands, newest last.",
   "parameters": [{"name": "status", "in": "query", "schema": {"type": "string", "enum": ["pending", "accepted", "rejected", "failed"]}},
                  {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
   "responses": {"200": ok({"type": "object", "required": ["commands"], "properties": {"commands": {"type": "array", "items": ref("Command")}}}), **errs(400, 401, 403)}}}
P["/v1/commands/{id}"] = {"get": {"operationId": "getCommand", "summary": "A command: status, attempts, outcome or rejection.",
   "parameters": [idpath("id", "The command's id", "uuid")], "responses": {"200": ok(ref("Command")), **errs(400, 401, 404)}}}
P["/v1/register"] = {"get": {"operationId": "register", "summary": "Every agreement, filtered.",
   "parameters": [{"name": "agency", "in": "query", "description": "An agency name or id", "schema": {"type": "string"}},
                  {"name": "county", "in": "query", "schema": {"type": "string"}},
                  {"name": "model", "in": "query", "description": "TFM, WSO, JEM (or ICE's names)", "schema": {"type": "string"}},
                  {"name": "state", "in": "query", "schema": {"type": "string"}},
                  {"name": "not_listed", "in": "query", "description": "true: agreements whose latest edition is older than the register's newest edition (an interpretation of 'not listed in ICE's latest edition').", "schema": {"type": "string", "enum": ["true", "false"]}}, asof],
   "responses": {"200": ok({"type": "object", "required": ["agreements"], "properties": {"as_of": nullable_str, "position": {"type": ["integer", "null"]}, "agreements": {"type": "array", "items": ref("Agreement")}}}), **errs(400, 401, 403)}}}
P["/v1/agreements/{id}"] = {"get": {"operationId": "agreement", "summary": "One agreement.", "parameters": [idpath("id", "agency-slug.model.signed-date"), asof],
   "responses": {"200": ok(ref("Agreement")), **errs(400, 401, 403, 404)}}}
P["/v1/requests"] = {"get": {"operationId": "requests", "summary": "Termination requests by filing date.", "parameters": [{"name": "agency", "in": "query", "schema": {"type": "string"}}, asof],
   "responses": {"200": ok({"type": "object", "required": ["requests"], "properties": {"requests": {"type": "array", "items": ref("TerminationRequest")}}}), **errs(400, 401, 403)}}}
P["/v1/requests/{id}"] = {"get": {"operationId": "request", "summary": "One termination request (404 when not visible to the caller).", "parameters": [idpath("id", "The request's id", "uuid"), asof],
   "responses": {"200": ok(ref("TerminationRequest")), **errs(400, 401, 403, 404)}}}
hist = ok({"type": "object", "required": ["events"], "properties": {"events": {"type": "array", "items": ref("HistoryEntry")}}})
P["/v1/requests/{id}/history"] = {"get": {"operationId": "requestHistory", "summary": "A request's events: anonymous callers read the public log (actor as role and agency, never a login); a login needs log access.", "parameters": [idpath("id", "The request's id", "uuid")], "responses": {"200": hist, **errs(400, 401, 403, 404)}}}
P["/v1/agencies/{agency}/history"] = {"get": {"operationId": "agencyHistory", "summary": "An agency's events: anonymous callers read the public log (actor as role and agency, never a login); a login needs log access.", "parameters": [idpath("agency", "An agency name or id")], "responses": {"200": hist, **errs(400, 401, 403, 404)}}}
P["/v1/docket"] = {"get": {"operationId": "docket", "summary": "The Board's docket in review order.", "responses": {"200": ok({"type": "object", "required": ["docket"], "properties": {"docket": {"type": "array", "items": ref("DocketRow")}}}), **errs(401, 403)}}}
P["/v1/seats"] = {"get": {"operationId": "seats", "summary": "The Board's seats over time (anonymous callers: from the public log; a login needs log access).", "parameters": [asof],
   "responses": {"200": ok({"type": "object", "required": ["seats"], "properties": {"as_of": nullable_str, "seats": {"type": "object"}}}), **errs(400, 401, 403)}}}
P["/v1/verify"] = {"get": {"operationId": "verify", "summary": "Re-read the log and check positions, stream versions and the hash chain. scope `full` (a login with log access): every hash recomputed; scope `links` (anonymous, from the public log, whose metadata differs from what was hashed): each prev_hash against the hash before it, no hash recomputed.",
   "responses": {"200": ok({"type": "object", "required": ["ok", "summary", "scope", "report"], "properties": {"ok": {"type": "boolean"}, "summary": {"type": "string"}, "scope": {"type": "string", "enum": ["full", "links"]}, "report": {"type": "object"}}}), **errs(401, 403)}}}
P["/v1/events"] = {"get": {"operationId": "events", "summary": "The log by global position; `next_after` resumes. Never past the first uncommitted position.",
   "parameters": [{"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 9223372036854775807}},
                  {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
   "responses": {"200": ok({"type": "object", "required": ["events", "next_after"], "properties": {"events": {"type": "array", "items": ref("Event")}, "next_after": {"type": "integer"}}}), **errs(400, 401, 403)}}}
P["/v1/events/stream"] = {"get": {"operationId": "eventStream", "summary": "Server-Sent Events: id = global position, event = event type, data = the event as /v1/events gives it. Catch-up from Last-Event-ID (or after), then live; heartbeat comments when idle.",
   "parameters": [{"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                  {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}}],
   "responses": {"200": {"description": "An endless event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}}, **errs(400, 401, 403)}}}
P["/v1/exports/{source}"] = {"get": {"operationId": "export", "summary": "A whole table or the log, streamed from one snapshot, as CSV (RFC 4180) or JSON lines. CSV cells starting with =, +, -, @, tab or CR get a leading single quote (CSV formula injection, OWASP); JSON lines are unchanged.",
   "parameters": [{"name": "source", "in": "path", "required": True, "schema": {"type": "string", "enum": ["events", "agreement_status", "termination_requests", "board_docket", "agency_timeline"]}},
                  {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["csv", "jsonl"]}}],
   "responses": {"200": {"description": "The export", "content": {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}}, **errs(400, 401, 403, 404)}}}
text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
import sys
out = sys.argv[1]
open(out, "w").write("// Generated by scripts/openapi.py: edit that file and run it, never this one.\n\n/// The API's contract, OpenAPI 3.1, served at `/v1/openapi.json` (checked against the\n/// running server by schemathesis in CI, and by `HTTPTests`).\nenum OpenAPIDocument {\n    static let json = ##\"\"\"\n" + text + "\n\"\"\"##\n}\n")
