// Command validate reads the valuepulse Grafana dashboards the way Grafana's
// own schema describes them, and enforces the project's dashboard rules.
//
//	go run . ../dashboards/*.json      (deploy/grafana/validate.sh builds and runs it)
//
// Decoding: each file is decoded with the Grafana Foundation SDK's strict
// unmarshaller (dashboard.Dashboard.UnmarshalJSONStrict) with the SDK's
// panel and data source plugins registered, so panel options, custom field
// config and Prometheus queries are decoded into their plugin types too. A
// field the schema does not know, a value of the wrong type or a missing
// required field is an error. The SDK decodes a panel's fieldConfig loosely
// (only its `custom` part strictly), so every fieldConfig is decoded once
// more with FieldConfigSource.UnmarshalJSONStrict, except its data links,
// which the SDK mistypes as dashboard links: those are decoded strictly as
// Grafana data links ({title, url, targetBlank, oneClick}).
//
// Rules, on the decoded dashboard:
//   - uid: set, at most 40 characters, unique across the files, and
//     derived from the file name (valuepulse-<name>, or <name> when the name
//     already starts with valuepulse-), so renaming a title never changes it;
//   - id is null (Grafana assigns it; a fixed id clashes on import);
//   - editable is false (provisioned dashboards are changed in git);
//   - a variable `datasource` of type datasource for Prometheus, and every
//     panel, query and query variable uses ${datasource};
//   - every multi-value or includeAll variable has allValue ".+" (one regex
//     for "All", not a long alternation of every value);
//   - every panel (rows excepted: the schema gives rows neither) has a
//     description and a unit (fieldConfig.defaults.unit).
//
// Exit codes: 0 all clean, 1 a dashboard failed, 2 usage or I/O error.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

const datasourceUID = "${datasource}"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: validate DASHBOARD.json ...")
		os.Exit(2)
	}
	plugins.RegisterDefaultPlugins()

	uids := map[string]string{}
	failed := 0
	for _, path := range os.Args[1:] {
		raw, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "validate: %v\n", err)
			os.Exit(2)
		}
		problems := check(path, raw, uids)
		name := filepath.Base(path)
		if len(problems) == 0 {
			fmt.Printf("  ok    %s\n", name)
			continue
		}
		failed++
		for _, p := range problems {
			fmt.Printf("  ERROR %s: %s\n", name, p)
		}
	}
	fmt.Printf("validate: %d dashboards, %d failed\n", len(os.Args)-1, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// check returns every problem of one dashboard file.
func check(path string, raw []byte, uids map[string]string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	var strict dashboard.Dashboard
	for _, e := range schemaErrors(strict.UnmarshalJSONStrict(raw)) {
		bad("schema: %s", e)
	}
	// The rules read a second, lenient decode with the same types: the
	// strict one reports errors but loses every panel (in SDK v0.0.22,
	// PanelOrRowPanel.UnmarshalJSONStrict returns its empty error list as a
	// non-nil error before it stores the panel).
	var d dashboard.Dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		bad("decode: %v", err)
		return problems
	}
	problems = append(problems, strictFieldConfigs(raw)...)

	// uid
	uid := deref(d.Uid)
	want := strings.TrimSuffix(filepath.Base(path), ".json")
	if !strings.HasPrefix(want, "valuepulse-") {
		want = "valuepulse-" + want
	}
	switch {
	case uid == "" || len(uid) > 40:
		bad("uid %q must be set and at most 40 characters", uid)
	case uid != want:
		bad("uid %q should be %q (derived from the file name, so it never changes)", uid, want)
	case uids[uid] != "":
		bad("uid %q is also used by %s", uid, uids[uid])
	default:
		uids[uid] = filepath.Base(path)
	}
	if d.Id != nil {
		bad("id is %v; set it to null (Grafana assigns ids)", *d.Id)
	}
	if deref(d.Title) == "" {
		bad("no title")
	}
	if d.Editable == nil || *d.Editable {
		bad("editable must be false (provisioned dashboards are changed in git, not in Grafana)")
	}

	// variables
	hasDatasource := false
	for _, v := range d.Templating.List {
		switch v.Type {
		case dashboard.VariableTypeDatasource:
			if v.Name == "datasource" && v.Query != nil && deref(v.Query.String) == "prometheus" {
				hasDatasource = true
			}
		case dashboard.VariableTypeQuery:
			if v.Datasource == nil || deref(v.Datasource.Uid) != datasourceUID {
				bad("variable %q does not query ${datasource}", v.Name)
			}
		}
		if deref(v.Multi) || deref(v.IncludeAll) {
			if got := deref(v.AllValue); got != ".+" {
				bad("variable %q is multi-value or has All: allValue must be \".+\", not %q", v.Name, got)
			}
		}
	}
	if !hasDatasource {
		bad("needs a variable `datasource` of type datasource with query prometheus")
	}

	// panels
	all := panels(d.Panels)
	if len(all) == 0 {
		bad("no panels")
	}
	for _, p := range all {
		title := deref(p.Title)
		if deref(p.Description) == "" {
			bad("panel %q has no description", title)
		}
		if p.FieldConfig == nil || deref(p.FieldConfig.Defaults.Unit) == "" {
			bad("panel %q has no unit (fieldConfig.defaults.unit; \"none\" for plain numbers)", title)
		}
		if p.Datasource == nil || deref(p.Datasource.Uid) != datasourceUID {
			bad("panel %q does not use ${datasource}", title)
		}
		if len(p.Targets) == 0 {
			bad("panel %q has no query", title)
		}
	}
	return problems
}

// panels lists every panel, including those inside collapsed rows.
func panels(list []dashboard.PanelOrRowPanel) []dashboard.Panel {
	var out []dashboard.Panel
	for _, item := range list {
		if item.Panel != nil {
			out = append(out, *item.Panel)
		}
		if item.RowPanel != nil {
			out = append(out, item.RowPanel.Panels...)
		}
	}
	return out
}

// strictFieldConfigs decodes every panel's fieldConfig strictly: the SDK's
// Panel decoder checks only fieldConfig.defaults.custom that way. One
// exception: the SDK types fieldConfig.defaults.links as dashboard links
// (type, icon, tags, asDropdown, ...), but Grafana stores data links there
// ({title, url, targetBlank, oneClick}), so those are decoded strictly as
// data links and the rest of the fieldConfig with the SDK.
func strictFieldConfigs(raw []byte) []string {
	type rawPanel struct {
		Title       string          `json:"title"`
		FieldConfig json.RawMessage `json:"fieldConfig"`
		Panels      []rawPanel      `json:"panels"`
	}
	var doc struct {
		Panels []rawPanel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return []string{fmt.Sprintf("schema: %v", err)}
	}
	var problems []string
	var walk func([]rawPanel)
	walk = func(list []rawPanel) {
		for _, p := range list {
			if p.FieldConfig != nil && string(p.FieldConfig) != "null" {
				for _, e := range checkFieldConfig(p.FieldConfig) {
					problems = append(problems, fmt.Sprintf("schema: panel %q: fieldConfig.%s", p.Title, e))
				}
			}
			walk(p.Panels)
		}
	}
	walk(doc.Panels)
	return problems
}

// dataLink is a Grafana data link as the panel editor writes it.
type dataLink struct {
	Title       *string `json:"title"`
	URL         *string `json:"url"`
	TargetBlank *bool   `json:"targetBlank"`
	OneClick    *bool   `json:"oneClick"`
}

func checkFieldConfig(raw json.RawMessage) []string {
	var source map[string]json.RawMessage
	if err := json.Unmarshal(raw, &source); err != nil {
		return []string{err.Error()}
	}
	var problems []string
	var defaults map[string]json.RawMessage
	if err := json.Unmarshal(source["defaults"], &defaults); err == nil && defaults["links"] != nil {
		var links []json.RawMessage
		if err := json.Unmarshal(defaults["links"], &links); err != nil {
			problems = append(problems, fmt.Sprintf("defaults.links: %v", err))
		}
		for i, l := range links {
			dec := json.NewDecoder(bytes.NewReader(l))
			dec.DisallowUnknownFields()
			var link dataLink
			if err := dec.Decode(&link); err != nil {
				problems = append(problems, fmt.Sprintf("defaults.links[%d]: %v", i, err))
			} else if deref(link.Title) == "" || deref(link.URL) == "" {
				problems = append(problems, fmt.Sprintf("defaults.links[%d]: a data link needs title and url", i))
			}
		}
		delete(defaults, "links")
		source["defaults"], _ = json.Marshal(defaults)
		raw, _ = json.Marshal(source)
	}
	var fc dashboard.FieldConfigSource
	return append(problems, schemaErrors(fc.UnmarshalJSONStrict(raw))...)
}

// schemaErrors flattens an error of the SDK's strict decoders into one line
// per problem. The decoders return their error list as an `error` even when
// it is empty, so an empty list means success.
func schemaErrors(err error) []string {
	if err == nil {
		return nil
	}
	var buildErrs cog.BuildErrors
	if errors.As(err, &buildErrs) {
		out := make([]string, 0, len(buildErrs))
		for _, e := range buildErrs {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
