// helm-render renders a Helm chart's templates the way `helm template` does, for tests on
// machines without helm: Go's text/template with sprig's functions plus Helm's own (include,
// tpl, required, toYaml, fromYaml, toJson, fromJson, lookup), the built-in objects (.Values,
// .Release, .Chart, .Capabilities, .Template, .Files), values files coalesced over the chart's
// values.yaml (null deletes a key), missing keys rendering as empty, and the chart's crds/ files
// passed through unrendered. Not covered: subcharts and dependencies, schema validation of values
// (the tests do it with ajv), hooks, and sprig functions Helm removes (env, expandenv) are left in.
//
// Usage: helm-render -chart DIR -name RELEASE -namespace NS [-values FILE]...
// Prints JSON: {"manifests":[{"source":..., "content":...}], "notes": "...", "values": {...}}.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

type manifest struct {
	Source  string `json:"source"`
	Content string `json:"content"`
}

type output struct {
	Manifests []manifest             `json:"manifests"`
	Notes     string                 `json:"notes"`
	Values    map[string]interface{} `json:"values"`
}

// APIVersions answers .Capabilities.APIVersions.Has like Helm's default capabilities.
type APIVersions []string

func (a APIVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

// Files gives templates .Files.Get for files inside the chart.
type Files struct{ root string }

func (f Files) Get(name string) string {
	b, err := os.ReadFile(filepath.Join(f.root, name))
	if err != nil {
		return ""
	}
	return string(b)
}

func main() {
	chartDir := flag.String("chart", "", "chart directory")
	name := flag.String("name", "release", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	var files valueFiles
	flag.Var(&files, "values", "values file (repeatable)")
	flag.Parse()
	out, err := render(*chartDir, *name, *namespace, files)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

func readYAML(path string) (map[string]interface{}, error) {
	data := map[string]interface{}{}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(b, &data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// coalesce merges src over dst as Helm does for values: maps merge, null deletes, the rest replaces.
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		srcMap, srcIsMap := v.(map[string]interface{})
		dstMap, dstIsMap := dst[k].(map[string]interface{})
		if srcIsMap && dstIsMap {
			dst[k] = coalesce(dstMap, srcMap)
		} else {
			dst[k] = v
		}
	}
	return dst
}

func toYAML(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func render(chartDir, name, namespace string, files []string) (*output, error) {
	chartMeta, err := readYAML(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	values, err := readYAML(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		override, err := readYAML(f)
		if err != nil {
			return nil, err
		}
		values = coalesce(values, override)
	}
	chartName, _ := chartMeta["name"].(string)
	chart := map[string]interface{}{
		"Name":        chartName,
		"Version":     chartMeta["version"],
		"AppVersion":  chartMeta["appVersion"],
		"Description": chartMeta["description"],
		"Type":        chartMeta["type"],
	}

	root := template.New("chart").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	funcs["toYaml"] = toYAML
	funcs["toJson"] = func(v interface{}) string { b, _ := json.Marshal(v); return string(b) }
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	funcs["lookup"] = func(string, string, string, string) map[string]interface{} { return map[string]interface{}{} }
	funcs["include"] = func(string, interface{}) (string, error) { return "", nil }
	funcs["tpl"] = func(string, interface{}) (string, error) { return "", nil }
	root.Funcs(funcs)
	// include and tpl need the parsed tree, so they are bound after parsing.
	root.Funcs(template.FuncMap{
		"include": func(name string, data interface{}) (string, error) {
			var buf strings.Builder
			err := root.ExecuteTemplate(&buf, name, data)
			return buf.String(), err
		},
		"tpl": func(text string, data interface{}) (string, error) {
			clone, err := root.Clone()
			if err != nil {
				return "", err
			}
			t, err := clone.New("tpl").Parse(text)
			if err != nil {
				return "", err
			}
			var buf strings.Builder
			err = t.Execute(&buf, data)
			return buf.String(), err
		},
	})

	templateDir := filepath.Join(chartDir, "templates")
	entries, err := os.ReadDir(templateDir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(templateDir, e.Name()))
		if err != nil {
			return nil, err
		}
		full := chartName + "/templates/" + e.Name()
		if _, err := root.New(full).Parse(string(b)); err != nil {
			return nil, err
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)

	out := &output{Values: values, Manifests: []manifest{}}
	crdDir := filepath.Join(chartDir, "crds")
	if crds, err := os.ReadDir(crdDir); err == nil {
		for _, e := range crds {
			b, err := os.ReadFile(filepath.Join(crdDir, e.Name()))
			if err != nil {
				return nil, err
			}
			out.Manifests = append(out.Manifests, manifest{Source: chartName + "/crds/" + e.Name(), Content: string(b)})
		}
	}
	for _, n := range names {
		if strings.HasPrefix(n, "_") {
			continue
		}
		full := chartName + "/templates/" + n
		data := map[string]interface{}{
			"Values":  values,
			"Chart":   chart,
			"Release": map[string]interface{}{"Name": name, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
			"Capabilities": map[string]interface{}{
				"KubeVersion": map[string]interface{}{"Version": "v1.31.0", "Major": "1", "Minor": "31", "GitVersion": "v1.31.0"},
				"APIVersions": APIVersions{"v1", "apps/v1", "policy/v1", "rbac.authorization.k8s.io/v1", "coordination.k8s.io/v1", "apiextensions.k8s.io/v1", "stockroom.dev/v1alpha1"},
			},
			"Template": map[string]interface{}{"Name": full, "BasePath": chartName + "/templates"},
			"Files":    Files{root: chartDir},
		}
		var buf strings.Builder
		if err := root.ExecuteTemplate(&buf, full, data); err != nil {
			return nil, err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if n == "NOTES.txt" {
			out.Notes = text
			continue
		}
		out.Manifests = append(out.Manifests, manifest{Source: full, Content: text})
	}
	return out, nil
}
