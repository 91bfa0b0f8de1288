// Command argocd-render renders an Argo CD notifications webhook body the
// way argocd-notifications does (text/template with Sprig's text functions,
// minus env and expandenv), for valuepulse's integration tests.
//
// Usage: argocd-render <template-file> <application.json> <commit-date RFC 3339>
//
// The template sees .app (the Application as JSON → map, as Argo CD's
// unstructured object), .context and .secrets (empty), .serviceType
// ("webhook") and .repo with GetCommitMetadata(sha), which returns the
// commit's Message, Author, Date (a time.Time, as in Argo CD) and Tags.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
)

// CommitMetadata is Argo CD's util/notification/expression/shared.CommitMetadata.
type CommitMetadata struct {
	Message string
	Author  string
	Date    time.Time
	Tags    []string
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: argocd-render <template-file> <application.json> <commit-date>")
		os.Exit(2)
	}
	body, err := os.ReadFile(os.Args[1])
	check(err)
	raw, err := os.ReadFile(os.Args[2])
	check(err)
	var app map[string]any
	check(json.Unmarshal(raw, &app))
	date, err := time.Parse(time.RFC3339, os.Args[3])
	check(err)

	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	tmpl, err := template.New("valuepulse").Funcs(funcs).Parse(string(body))
	check(err)
	vars := map[string]any{
		"app":         app,
		"context":     map[string]string{},
		"secrets":     map[string][]byte{},
		"serviceType": "webhook",
		"recipient":   "",
		"repo": map[string]any{
			"GetCommitMetadata": func(sha string) any {
				if sha == "" {
					panic("GetCommitMetadata called without a revision")
				}
				return CommitMetadata{Message: "Deploy " + sha, Author: "CI <ci@example.com>", Date: date}
			},
		},
	}
	check(tmpl.Execute(os.Stdout, vars))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "argocd-render:", err)
		os.Exit(1)
	}
}
