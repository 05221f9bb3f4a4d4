package orders

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

const confirmationHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif">
<p>Hello {{.Name}},</p>
<p>thank you for your order <strong>{{.OrderID}}</strong>. It is confirmed and being prepared.</p>
<table cellpadding="4" style="border-collapse: collapse">
<thead><tr><th align="left">Product</th><th align="right">Quantity</th><th align="right">Unit price</th><th align="right">Total</th></tr></thead>
<tbody>
{{- range .Lines}}
<tr><td>{{.Name}}</td><td align="right">{{.Quantity}}</td><td align="right">{{.UnitPrice}}</td><td align="right">{{.Total}}</td></tr>
{{- end}}
</tbody>
<tfoot>
<tr><td colspan="3">Subtotal</td><td align="right">{{.Subtotal}}</td></tr>
{{- if .Offset}}
<tr><td colspan="3">Carbon offset ({{.OffsetFootprint}})</td><td align="right">{{.Offset}}</td></tr>
{{- end}}
<tr><td colspan="3"><strong>Total</strong></td><td align="right"><strong>{{.Total}}</strong></td></tr>
</tfoot>
</table>
<p>Carbon footprint of this order: <strong>{{.Footprint}}</strong>{{if .Offset}}, compensated by your carbon offset{{end}}.</p>
<p>Thank you for shopping sustainably,<br>Ecolaura</p>
</body></html>
`

type emailLine struct {
	Name      string
	Quantity  int
	UnitPrice string
	Total     string
}

type emailData struct {
	Subject         string
	Name            string
	OrderID         string
	Lines           []emailLine
	Subtotal        string
	Offset          string // "" when no offset was bought
	OffsetFootprint string
	Total           string
	Footprint       string
}

// ConfirmationEmail renders the confirmation email of order for user: a
// plain-text and an HTML body (html/template, so names are escaped) listing
// the lines, the subtotal, the carbon offset if bought, the total and the
// order's carbon footprint in kg CO2e.
func ConfirmationEmail(order ecolaura.Order, user ecolaura.User) ports.Message {
	d := emailData{
		Subject:   "Your Ecolaura order " + shortID(order.ID) + " is confirmed",
		Name:      strings.TrimSpace(user.Name),
		OrderID:   string(order.ID),
		Subtotal:  order.Subtotal.String(),
		Total:     order.Total.String(),
		Footprint: order.Footprint.String(),
	}
	if d.Name == "" {
		d.Name = "there"
	}
	for _, l := range order.Lines {
		d.Lines = append(d.Lines, emailLine{Name: l.Name, Quantity: l.Quantity, UnitPrice: l.UnitPrice.String(), Total: l.Total.String()})
	}
	if order.Offset != nil {
		d.Offset = order.Offset.Price.String()
		d.OffsetFootprint = order.Offset.Footprint.String()
	}
	return ports.Message{
		To:      user.Email,
		Subject: d.Subject,
		Text:    confirmationText(d),
		HTML:    confirmationHTMLBody(d),
	}
}

func confirmationText(d emailData) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", d.Name)
	fmt.Fprintf(&b, "thank you for your order %s. It is confirmed and being prepared.\n\n", d.OrderID)
	for _, l := range d.Lines {
		fmt.Fprintf(&b, "  %d × %s @ %s = %s\n", l.Quantity, l.Name, l.UnitPrice, l.Total)
	}
	fmt.Fprintf(&b, "\nSubtotal: %s\n", d.Subtotal)
	if d.Offset != "" {
		fmt.Fprintf(&b, "Carbon offset (%s): %s\n", d.OffsetFootprint, d.Offset)
	}
	fmt.Fprintf(&b, "Total: %s\n\n", d.Total)
	fmt.Fprintf(&b, "Carbon footprint of this order: %s", d.Footprint)
	if d.Offset != "" {
		b.WriteString(", compensated by your carbon offset")
	}
	b.WriteString(".\n\nThank you for shopping sustainably,\nEcolaura\n")
	return b.String()
}

func confirmationHTMLBody(d emailData) string {
	// Parsed per email (cheap next to sending one) to keep no package state.
	t, err := template.New("confirmation").Parse(confirmationHTML)
	if err != nil {
		return "<pre>" + template.HTMLEscapeString(confirmationText(d)) + "</pre>"
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "<pre>" + template.HTMLEscapeString(confirmationText(d)) + "</pre>"
	}
	return b.String()
}

func shortID(id ecolaura.ID) string {
	s := string(id)
	if i := strings.LastIndexByte(s, '-'); i >= 0 && len(s)-i > 8 {
		return strings.ToUpper(s[len(s)-8:])
	}
	return strings.ToUpper(s)
}
