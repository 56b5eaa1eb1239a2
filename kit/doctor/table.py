"""What the doctor knows: one rule per known answer, in the order they are tried.

Data, read by `kit.doctor.rules`; facts sections are cited in each rule's `see`.
"""

# Texts several rules share, written `@name` in the table.
SHARED = {
    "client": "Copy the client id and secret again from the app's Settings page in "
    "the developer console into `ATLASSIAN_CLIENT_ID` and `ATLASSIAN_CLIENT_SECRET`, "
    "run `kit.config.load()`, and authorize again for a fresh code.",
    "code": "Authorize again for a fresh code and pass it to `exchange_code` at "
    "once, exactly once, with the authorization URL's `redirect_uri`; never re-run "
    "a cell that exchanged a code.",
    "consent": "Authorize again (with `offline_access`) so that the person consents "
    "once more; then save each rotated refresh token at once, and let one worker "
    "refresh (`TokenStore.fresh` holds a lock).",
    "scopes": "Add $scopes to the `scope` of `build_authorization_url` (and to the "
    "app under Permissions in the developer console), then authorize and consent "
    "again. v2 takes granular scopes only, v1 its classic scope or the granular "
    "alternative; both families can be mixed in one grant.",
    "retry": "$retry Retry only idempotent calls such as GETs, with exponential "
    "backoff and jitter; `kit.api.ApiCaller` does.",
    "once": "A timeout looks safe to retry, but a code works once: a retry is "
    "refused, or (`rfc`) revokes the tokens the first request issued.",
    "again": "Check the network and `ATLASSIAN_AUTH_URL` / `ATLASSIAN_API_URL`, then "
    "try again; a refresh may be retried once within its 10-minute leeway.",
    "lint": "Build the URL with `build_authorization_url` and check it with "
    "`kit.authorize.lint`, then start again.",
}
# One block per rule, first match wins: `sources | statuses | marks | said`, then
# its texts. Sources are exchange steps, `url` or `exception` (TOKEN: exchange
# refresh; API: api resources me; ANSWER: both); `said` holds words separated by /.
TABLE = """
TOKEN | 401 | access_denied
  what: The token endpoint refused the app's client id and secret.
  cause: `ATLASSIAN_CLIENT_SECRET` or `ATLASSIAN_CLIENT_ID` is wrong, belongs to
    another app, or is stale since the secret was rotated.
  fix: @client
  trap: `access_denied` here is no declined consent (that never reaches the token
    endpoint): Atlassian answers a wrong secret `401 access_denied "Unauthorized"`.
  see: facts 2.5
TOKEN | 401 | invalid_client
  what: The token endpoint refused the app's client id and secret.
  cause: The client id is unknown, or the secret is wrong or missing.
  fix: @client
  see: RFC 6749 section 5.2; facts 2.5
TOKEN | 429 | invalid_client
  what: The token endpoint stopped listening to this client for a while.
  cause: Too many requests with a wrong client secret in one minute.
  fix: $retry Fix the secret first. @client
  see: RFC 6749 section 2.3.1
exchange | 400 | invalid_request invalid_grant | code_verifier/code challenge/pkce
  what: The token endpoint refused the PKCE check of this code: $said.
  cause: The authorization URL carried a `code_challenge`, and the exchange sent
    no `code_verifier` or another one; or it sent a verifier for a code that had
    no challenge.
  fix: Pass the `AuthorizationRequest` that began the flow to `exchange_code`
    (`request=`), which sends its own verifier; authorize again for a fresh code.
  see: RFC 7636 sections 4.5, 4.6; RFC 9700 section 4.8.2
exchange | 400 403 | invalid_request invalid_grant | code is invalid/authorization code
  what: The token endpoint refused the authorization code.
  cause: It expired, was used already (a re-run cell), is not the callback's, or
    was issued for another `redirect_uri` or client. Codes work once and die
    within minutes.
  fix: @code
  trap: This is Atlassian's answer for a bad code (before 2022: `403
    invalid_grant`), though RFC 6749 says `400 invalid_grant`. Atlassian publishes
    no code lifetime; 10 minutes is the RFC's upper bound.
  see: facts 2.4, 2.5; RFC 6749 section 4.1.2
exchange | 400 | invalid_grant
  what: The token endpoint refused the authorization code.
  cause: It expired, was used already, is unknown, or was bound to another client,
    `redirect_uri` or PKCE verifier; the description says which.
  fix: @code
  see: RFC 6749 sections 4.1.2, 5.2; facts 2.4
TOKEN | 400 405 | invalid_request
  what: The token endpoint could not read the request: $said.
  cause: A parameter is missing, repeated or malformed, or the body or method is
    not what the endpoint takes.
  fix: Use `exchange_code` or `refresh_access_token`, which send what Atlassian
    documents (facts 2.1).
  see: facts 2.1; RFC 6749 section 5.2
refresh | 403 | invalid_grant
  what: The token endpoint refused the refresh token for good.
  cause: It was reused after the 10-minute leeway, which revokes its whole family;
    or it sat unused 90 days, passed 365 days since consent, or the person revoked
    the app or changed their password.
  fix: @consent
  trap: "Unknown or invalid" reads like a typo; most often an old refresh token
    was used again: two workers refreshing from one stored token, or a rotated
    refresh token that was not saved.
  see: facts 2.5, 3
refresh | 403 | unauthorized_client
  what: The token endpoint does not know this refresh token.
  cause: It was never issued, or was rotated out: each refresh returns a new
    refresh token and retires the one sent.
  fix: Refresh with the newest refresh token you saved. If none works: @consent
  trap: `unauthorized_client` sounds like wrong app credentials; here the refresh
    token is unknown.
  see: facts 2.5, 3
refresh | 400 | invalid_grant
  what: The token endpoint refused the refresh token.
  cause: It expired unused, passed its absolute lifetime, was revoked, or was used
    before (the `rfc` profile allows no reuse leeway and revokes the family);
    the description says which.
  fix: @consent
  see: RFC 6749 section 6; RFC 9700 section 4.14.2; facts 3
TOKEN | 5xx |
  what: The authorization server failed ($status $error).
  cause: A problem on the server's side, often brief, not in your request.
  fix: Wait a minute, then refresh again (safe within the 10-minute leeway); a
    code may expire meanwhile: then authorize again.
  see: facts 2.5 (`temporarily_unavailable`)
API | 401 | site-domain
  what: The token went to the site's own domain, which refuses 3LO tokens.
  cause: They work only through the gateway,
    `https://api.atlassian.com/ex/confluence/{cloudid}/...`.
  fix: Call `https://api.atlassian.com/ex/confluence/{cloudid}/wiki/...`, with the
    `id` that `accessible-resources` lists as `cloudid`.
  trap: The 401 suggests a bad token, but any token gets it there, often as an
    HTML (Tomcat) page rather than JSON.
  see: facts 2.3, 4.2
API exception | | scope-check insufficient_scope ScopeError
  what: The token lacks the scope this call needs.
  cause: $operation needs $scopes, which the grant does not hold; scopes are
    fixed when the person consents.
  fix: @scopes
  trap: It looks like an expired token, but it is a scope problem: a refreshed
    token has the same scopes and gets the same answer (case 114).
  see: facts 5.2, 5.3, 5.4; RFC 6750 section 3.1
API | 401 | bare-challenge
  what: The call carried no bearer token.
  cause: No `Authorization: Bearer` header, another scheme, or the token only in
    the query, which never counts.
  fix: Send `Authorization: Bearer <access_token>`; `kit.api.ApiCaller` does.
  see: RFC 6750 sections 2.1, 3.1
API | 401 | gateway invalid_token
  what: The access token was not accepted.
  cause: It expired (they live an hour), was revoked, or is no token; or its grant
    does not include this site.
  fix: Refresh once (`refresh_access_token` or `TokenStore.fresh`) and call again;
    if the new token gets the same 401, authorize again, and check the cloud id
    against `accessible-resources`.
  see: facts 2.3, 5.4; RFC 6750 section 3.1; case 113
API | 410 |
  what: This v1 endpoint is gone for 3LO apps: $path answers 410 Gone.
  cause: Atlassian removed the deprecated v1 `space` and `content` endpoints.
  fix: Call $v2 instead, or v1 search (`/wiki/rest/api/search?cql=...`).
  see: facts 6.1
API | 404 | spring
  what: The gateway knows no such route or cloud id: $path.
  cause: The cloud id is none of the token's sites, or the path is wrong (v2 paths
    need `/wiki`, as in `/wiki/api/v2/pages`).
  fix: Take the `id` from `accessible-resources` (not the site's name) and call
    `/ex/confluence/{cloudid}/wiki/...`.
  see: facts 4.1, 4.2
API | 404 |
  what: Confluence found nothing to show: $said.
  cause: It does not exist, or the person may not see it: Confluence answers 404
    for both, and scopes never override permissions.
  fix: Check the id (v2 ids are strings; `/wiki/api/v2/pages?title=...` finds
    them) and that the person can open it in the browser.
  see: facts 5.2, 6.5, 6.6
API | 400 | v1 v2
  what: Confluence rejected a parameter: $said.
  cause: A value is out of range or not allowed, such as `limit` above 250,
    `status=draft` on `/pages`, or a CQL syntax error.
  fix: Correct the parameter the message names; the specs list each operation's.
  see: facts 6.4, 6.6
API | 403 |
  what: Confluence refused the call: $said.
  cause: The person may not use Confluence on this site, or may not do this;
    scopes never override Confluence permissions.
  fix: Ask a site admin for Confluence access, or call as someone who has it.
  see: facts 5.2, 6.6
ANSWER exception | 429 |
  what: Too many calls: the rate limit was reached.
  cause: Atlassian limits the calls of each app and user (facts 6.7).
  fix: @retry
  see: facts 6.7; cases 108, 109
API exception | 5xx |
  what: The server failed ($status $error).
  cause: A problem on Atlassian's side, usually brief (a sandbox's 501: an
    operation it does not emulate).
  fix: @retry
  see: facts 6.7; case 110
resources | 2xx | empty-list
  what: The token reaches no site: `accessible-resources` is empty.
  cause: The grant's scopes fit no product of the site, or no site was picked.
  fix: Request scopes of the product you call, pick the site at consent, and
    authorize again.
  see: facts 1.3, 4.1
ANSWER | 2xx |
  what: This exchange succeeded ($status).
  cause: Nothing went wrong here.
  fix: Diagnose the one that failed: `kit.record.HISTORY.last_failure`.
  see: kit.record
ANSWER | 3xx |
  step: transport
  what: The server answered with a redirect, which the kit does not follow.
  cause: A base URL points at a login page, a proxy or the wrong host; following
    would send the secret or the token there.
  fix: Check `ATLASSIAN_AUTH_URL` and `ATLASSIAN_API_URL`.
  see: RFC 9700 section 4.12; case 117
exchange | 0 |
  step: transport
  what: The code exchange got no answer ($failure).
  cause: The network or the server; the request may still have used the code.
  fix: Do not send the code again. Check the network and `ATLASSIAN_AUTH_URL`,
    then authorize again for a fresh code.
  trap: @once
  see: case 111; RFC 6749 section 4.1.2
ANSWER | 0 |
  step: transport
  what: The request got no answer ($failure).
  cause: The network, a proxy, or a base URL that points nowhere.
  fix: @again
  see: cases 107, 112
url | | | redirect_uri is not registered
  what: Atlassian does not know this callback URL for the app.
  cause: `$uri` must match the app's Callback URL exactly, trailing slash, port
    and scheme included.
  fix: In the developer console open the app, Authorization, OAuth 2.0 (3LO), and
    register the `redirect_uri` you send, or set `ATLASSIAN_REDIRECT_URI` to the
    registered one.
  see: facts 1.4; COMM-403
url | | | have not been added
  what: The app asked for scopes that were not added to it in the console.
  cause: Only scopes added to the app may be requested; not added: $listed.
  fix: Add them under Permissions in the developer console (`read:me` needs the
    User Identity API), or drop them from the `scope` of
    `build_authorization_url`; then start again.
  see: facts 1.1, 1.4, 4.3
url | | | site admin must authorize
  what: The site's admin blocks apps that users install themselves.
  cause: The organisation wants an admin to approve the app for $site.
  fix: Ask a site admin to approve the app at admin.atlassian.com, or consent on
    a site where you may install apps.
  see: facts 1.3
url | | unauthorized_client
  what: Atlassian refused the client: $said.
  cause: `ATLASSIAN_CLIENT_ID` is wrong, or the app is not shared and someone
    other than its owner tried it.
  fix: Copy the client id from the app's Settings page; let others in under
    Distribution (sharing).
  see: facts 1.4, 7.2
url exception | | access_denied
  step: authorize
  what: Consent was declined: the person pressed Cancel.
  cause: No code was issued, so the app has no access.
  fix: Run the authorization step again and press Accept, choosing a site.
  see: facts 1.4; RFC 6749 section 4.1.2.1
url exception | | invalid_scope
  step: authorize
  what: The authorization request's `scope` was refused: $said.
  cause: It is empty, holds a character RFC 6749 forbids, or names a scope the app
    does not have.
  fix: Pass scopes the app has, space-separated (`kit.scopes.scopes_for` picks
    them). @lint
  see: facts 1.1; RFC 6749 section 3.3
url exception | | unsupported_response_type invalid_request
  step: authorize
  what: The authorization request was malformed: $said.
  cause: A parameter is missing, repeated or wrong (`response_type=code`,
    `audience`, `state`, a PKCE challenge), or the consent page expired.
  fix: @lint
  see: facts 1.1; RFC 6749 section 4.1.2.1
url exception | | server_error temporarily_unavailable
  step: authorize
  what: Atlassian could not finish the authorization ($error).
  cause: A problem on Atlassian's side, not in your URL.
  fix: Wait a minute, then start again from a fresh authorization URL.
  see: RFC 6749 section 4.1.2.1
url | | code
  step: callback
  what: No error: the browser came back with an authorization code.
  cause: Consent succeeded. The code works once and dies within minutes.
  fix: Exchange it at once: `parse_redirected_url` with this address, then
    `exchange_code`.
  see: facts 1.4, 2.4
url | | consent-page
  what: The browser is still on Atlassian's consent page.
  cause: Consent is not finished, or the page shows an error, most often "This app
    has requested scopes that have not been added to the app".
  fix: Choose a site and press Accept; if the page shows that error, paste its
    text here, or add the scopes it lists under Permissions in the console.
  see: facts 1.3, 1.4
url | | authorization-url
  what: This is the authorization URL itself, not where the browser landed.
  cause: The doctor reads the address after consent, or an error page's text.
  fix: Open it in a browser and give the doctor the address you land on, or the
    text of the error page shown; `kit.authorize.lint` checks the URL itself.
  see: facts 1.1, 1.4
url | | error
  what: The authorization ended with `error=$error`: $said.
  cause: An error the doctor does not know; the description is the clue.
  fix: @lint
  see: RFC 6749 section 4.1.2.1
url | |
  what: The doctor found no OAuth answer in this address or text.
  cause: It holds neither `code` nor `error`, nor a known Atlassian message.
  fix: Paste the whole address the browser shows after consent, or the error
    page's text.
  see: facts 1.4
exception | | StateMismatchError
  step: callback
  what: The callback's `state` is not the one this flow sent.
  cause: An old tab, a flow started since, or a forged callback (CSRF); the code
    was not used.
  fix: Build a new authorization URL and finish consent in that tab only.
  see: RFC 6749 section 10.12
exception | | IssuerMismatchError
  step: callback
  what: The callback names another authorization server (`iss`).
  cause: A mix-up attack, or `ATLASSIAN_AUTH_URL` points elsewhere.
  fix: Check `ATLASSIAN_AUTH_URL`, then start again from a fresh URL.
  see: RFC 9207 section 2.4
exception | | MalformedCallbackError
  step: callback
  what: The callback address cannot be read.
  cause: It was cut short, edited, or is not the address after consent.
  fix: Copy the whole address from the browser again, or start again.
  see: RFC 6749 section 4.1.2
exception | | CallbackTimeoutError
  step: callback
  what: No callback reached the catcher in time.
  cause: Consent was not finished, or the browser cannot reach this machine's
    loopback (JupyterHub, Binder, a remote kernel).
  fix: Start again; if the browser runs elsewhere, paste the address you land on
    into `parse_redirected_url`.
  see: RFC 8252 section 7.3
exception | | CallbackPortError
  step: callback
  what: The callback catcher cannot listen on the redirect URI's port.
  cause: Another program, or an earlier catcher, holds the port.
  fix: Stop the other catcher (`stop()`) or program; the port must stay the one
    in the registered Callback URL.
  see: RFC 8252 section 7.3
exception | | ConfigError
  step: settings
  what: A setting, scope or operation name is missing or wrong.
  cause: $message
  fix: Correct it in `.env` or the environment (scope names:
    `kit.scopes.all_scopes()`), then run `kit.config.load()` again.
  see: README; facts 5.1, 7.2
exception | | ExchangeRefusedError | already/twice
  step: exchange
  what: The kit did not send this code again: it was sent already.
  cause: A code works once; a second exchange would be refused.
  fix: Use the tokens the first exchange gave, or authorize again.
  see: RFC 6749 section 4.1.2
exception | | ExchangeRefusedError | redirect
  step: transport
  what: The server redirected the request, and the kit did not follow.
  cause: Following would send the secret or the token to another address.
  fix: Check `ATLASSIAN_AUTH_URL` and `ATLASSIAN_API_URL`.
  see: RFC 9700 section 4.12; case 117
exception | | ExchangeRefusedError | clear text/plain http
  step: settings
  what: The kit will not send secrets over plain http to another machine.
  cause: $message
  fix: Use https, a sandbox on 127.0.0.1, or `allow_plain_http=True` for a
    workshop's sandbox on the local network.
  see: RFC 6749 section 10.9; case 96
exception | | ExchangeRefusedError | offline_access
  step: refresh
  what: There is no refresh token to refresh with.
  cause: The authorization did not ask for `offline_access`.
  fix: Add `offline_access` to the scopes and authorize again.
  see: facts 1.1, 3
exception | | TokenStoreError
  step: settings
  what: The token file cannot be read or written.
  cause: $message
  fix: Do what the cause says; the previous file is left whole.
  see: cases 97-100
exception | | TransportError | code exchange
  step: exchange
  what: The code exchange got no answer, and the kit did not send it again.
  cause: The server may have used the code already; a code works once.
  fix: Run the authorization step again for a fresh code.
  trap: @once
  see: case 111; RFC 6749 section 4.1.2
exception | | TransportError
  step: transport
  what: No usable answer came.
  cause: $message
  fix: @again
  see: cases 107, 111, 112, 118
exception | | TokenResponseError
  step: exchange
  what: The token endpoint answered 200 without a usable bearer token.
  cause: $message
  fix: Check that `ATLASSIAN_AUTH_URL` points at Atlassian or the sandbox.
  see: RFC 6749 section 5.1; case 116
exception | | KitError
  what: The kit stopped: $message
  cause: An error without a recorded answer.
  fix: Follow the message; `kit.record.HISTORY.last_failure` holds the last
    failed exchange, if any.
  see: kit.errors
exception | |
  what: Python raised `$kind`, which the doctor does not know.
  cause: $message
  fix: Read the traceback; `kit.record.HISTORY.last_failure` holds the last
    failed exchange, if any.
  see: kit.errors
* | |
  what: $where answered $status $error, an answer the doctor does not know.
  cause: It said: $said.
  fix: Look at the whole exchange (`kit.record.HISTORY.last_failure.raw()`) and
    compare it with facts 2.5 (tokens) and 6.6 (Confluence).
  see: facts 2.5, 5.4, 6.6
"""
