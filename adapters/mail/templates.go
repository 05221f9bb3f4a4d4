package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	texttemplate "text/template"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

//go:embed templates/*.tmpl
var embedded embed.FS

// Template file names: KIND.subject.tmpl (text/template, one line),
// KIND.text.tmpl (text/template) and KIND.html.tmpl (html/template, which
// escapes what it inserts), for every message kind; and the shared
// definitions every text (_*.text.tmpl) or HTML (_*.html.tmpl) template of
// a kind can use ("footer", "layout").
const (
	subjectSuffix = ".subject.tmpl"
	textSuffix    = ".text.tmpl"
	htmlSuffix    = ".html.tmpl"
)

// maxSubjectBytes keeps a rendered subject well below SMTP's 998-character
// line limit once encoded.
const maxSubjectBytes = 400

// Templates renders messages from the embedded templates, each of which a
// directory may override file by file; it implements
// [ports.MessageTemplates] and is safe for concurrent use. Templates run
// with "missingkey=error", and every one is parsed by [LoadTemplates], so a
// template that does not parse, names an unknown template or is missing
// fails when the program starts.
type Templates struct {
	kinds map[string]kindTemplates
	// files is the source of every template: "embedded" or the override's path.
	files map[string]string
}

type kindTemplates struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

var _ ports.MessageTemplates = (*Templates)(nil)

// DefaultTemplates returns the embedded templates. Errors: only a defect of
// the embedded files (checked by this package's tests).
func DefaultTemplates() (*Templates, error) { return LoadTemplates("") }

// LoadTemplates parses the embedded templates, replacing each by the file
// of the same name in dir when there is one (dir "" uses none). A file in
// dir that replaces no embedded template is an error (a misspelt name
// would otherwise be ignored silently). Errors: an *ecolaura.ConfigError
// naming the file for an unreadable directory, an unknown or unreadable
// file, or a template that does not parse.
func LoadTemplates(dir string) (*Templates, error) {
	sources := map[string][]byte{}
	files := map[string]string{}
	entries, err := fs.ReadDir(embedded, "templates")
	if err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	for _, e := range entries {
		b, err := fs.ReadFile(embedded, "templates/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("mail templates: %w", err)
		}
		sources[e.Name()], files[e.Name()] = b, "embedded"
	}
	var v ecolaura.Validator
	if dir != "" {
		overrides, err := os.ReadDir(dir)
		if err != nil {
			return nil, ecolaura.Misconfigured("templates_dir", "cannot read %s: %v", dir, err)
		}
		for _, e := range overrides {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if _, known := sources[e.Name()]; !known {
				v.Add("templates_dir", "%s replaces no template (known: %s)", e.Name(), strings.Join(slices.Sorted(maps.Keys(sources)), ", "))
				continue
			}
			p := path.Join(dir, e.Name())
			b, err := os.ReadFile(p)
			if err != nil {
				v.Add("templates_dir", "cannot read %s: %v", p, err)
				continue
			}
			sources[e.Name()], files[e.Name()] = b, p
		}
	}
	if err := v.ConfigErr(); err != nil {
		return nil, err
	}
	t := &Templates{kinds: map[string]kindTemplates{}, files: files}
	var textShared, htmlShared []string
	for name := range sources {
		switch {
		case strings.HasPrefix(name, "_") && strings.HasSuffix(name, textSuffix):
			textShared = append(textShared, name)
		case strings.HasPrefix(name, "_") && strings.HasSuffix(name, htmlSuffix):
			htmlShared = append(htmlShared, name)
		}
	}
	slices.Sort(textShared)
	slices.Sort(htmlShared)
	for name := range sources {
		kind, ok := strings.CutSuffix(name, subjectSuffix)
		if !ok || strings.HasPrefix(name, "_") {
			continue
		}
		kt, err := parseKind(kind, sources, files, textShared, htmlShared)
		if err != nil {
			v.Add("templates."+kind, "%v", err)
			continue
		}
		t.kinds[kind] = kt
	}
	if err := v.ConfigErr(); err != nil {
		return nil, err
	}
	return t, nil
}

func parseKind(kind string, sources map[string][]byte, files map[string]string, textShared, htmlShared []string) (kindTemplates, error) {
	var kt kindTemplates
	need := func(name string) ([]byte, error) {
		b, ok := sources[name]
		if !ok {
			return nil, fmt.Errorf("%s is missing", name)
		}
		return b, nil
	}
	where := func(name string) string {
		if files[name] == "embedded" {
			return name
		}
		return files[name]
	}
	src, err := need(kind + subjectSuffix)
	if err != nil {
		return kt, err
	}
	if kt.subject, err = texttemplate.New(kind + subjectSuffix).Option("missingkey=error").Parse(string(src)); err != nil {
		return kt, fmt.Errorf("%s: %w", where(kind+subjectSuffix), err)
	}
	// The kind's file is the root template; the shared files add their
	// definitions to it.
	kt.text = texttemplate.New(kind + textSuffix).Option("missingkey=error")
	for _, name := range textShared {
		if _, err := kt.text.New(name).Parse(string(sources[name])); err != nil {
			return kt, fmt.Errorf("%s: %w", where(name), err)
		}
	}
	if src, err = need(kind + textSuffix); err != nil {
		return kt, err
	}
	if _, err := kt.text.Parse(string(src)); err != nil {
		return kt, fmt.Errorf("%s: %w", where(kind+textSuffix), err)
	}
	kt.html = htmltemplate.New(kind + htmlSuffix).Option("missingkey=error")
	for _, name := range htmlShared {
		if _, err := kt.html.New(name).Parse(string(sources[name])); err != nil {
			return kt, fmt.Errorf("%s: %w", where(name), err)
		}
	}
	if src, err = need(kind + htmlSuffix); err != nil {
		return kt, err
	}
	if _, err := kt.html.Parse(string(src)); err != nil {
		return kt, fmt.Errorf("%s: %w", where(kind+htmlSuffix), err)
	}
	return kt, nil
}

// Kinds returns the message kinds that have templates, sorted.
func (t *Templates) Kinds() []string { return slices.Sorted(maps.Keys(t.kinds)) }

// Source returns where the template file name was read from: "embedded"
// or the path of its override ("" for an unknown name).
func (t *Templates) Source(name string) string { return t.files[name] }

// errNoTemplates is returned for a kind without templates.
var errNoTemplates = errors.New("no templates for this message kind")

// Render executes the templates of kind with data: the subject (trimmed,
// one line), the plain text and the HTML. Errors: ErrNotFound for a kind
// without templates; the templates' execution errors (a missing field or
// key, a subject with a line break or longer than 400 bytes).
func (t *Templates) Render(kind string, data any) (ports.RenderedMessage, error) {
	kt, ok := t.kinds[kind]
	if !ok {
		return ports.RenderedMessage{}, fmt.Errorf("render %q: %w: %w", kind, errNoTemplates, ecolaura.ErrNotFound)
	}
	var subject, text, html bytes.Buffer
	if err := kt.subject.Execute(&subject, data); err != nil {
		return ports.RenderedMessage{}, fmt.Errorf("render %s subject: %w", kind, err)
	}
	s := strings.TrimSpace(subject.String())
	if strings.ContainsAny(s, "\r\n") || len(s) > maxSubjectBytes {
		return ports.RenderedMessage{}, fmt.Errorf("render %s subject: must be one line of at most %d bytes, got %q", kind, maxSubjectBytes, s)
	}
	if err := kt.text.ExecuteTemplate(&text, kind+textSuffix, data); err != nil {
		return ports.RenderedMessage{}, fmt.Errorf("render %s text: %w", kind, err)
	}
	if err := kt.html.ExecuteTemplate(&html, kind+htmlSuffix, data); err != nil {
		return ports.RenderedMessage{}, fmt.Errorf("render %s html: %w", kind, err)
	}
	return ports.RenderedMessage{Subject: s, Text: strings.TrimSpace(text.String()) + "\n", HTML: strings.TrimSpace(html.String()) + "\n"}, nil
}
