package orders

import (
	"strings"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/notify"
)

// ConfirmationData is what the confirmation email of order for user shows
// (the notify.OrderConfirmation message): the lines, the subtotal, the
// carbon offset if bought, the total and the order's carbon footprint,
// all in display form (amounts "12.50 EUR", footprints "1.5 kg CO2e").
func ConfirmationData(order ecolaura.Order, user ecolaura.User) notify.OrderConfirmationData {
	d := notify.OrderConfirmationData{
		Name:      strings.TrimSpace(user.Name),
		OrderID:   string(order.ID),
		ShortID:   shortID(order.ID),
		Subtotal:  order.Subtotal.String(),
		Total:     order.Total.String(),
		Footprint: order.Footprint.String(),
	}
	if d.Name == "" {
		d.Name = "there"
	}
	for _, l := range order.Lines {
		d.Lines = append(d.Lines, notify.OrderLine{Name: l.Name, Quantity: l.Quantity, UnitPrice: l.UnitPrice.String(), Total: l.Total.String()})
	}
	if order.Offset != nil {
		d.Offset = order.Offset.Price.String()
		d.OffsetFootprint = order.Offset.Footprint.String()
	}
	return d
}

func shortID(id ecolaura.ID) string {
	s := string(id)
	if i := strings.LastIndexByte(s, '-'); i >= 0 && len(s)-i > 8 {
		return strings.ToUpper(s[len(s)-8:])
	}
	return strings.ToUpper(s)
}
