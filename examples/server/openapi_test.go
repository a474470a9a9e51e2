package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// openAPIDir is where Zulip's OpenAPI description lies: ../shared beside
// the repository (never copied into the project), or $ZULIP_OPENAPI_DIR. It
// is missing on a developer's machine without shared/; in CI that is a
// failure.
func openAPIDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ZULIP_OPENAPI_DIR")
	if dir == "" {
		root, err := filepath.Abs("../..")
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "..", "shared", "zulip", "openapi")
	}
	if _, err := os.Stat(filepath.Join(dir, "zulip.yaml")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Zulip's OpenAPI description is missing in %s", dir)
		}
		t.Skipf("Zulip's OpenAPI description is not in %s (set ZULIP_OPENAPI_DIR)", dir)
	}
	return dir
}

// zulipOpenAPI loads the complete description (feature level 247). It
// references its own components only; it is not validated as a whole, since
// it spells its security scheme two ways.
func zulipOpenAPI(t *testing.T, dir string) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(dir, "zulip.yaml"))
	if err != nil {
		t.Fatalf("loading zulip.yaml: %v", err)
	}
	return doc
}

// newestZulipOpenAPI loads the excerpts of the newest description, which
// describe server_settings as a server of feature level 257 or later answers
// (realm_url). The schemas they reference but do not include
// (IgnoredParametersUnsupported, UserBase, ...) are taken from the complete
// file.
func newestZulipOpenAPI(t *testing.T, dir string) *openapi3.T {
	t.Helper()
	excerpts, err := os.ReadFile(filepath.Join(dir, "zulip-newest-excerpts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(filepath.Join(dir, "zulip.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	merged := string(excerpts)
	for round := 0; ; round++ {
		if round == 20 {
			t.Fatal("the excerpts' references do not close over zulip.yaml's schemas")
		}
		var missing []string
		for _, m := range schemaRefRE.FindAllStringSubmatch(merged, -1) {
			if !strings.Contains(merged, "\n    "+m[1]+":\n") && !slices.Contains(missing, m[1]) {
				missing = append(missing, m[1])
			}
		}
		if len(missing) == 0 {
			break
		}
		for _, name := range missing {
			block := yamlBlock(t, string(full), "\n    "+name+":\n")
			merged = strings.Replace(merged, "\n  schemas:\n", "\n  schemas:"+block+"\n", 1)
		}
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(merged))
	if err != nil {
		t.Fatalf("loading the newest excerpts: %v", err)
	}
	return doc
}

var schemaRefRE = regexp.MustCompile(`#/components/schemas/([A-Za-z0-9_]+)`)

// yamlBlock returns the lines of doc from start ("\n" + an indented key
// line) up to the next line indented as much or less, beginning with "\n".
func yamlBlock(t *testing.T, doc, start string) string {
	t.Helper()
	i := strings.Index(doc, start)
	if i < 0 {
		t.Fatalf("no %q in zulip.yaml", strings.TrimSpace(start))
	}
	key := start[1:]
	indent := len(key) - len(strings.TrimLeft(key, " "))
	lines := strings.SplitAfter(doc[i+1:], "\n")
	out := "\n" + lines[0]
	for _, l := range lines[1:] {
		if trimmed := strings.TrimLeft(l, " "); trimmed != "\n" && trimmed != "" && len(l)-len(trimmed) <= indent {
			break
		}
		out += l
	}
	return strings.TrimSuffix(out, "\n")
}

// responseSchema is the JSON schema of an operation's response.
func responseSchema(t *testing.T, doc *openapi3.T, path, method string, status int) *openapi3.Schema {
	t.Helper()
	item := doc.Paths.Find(path)
	if item == nil {
		t.Fatalf("no path %s in the description", path)
	}
	op := item.GetOperation(method)
	if op == nil {
		t.Fatalf("no %s %s in the description", method, path)
	}
	resp := op.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		t.Fatalf("%s %s has no %d response", method, path, status)
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		t.Fatalf("%s %s %d has no JSON schema", method, path, status)
	}
	return mt.Schema.Value
}

func componentSchema(t *testing.T, doc *openapi3.T, name string) *openapi3.Schema {
	t.Helper()
	ref, ok := doc.Components.Schemas[name]
	if !ok || ref.Value == nil {
		t.Fatalf("no schema %s", name)
	}
	return ref.Value
}

func validate(t *testing.T, schema *openapi3.Schema, what string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: not JSON: %s", what, body)
	}
	if err := schema.VisitJSON(v); err != nil {
		t.Errorf("%s does not match Zulip's schema: %v\nbody: %s", what, err, body)
	}
}

func do(t testing.TB, method, u string, form url.Values, header http.Header) (int, []byte) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Every success body of fetch_api_key, dev_fetch_api_key and server_settings,
// and the error bodies, validated against Zulip's own OpenAPI description.
func TestResponsesMatchZulipOpenAPI(t *testing.T) {
	t.Parallel()
	dir := openAPIDir(t)
	doc := zulipOpenAPI(t, dir)
	newest := newestZulipOpenAPI(t, dir)
	db := tempDB(t)
	srv, _ := testServer(t, db, func(c *serveConfig) { c.InsecureDevLogin = true })
	mustAdmin(t, db, "a long password\n", "create-user", "-email", "iago@zulip.com")

	code, body := do(t, "POST", srv.URL+"/api/v1/fetch_api_key", creds, nil)
	if code != 200 {
		t.Fatalf("fetch_api_key: %d %s", code, body)
	}
	validate(t, responseSchema(t, doc, "/fetch_api_key", "POST", 200), "fetch_api_key 200", body)

	withIgnored := url.Values{"username": {"iago@zulip.com"}, "password": {"a long password"}, "extra": {"1"}}
	_, body = do(t, "POST", srv.URL+"/api/v1/fetch_api_key", withIgnored, nil)
	validate(t, responseSchema(t, doc, "/fetch_api_key", "POST", 200), "fetch_api_key 200 with ignored parameters", body)

	_, body = do(t, "POST", srv.URL+"/api/v1/dev_fetch_api_key", url.Values{"username": {"iago@zulip.com"}}, nil)
	validate(t, responseSchema(t, doc, "/dev_fetch_api_key", "POST", 200), "dev_fetch_api_key 200", body)

	code, body = do(t, "GET", srv.URL+"/api/v1/server_settings", nil, nil)
	if code != 200 {
		t.Fatalf("server_settings: %d", code)
	}
	// The FL-247 description predates realm_url (FL 257), which this server
	// sends as a feature-level-278 server must; the newest description
	// covers it.
	validate(t, responseSchema(t, newest, "/server_settings", "GET", 200), "server_settings 200", body)
	for _, path := range []string{"/fetch_api_key", "/dev_fetch_api_key"} {
		if path == "/fetch_api_key" {
			_, body = do(t, "POST", srv.URL+"/api/v1/fetch_api_key", creds, nil)
		} else {
			_, body = do(t, "POST", srv.URL+"/api/v1/dev_fetch_api_key", url.Values{"username": {"iago@zulip.com"}}, nil)
		}
		validate(t, responseSchema(t, newest, path, "POST", 200), path+" 200 (newest description)", body)
	}

	coded := componentSchema(t, doc, "CodedError")
	_, body = do(t, "POST", srv.URL+"/api/v1/fetch_api_key", url.Values{"username": {"iago@zulip.com"}, "password": {"wrong"}}, nil)
	validate(t, coded, "AUTHENTICATION_FAILED", body)
	_, body = do(t, "POST", srv.URL+"/api/v1/fetch_api_key", url.Values{"username": {"iago"}, "password": {"x"}}, nil)
	validate(t, coded, "invalid email", body)
	_, body = do(t, "POST", srv.URL+"/api/v1/fetch_api_key", url.Values{"password": {"x"}}, nil)
	validate(t, componentSchema(t, doc, "MissingArgumentError"), "REQUEST_VARIABLE_MISSING", body)
	_, body = do(t, "GET", srv.URL+"/api/v1/users/me", nil, http.Header{"Authorization": {"Basic " + basicCreds("iago@zulip.com", strings.Repeat("a", 32))}})
	validate(t, coded, "UNAUTHORIZED", body)

	mustAdmin(t, db, "", "deactivate-user", "-email", "iago@zulip.com")
	_, body = do(t, "POST", srv.URL+"/api/v1/fetch_api_key", creds, nil)
	validate(t, componentSchema(t, doc, "UserDeactivatedError"), "USER_DEACTIVATED", body)
	mustAdmin(t, db, "", "reactivate-user", "-email", "iago@zulip.com")
	mustAdmin(t, db, "", "deactivate-realm", "-subdomain", "")
	_, body = do(t, "POST", srv.URL+"/api/v1/fetch_api_key", creds, nil)
	validate(t, componentSchema(t, doc, "RealmDeactivatedError"), "REALM_DEACTIVATED", body)
	mustAdmin(t, db, "", "reactivate-realm", "-subdomain", "")

	// The login budget's 429. The schema types retry-after as an integer;
	// Zulip sends a float. Whole seconds written as a float (360.0) satisfy
	// both.
	for i := 0; i < 5; i++ {
		do(t, "POST", srv.URL+"/api/v1/fetch_api_key", url.Values{"username": {"iago@zulip.com"}, "password": {"wrong"}}, nil)
	}
	code, body = do(t, "POST", srv.URL+"/api/v1/fetch_api_key", creds, nil)
	if code != 429 {
		t.Fatalf("6th attempt: %d %s", code, body)
	}
	validate(t, componentSchema(t, doc, "RateLimitedError"), "RATE_LIMIT_HIT", body)
}

func basicCreds(email, key string) string {
	return base64.StdEncoding.EncodeToString([]byte(email + ":" + key))
}
