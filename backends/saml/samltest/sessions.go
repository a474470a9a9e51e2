package samltest

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/crewjam/saml"
)

// loginPath is where samltest's login page posts.
const loginPath = "/samltest/login"

// sessions is the IdP's saml.SessionProvider: samlidp's sessions, with
// samltest's login page, and the refusal of denied users.
type sessions struct{ idp *IdP }

// GetSession returns the session of the browser that sent r, as samlidp
// has it, or, when it has none, answers r with samltest's login page (which
// comes back to r's URL once logged in) and returns nil. A denied user's
// session is answered with a Response whose status is
// Responder/RequestDenied.
func (s *sessions) GetSession(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) *saml.Session {
	var session *saml.Session
	switch {
	case r.Method != http.MethodGet, req.Request.IsPassive != nil && *req.Request.IsPassive:
		// samlidp's own form posted (or a POST-binding request, which a
		// GET cannot repeat), or a passive request, which samlidp answers
		// with NoPassive: samlidp's way.
		session = s.idp.srv.GetSession(w, r, req)
	default:
		rec := httptest.NewRecorder()
		session = s.idp.srv.GetSession(rec, r, req)
		if session == nil {
			if rec.Code != http.StatusOK {
				copyRecorded(w, rec)
				return nil
			}
			loginPage(w, r.URL.RequestURI(), "", http.StatusOK)
			return nil
		}
	}
	if session == nil {
		return nil
	}
	if _, denied := s.idp.denied.Load(session.UserName); denied {
		err := req.IDP.SendErrorResponse(w, req, &saml.StatusError{
			TopLevel:    saml.StatusResponder,
			SecondLevel: saml.StatusRequestDenied,
			Message:     "samltest: this user may not log in to this service provider",
		})
		if err != nil {
			http.Error(w, "samltest: "+err.Error(), http.StatusInternalServerError)
		}
		return nil
	}
	return session
}

// handleLogin is POST /samltest/login, the login page's: it logs the
// username and password in at samlidp's /login, which sets samlidp's
// session cookie, and sends the browser back (303) to the page it came
// from, a URL of the IdP's /sso or /login/<shortcut>. A refused login gets
// the page again, with samlidp's message.
func (i *IdP) handleLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "samltest: "+err.Error(), http.StatusBadRequest)
		return
	}
	back := r.PostForm.Get("return")
	if !localReturn(back) {
		http.Error(w, "samltest: the login page's return URL is not one of the IdP's login URLs", http.StatusBadRequest)
		return
	}
	inner := r.Clone(r.Context())
	inner.URL = &url.URL{Path: "/login"}
	inner.RequestURI = "/login"
	inner.PostForm = url.Values{"user": {r.PostForm.Get("user")}, "password": {r.PostForm.Get("password")}}
	inner.Form = inner.PostForm
	rec := httptest.NewRecorder()
	i.srv.ServeHTTP(rec, inner)
	var set []*http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "session" && c.Value != "" {
			set = append(set, c)
		}
	}
	if rec.Code != http.StatusOK || len(set) == 0 {
		loginPage(w, back, "Invalid username or password", http.StatusOK)
		return
	}
	for _, c := range set {
		http.SetCookie(w, c)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// localReturn reports whether back is a URL the login page may return to:
// a path of the IdP's /sso or /login/<shortcut>, with its query.
func localReturn(back string) bool {
	u, err := url.Parse(back)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && !strings.HasPrefix(back, "//") &&
		(u.Path == "/sso" || strings.HasPrefix(u.Path, "/login/"))
}

// copyRecorded writes what rec recorded to w.
func copyRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// loginForm is samltest's login page: a plain form, which works without
// JavaScript, with ids for a browser test to fill in.
var loginForm = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Log in: samltest identity provider</title></head>
<body>
<h1>samltest identity provider</h1>
{{if .Toast}}<p id="error" role="alert">{{.Toast}}</p>
{{end}}<form method="post" action="` + loginPath + `" id="login-form">
<p><label for="username">Username</label> <input type="text" name="user" id="username" autocomplete="username" autofocus required></p>
<p><label for="password">Password</label> <input type="password" name="password" id="password" autocomplete="current-password" required></p>
<input type="hidden" name="return" value="{{.Return}}">
<p><button type="submit" id="login">Log in</button></p>
</form>
</body>
</html>
`))

// loginPage writes the login page, which returns to back once logged in,
// with a message (toast) for a refused login.
func loginPage(w http.ResponseWriter, back, toast string, status int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	loginForm.Execute(w, struct{ Return, Toast string }{back, toast})
}
