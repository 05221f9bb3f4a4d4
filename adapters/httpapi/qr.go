package httpapi

import (
	"fmt"
	"html"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// QR codes of a product's passport. They encode the GS1 Digital Link URI
// of the product ({public URL}/01/{GTIN-14}), the URL printed on the
// product that the resolver (resolver.go) answers, with error correction
// level Q (25 % of the code may be damaged or covered and it still reads),
// the level GS1 recommends for codes printed on packaging. Encoded by
// github.com/skip2/go-qrcode (ISO/IEC 18004).

// qrModulePixels is the size of one module (QR "pixel") of the PNG.
const qrModulePixels = 8

// digitalLink returns the GS1 Digital Link URI of gtin under the API's
// public URL (ECOLAURA_PUBLIC_URL, or the request's allowed origin without
// one): "https://shop.example.org/01/09506000134352".
func (s *Server) digitalLink(c *fiber.Ctx, gtin ecolaura.GTIN) string {
	return s.absURL(c, "/01/"+string(gtin))
}

// passportQR encodes the Digital Link of the product's current passport.
// It sets the response's Cache-Control: public for 5 minutes, private for
// a draft product's (see privatePassport).
func (s *Server) passportQR(c *fiber.Ctx) (*qrcode.QRCode, string, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, "", err
	}
	if err := noQueryParams(c); err != nil {
		return nil, "", err
	}
	view, err := s.svc.Passports.Get(c.UserContext(), principal(c), id, 0)
	if err != nil {
		return nil, "", err
	}
	gtin := view.Version.Passport.GTIN
	if gtin == "" {
		return nil, "", newHTTPError(http.StatusNotFound, "not-found",
			"The product's passport declares no GTIN, so it has no GS1 Digital Link to encode: publish the passport with its gtin.")
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	privatePassport(c, view.Product)
	link := s.digitalLink(c, gtin)
	code, err := qrcode.New(link, qrcode.High) // level Q
	if err != nil {
		return nil, "", fmt.Errorf("encode QR code of %s: %w", link, err)
	}
	return code, link, nil
}

func (s *Server) v2PassportQRPNG(c *fiber.Ctx) error {
	code, link, err := s.passportQR(c)
	if err != nil {
		return err
	}
	png, err := code.PNG(-qrModulePixels)
	if err != nil {
		return fmt.Errorf("render QR code of %s: %w", link, err)
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set("Link", "<"+link+`>; rel="describedby"`)
	return c.Status(http.StatusOK).Send(png)
}

func (s *Server) v2PassportQRSVG(c *fiber.Ctx) error {
	code, link, err := s.passportQR(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/svg+xml")
	c.Set("Link", "<"+link+`>; rel="describedby"`)
	return c.Status(http.StatusOK).SendString(qrSVG(code.Bitmap(), link))
}

// qrSVG draws a QR bitmap (with its quiet zone) as a scalable SVG: one
// path of unit squares, crisp edges, a title naming the encoded URL.
func qrSVG(bits [][]bool, link string) string {
	n := len(bits)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="t" shape-rendering="crispEdges">`, n, n, n*qrModulePixels, n*qrModulePixels)
	fmt.Fprintf(&b, `<title id="t">QR code: %s</title><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, html.EscapeString(link), n, n)
	for y, row := range bits {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String()
}
