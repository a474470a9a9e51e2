package zulipauth

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// ssoPage is the page single sign-on answers a person with: a short
// message, and a code to copy where there is one. It carries nothing else:
// no detail of why (the log has it), nothing from the request.
var ssoPage = template.Must(template.New("sso").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Title}}</title></head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Msg}}</p>
{{if .Code}}<p><code id="code">{{.Code}}</code></p>{{end}}
</body>
</html>
`))

// answerSSO writes a single sign-on handler's one answer: a redirect to to,
// a page, or a Zulip JSON error (the start's checks, as Zulip answers
// them). Every answer carries Cache-Control: no-store: a flow's redirect
// holds its token, the mobile apps' an encrypted API key.
func (a *Auth) answerSSO(w http.ResponseWriter, r *http.Request, to string, page *ssoFailure, zerr *Error) {
	h := w.Header()
	h["Cache-Control"] = []string{"no-store"}
	switch {
	case zerr != nil:
		write(w, a.cfg.Now(), nil, zerr, nil)
	case to != "":
		h["Location"] = []string{to}
		if r.Method == http.MethodPost && !strings.HasPrefix(to, "zulip:") {
			w.WriteHeader(http.StatusSeeOther) // on to a GET of the callback
			return
		}
		w.WriteHeader(http.StatusFound)
	case page != nil:
		title := "Logged in"
		if page.status >= 400 {
			title = "Login failed"
		}
		if page.status == http.StatusTooManyRequests {
			h["Retry-After"] = []string{strconv.Itoa(60)}
		}
		h["Content-Type"] = []string{"text/html; charset=utf-8"}
		h["X-Content-Type-Options"] = []string{"nosniff"}
		h["Content-Security-Policy"] = []string{"default-src 'none'"}
		w.WriteHeader(page.status)
		if page.status >= 400 && page.status < 500 { // a fault was logged as one
			a.cfg.Logger.InfoContext(r.Context(), "zulipauth: single sign-on refused", "path", r.URL.Path, "status", page.status, "reason", page.cause)
		}
		ssoPage.Execute(w, struct{ Title, Msg, Code string }{title, page.msg, page.code}) //nolint:errcheck // the client is gone
	}
}
