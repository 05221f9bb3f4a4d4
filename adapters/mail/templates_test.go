package mail_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ecomail "github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
)

func TestDefaultTemplatesRenderEveryKind(t *testing.T) {
	tpl, err := ecomail.DefaultTemplates()
	require.NoError(t, err)
	var kinds []string
	for _, k := range notify.Kinds() {
		kinds = append(kinds, string(k.Kind))
	}
	assert.ElementsMatch(t, kinds, tpl.Kinds(), "one set of templates per message kind the core sends")
	require.NoError(t, notify.Check(tpl, notify.SampleShop))
	for _, k := range notify.Kinds() {
		t.Run(string(k.Kind), func(t *testing.T) {
			m, err := tpl.Render(string(k.Kind), notify.View{Shop: notify.SampleShop, To: "ada@example.org", Data: k.Sample})
			require.NoError(t, err)
			assert.NotContains(t, m.Subject, "\n")
			for _, body := range []string{m.Text, m.HTML} {
				assert.Contains(t, body, "Ecolaura", "the shop's name")
				assert.Contains(t, body, "https://shop.example.org", "the shop's URL")
				assert.Contains(t, body, "help@example.org", "the support address")
			}
			assert.True(t, strings.HasPrefix(m.HTML, "<!DOCTYPE html>"), "the HTML body fills the layout")
			assert.NotContains(t, m.Text, "<p>", "the text body has no markup")
		})
	}
}

func TestTemplatesEscapeHTMLOnly(t *testing.T) {
	tpl, err := ecomail.DefaultTemplates()
	require.NoError(t, err)
	data := notify.Kinds()[0].Sample.(notify.OrderConfirmationData)
	data.Name = `<script>alert("x")</script>`
	m, err := tpl.Render(string(notify.OrderConfirmation), notify.View{Shop: notify.SampleShop, To: "a@example.org", Data: data})
	require.NoError(t, err)
	assert.NotContains(t, m.HTML, "<script>", "names are escaped in HTML")
	assert.Contains(t, m.HTML, "&lt;script&gt;")
	assert.Contains(t, m.HTML, "Bamboo toothbrush &lt;4-pack&gt;")
	assert.Contains(t, m.Text, `<script>alert("x")</script>`, "plain text is not HTML-escaped")
	assert.Contains(t, m.Text, "2 × Bamboo toothbrush <4-pack> @ 6.50 EUR = 13.00 EUR")
	assert.Contains(t, m.Text, "Carbon offset (3.25 kg CO2e): 0.07 EUR")
}

func TestTemplatesRenderErrors(t *testing.T) {
	tpl, err := ecomail.DefaultTemplates()
	require.NoError(t, err)
	_, err = tpl.Render("no_such_kind", nil)
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
	_, err = tpl.Render(string(notify.PasswordReset), notify.View{Shop: notify.SampleShop, Data: map[string]any{"Name": "Ada"}})
	require.Error(t, err, "a missing key is an error, never an empty link")
}

func TestTemplatesOverrides(t *testing.T) {
	write := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for name, body := range files {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
		}
		return dir
	}
	view := notify.View{Shop: notify.SampleShop, To: "ada@example.org", Data: notify.Kinds()[1].Sample}
	t.Run("a file replaces its embedded template", func(t *testing.T) {
		dir := write(t, map[string]string{
			"password_reset.subject.tmpl": "{{.Shop.Name}}: new password for {{.To}}\n",
			"_layout.html.tmpl":           `{{define "layout"}}<html><body class="custom">{{template "body" .}}</body></html>{{end}}`,
			".hidden":                     "ignored",
		})
		tpl, err := ecomail.LoadTemplates(dir)
		require.NoError(t, err)
		m, err := tpl.Render(string(notify.PasswordReset), view)
		require.NoError(t, err)
		assert.Equal(t, "Ecolaura: new password for ada@example.org", m.Subject)
		assert.Contains(t, m.HTML, `<body class="custom">`, "the shared layout can be replaced too")
		assert.Contains(t, m.Text, view.Data.(notify.PasswordResetData).Link, "the other files stay embedded")
		assert.Equal(t, filepath.Join(dir, "password_reset.subject.tmpl"), tpl.Source("password_reset.subject.tmpl"))
		assert.Equal(t, "embedded", tpl.Source("password_reset.text.tmpl"))
	})
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"a misspelt file", map[string]string{"pasword_reset.subject.tmpl": "x"}, "pasword_reset.subject.tmpl replaces no template"},
		{"a template that does not parse", map[string]string{"verify_email.html.tmpl": "{{template \"layout\" .}}{{define \"body\"}}{{if}}{{end}}"}, "verify_email.html.tmpl"},
		{"a call of an unknown function", map[string]string{"verify_email.text.tmpl": "{{shout .Data.Name}}"}, "verify_email.text.tmpl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ecomail.LoadTemplates(write(t, tc.files))
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("an unreadable directory", func(t *testing.T) {
		_, err := ecomail.LoadTemplates(filepath.Join(t.TempDir(), "missing"))
		var ce *ecolaura.ConfigError
		require.ErrorAs(t, err, &ce)
	})
	t.Run("a template that fails with real data fails at start", func(t *testing.T) {
		// It parses, but names a field the data does not have: only
		// executing it tells, so notify.New renders every kind first.
		tpl, err := ecomail.LoadTemplates(write(t, map[string]string{"verify_email.text.tmpl": "Hello {{.Data.Nickname}}"}))
		require.NoError(t, err)
		_, err = notify.New(tpl, ecomail.NewRecorder(), notify.Config{Shop: notify.SampleShop})
		var ce *ecolaura.ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "templates.verify_email", ce.Fields[0].Field)
		assert.Contains(t, err.Error(), "Nickname")
	})
	t.Run("a branch taken only without the optional fields fails at start too", func(t *testing.T) {
		// The sample order has a carbon offset; most real orders have
		// none, and their branch must be checked before the first one is
		// mailed.
		for _, body := range []string{
			"{{if .Data.Offset}}offset {{.Data.Offset}}{{else}}no offset, {{.Data.Nickname}}{{end}}",
			"{{with .Data.OffsetFootprint}}{{.}}{{else}}{{.Data.Nickname}}{{end}}",
		} {
			tpl, err := ecomail.LoadTemplates(write(t, map[string]string{"order_confirmation.text.tmpl": body}))
			require.NoError(t, err)
			_, err = notify.New(tpl, ecomail.NewRecorder(), notify.Config{Shop: notify.SampleShop})
			var ce *ecolaura.ConfigError
			require.ErrorAs(t, err, &ce, body)
			assert.Equal(t, "templates.order_confirmation", ce.Fields[0].Field)
			assert.Contains(t, err.Error(), "Nickname")
		}
	})
}
