// Renders a Helm chart as `helm template` does, for the tests, on a machine without helm.
//
// Helm's engine is Go's text/template with sprig's functions (env and expandenv removed) and a few of its own;
// this program rebuilds that engine from Debian's packages (golang-go, golang-github-masterminds-sprig-dev,
// golang-gopkg-yaml.v3-dev) and keeps helm's behaviour where a chart could notice the difference:
//   - values files are read through JSON, as sigs.k8s.io/yaml does: every number is a float64, so
//     `{{ .Values.n }}` of 1000000 prints 1e+06, as it does under helm;
//   - user values are coalesced over the chart's values.yaml (maps merge, null removes a default);
//   - missing keys render as empty ("missingkey=zero", then "<no value>" removed);
//   - include, tpl, required, fail, toYaml (2-space indent, no trailing newline), fromYaml, toJson, fromJson,
//     lookup (always empty: there is no cluster); .Files.Get;
//   - every file under templates/ not starting with "_" is rendered; NOTES.txt is rendered apart.
//
// Usage: render -chart DIR [-f values.yaml ...] [-name RELEASE] [-namespace NS] [-values-out FILE] [-notes-out FILE]
// The manifests go to stdout, each after "---\n# Source: <chart>/templates/<file>"; an error exits 1 with helm's
// "execution error at (...)" text on stderr.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

type chartMeta struct {
	Name        string `yaml:"name"`
	Version     string `yaml:"version"`
	AppVersion  string `yaml:"appVersion"`
	Description string `yaml:"description"`
	Type        string `yaml:"type"`
	KubeVersion string `yaml:"kubeVersion"`
	APIVersion  string `yaml:"apiVersion"`
}

func main() {
	chartDir := flag.String("chart", "", "chart directory")
	release := flag.String("name", "release-name", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	valuesOut := flag.String("values-out", "", "write the coalesced values here as JSON")
	notesOut := flag.String("notes-out", "", "write the rendered NOTES.txt here")
	var files valueFiles
	flag.Var(&files, "f", "values file (repeatable)")
	flag.Parse()
	if err := run(*chartDir, *release, *namespace, files, *valuesOut, *notesOut); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(chartDir, release, namespace string, files []string, valuesOut, notesOut string) error {
	var meta chartMeta
	if err := readYamlFile(filepath.Join(chartDir, "Chart.yaml"), &meta, false); err != nil {
		return err
	}
	var values map[string]interface{}
	if err := readYamlFile(filepath.Join(chartDir, "values.yaml"), &values, true); err != nil {
		return err
	}
	if values == nil {
		values = map[string]interface{}{}
	}
	for _, f := range files {
		var user map[string]interface{}
		if err := readYamlFile(f, &user, true); err != nil {
			return err
		}
		values = coalesce(user, values)
	}
	if valuesOut != "" {
		data, err := json.Marshal(values)
		if err != nil {
			return err
		}
		if err := os.WriteFile(valuesOut, data, 0o644); err != nil {
			return err
		}
	}

	root := template.New("chart")
	root.Option("missingkey=zero")
	funcs := funcMap(root)
	root.Funcs(funcs)

	var names []string
	templatesDir := filepath.Join(chartDir, "templates")
	err := filepath.WalkDir(templatesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(templatesDir, p)
		name := path.Join(meta.Name, "templates", filepath.ToSlash(rel))
		text, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if _, err := root.New(name).Parse(string(text)); err != nil {
			return fmt.Errorf("parse error at (%s): %w", name, err)
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)

	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": release, "Namespace": namespace, "IsInstall": true, "IsUpgrade": false,
			"Revision": 1, "Service": "Helm",
		},
		"Chart": map[string]interface{}{
			"Name": meta.Name, "Version": meta.Version, "AppVersion": meta.AppVersion,
			"Description": meta.Description, "Type": meta.Type, "KubeVersion": meta.KubeVersion,
			"APIVersion": meta.APIVersion,
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.31.0", "Major": "1", "Minor": "31", "GitVersion": "v1.31.0"},
			"APIVersions": apiVersions{},
		},
		"Files": chartFiles{dir: chartDir},
	}

	var out bytes.Buffer
	for _, name := range names {
		base := path.Base(name)
		if strings.HasPrefix(base, "_") {
			continue
		}
		text, err := execute(root, name, top)
		if err != nil {
			return err
		}
		if base == "NOTES.txt" {
			if notesOut != "" {
				if err := os.WriteFile(notesOut, []byte(text), 0o644); err != nil {
					return err
				}
			}
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, text)
	}
	_, err = os.Stdout.Write(out.Bytes())
	return err
}

// execute runs one template with its own .Template, as helm gives each file.
func execute(root *template.Template, name string, top map[string]interface{}) (string, error) {
	data := make(map[string]interface{}, len(top)+1)
	for k, v := range top {
		data[k] = v
	}
	data["Template"] = map[string]interface{}{"Name": name, "BasePath": path.Join(strings.SplitN(name, "/", 2)[0], "templates")}
	var buf bytes.Buffer
	if err := root.ExecuteTemplate(&buf, name, data); err != nil {
		return "", cleanError(err)
	}
	return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
}

func funcMap(root *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	depth := 0
	f["include"] = func(name string, data interface{}) (string, error) {
		depth++
		defer func() { depth-- }()
		if depth > 1000 {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	f["required"] = func(message string, value interface{}) (interface{}, error) {
		if value == nil {
			return nil, errors.New(message)
		}
		if s, ok := value.(string); ok && s == "" {
			return nil, errors.New(message)
		}
		return value, nil
	}
	f["fail"] = func(message string) (string, error) { return "", errors.New(message) }
	f["toYaml"] = func(v interface{}) string {
		data, err := toYaml(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(data, "\n")
	}
	f["fromYaml"] = func(s string) map[string]interface{} {
		var m map[string]interface{}
		if err := decodeYaml([]byte(s), &m, true); err != nil {
			return map[string]interface{}{"Error": err.Error()}
		}
		return m
	}
	f["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	return f
}

// toYaml writes v as sigs.k8s.io/yaml does: through JSON (so struct-less values keep JSON's types), keys sorted,
// two-space indentation.
func toYaml(v interface{}) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var plain interface{}
	if err := json.Unmarshal(data, &plain); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(plain); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	if plain == nil {
		return "null\n", nil
	}
	return buf.String(), nil
}

func readYamlFile(file string, out interface{}, viaJSON bool) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := decodeYaml(data, out, viaJSON); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// decodeYaml reads YAML; viaJSON converts it through JSON as sigs.k8s.io/yaml does (numbers become float64).
func decodeYaml(data []byte, out interface{}, viaJSON bool) error {
	if !viaJSON {
		return yaml.Unmarshal(data, out)
	}
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return err
	}
	plain, err := jsonable(raw)
	if err != nil {
		return err
	}
	j, err := json.Marshal(plain)
	if err != nil {
		return err
	}
	return json.Unmarshal(j, out)
}

func jsonable(v interface{}) (interface{}, error) {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, e := range t {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			t[k] = c
		}
		return t, nil
	case map[interface{}]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, e := range t {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = c
		}
		return m, nil
	case []interface{}:
		for i, e := range t {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			t[i] = c
		}
		return t, nil
	default:
		return v, nil
	}
}

// coalesce lays user values over the chart's defaults as helm does: maps merge key by key, a user null removes the
// default, anything else replaces it.
func coalesce(user, defaults map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(defaults))
	for k, v := range defaults {
		out[k] = v
	}
	for k, v := range user {
		if v == nil {
			delete(out, k)
			continue
		}
		um, uok := v.(map[string]interface{})
		dm, dok := out[k].(map[string]interface{})
		if uok && dok {
			out[k] = coalesce(um, dm)
			continue
		}
		out[k] = v
	}
	return out
}

// chartFiles is .Files: the chart's files outside templates/, read by their path in the chart.
type chartFiles struct{ dir string }

// Get returns the file's text, or "" when there is no such file (as helm does).
func (f chartFiles) Get(name string) string {
	clean := path.Clean(name)
	if strings.HasPrefix(clean, "templates/") || strings.HasPrefix(clean, "..") || path.IsAbs(clean) {
		return ""
	}
	data, err := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(clean)))
	if err != nil {
		return ""
	}
	return string(data)
}

type apiVersions struct{}

// Has answers what a current cluster serves, for charts that ask .Capabilities.APIVersions.Has.
func (apiVersions) Has(v string) bool {
	switch v {
	case "apps/v1", "batch/v1", "v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1":
		return true
	}
	return false
}

// cleanError gives text/template's error helm's "execution error at (...)" shape.
func cleanError(err error) error {
	var execErr template.ExecError
	if errors.As(err, &execErr) {
		return fmt.Errorf("execution error at %s", strings.TrimPrefix(execErr.Error(), "template: "))
	}
	return err
}
