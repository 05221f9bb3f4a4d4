package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/passport"
)

// The GS1 Digital Link resolver (GS1 Digital Link standard 1.4, GS1-Conformant
// resolver standard 1.1): the URL a passport's QR code encodes,
// {public URL}/01/{GTIN}, optionally qualified by a batch/lot (/10/{batch})
// or a serial number (/21/{serial}), answers the product's Digital Product
// Passport in the representation the client asks for:
//
//   - ?linkType=gs1:sustainabilityInfo (or the full
//     https://gs1.org/voc/sustainabilityInfo), or Accept: application/ld+json
//     (or application/json): the passport as JSON-LD, a schema.org Product
//     with UNTP DPP terms (see docs/sustainability.md for the mapping);
//   - ?linkType=linkset (or all), or Accept: application/linkset+json: the
//     RFC 9264 link set of what the resolver offers for the GTIN;
//   - otherwise (a browser, */*): a readable, printable HTML page.
//
// ?version=N selects an older passport version (the current one by
// default). The GTIN may be a GTIN-8, -12, -13 or -14: the check digit is
// validated (400 on a wrong one) and the GTIN normalised to GTIN-14, so
// /01/4006381333931 and /01/04006381333931 are the same product. Unknown
// GTINs are 404. Errors are RFC 9457 problems as in /api/v2.

// Media types and link types of the resolver.
const (
	mediaJSONLD            = "application/ld+json"
	mediaLinkset           = "application/linkset+json"
	linkTypeSustainability = "gs1:sustainabilityInfo"
	gs1Vocab               = "https://gs1.org/voc/"
	untpVocab              = "https://test.uncefact.org/vocabulary/untp/dpp/0/"
	schemaContext          = "https://schema.org/"
)

// registerResolver registers the Digital Link routes.
func (s *Server) registerResolver() {
	s.get(s.app, "/01/:gtin", s.resolveDigitalLink)
	s.get(s.app, "/01/:gtin/10/:batch", s.resolveDigitalLink)
	s.get(s.app, "/01/:gtin/21/:serial", s.resolveDigitalLink)
}

// validAIValue reports whether v is a valid value of GS1 application
// identifier 10 (batch/lot) or 21 (serial): 1–20 characters of GS1's
// character set 82 (printable ASCII without space, '"', '#', '$', '@',
// '[', '\', ']', '^', '`', '{', '|', '}' and '~').
func validAIValue(v string) bool {
	if v == "" || len(v) > 20 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"#$@[\\]^`{|}~", c) >= 0 {
			return false
		}
	}
	return true
}

func (s *Server) resolveDigitalLink(c *fiber.Ctx) error {
	var v ecolaura.Validator
	// A route parameter is never empty; the route tells which one it has
	// (compared by suffix: a host app may mount the API under a prefix).
	if route := c.Route().Path; strings.HasSuffix(route, "/10/:batch") {
		v.Check(validAIValue(c.Params("batch")), "batch", "must be 1-20 characters of GS1 character set 82")
	} else if strings.HasSuffix(route, "/21/:serial") {
		v.Check(validAIValue(c.Params("serial")), "serial", "must be 1-20 characters of GS1 character set 82")
	}
	q := queryValues(c)
	number := 0
	if q.Has("version") {
		n, err := strconv.Atoi(q.Get("version"))
		v.Check(err == nil && n >= 1, "version", "must be a version number (1, 2, ...)")
		number = n
	}
	if err := v.Err(); err != nil {
		return err
	}
	format := ""
	switch lt := q.Get("linkType"); lt {
	case "":
	case linkTypeSustainability, gs1Vocab + "sustainabilityInfo":
		format = mediaJSONLD
	case "linkset", "all":
		format = mediaLinkset
	default:
		return newHTTPError(http.StatusNotFound, "not-found", "The resolver has no link of type "+strconv.Quote(lt)+" for this GTIN: ask for linkType=linkset to see what it has.")
	}
	c.Vary(fiber.HeaderAccept)
	if format == "" {
		switch c.Accepts(fiber.MIMETextHTML, mediaJSONLD, mediaLinkset, fiber.MIMEApplicationJSON) {
		case fiber.MIMETextHTML:
			format = fiber.MIMETextHTML
		case mediaJSONLD, fiber.MIMEApplicationJSON:
			format = mediaJSONLD
		case mediaLinkset:
			format = mediaLinkset
		default:
			return newHTTPError(http.StatusNotAcceptable, "not-acceptable", "The resolver answers text/html, application/ld+json and application/linkset+json.")
		}
	}
	view, err := s.svc.Passports.Resolve(c.UserContext(), principal(c), c.Params("gtin"), number)
	if err != nil {
		return err
	}
	switch format {
	case mediaJSONLD:
		return s.sendLD(c, mediaJSONLD, s.passportJSONLD(c, view))
	case mediaLinkset:
		return s.sendLD(c, mediaLinkset, s.passportLinkset(c, view))
	}
	return s.sendPassportPage(c, view)
}

// privatePassport keeps a draft product's passport (which only staff may
// read) out of shared caches: its responses are private, never public.
func privatePassport(c *fiber.Ctx, p ecolaura.Product) {
	if p.Status == ecolaura.ProductDraft {
		c.Set(fiber.HeaderCacheControl, "private, no-cache")
	}
}

func (s *Server) sendLD(c *fiber.Ctx, media string, v any) error {
	body, err := jsonMarshal(v)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, media)
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	return c.Status(http.StatusOK).Send(body)
}

// passportURLs are the addresses of one passport version.
type passportURLs struct {
	link, self, api, versions string
}

func (s *Server) passportURLs(c *fiber.Ctx, view passport.View) passportURLs {
	link := s.digitalLink(c, view.Version.Passport.GTIN)
	api := s.absURL(c, "/api/v2/products/"+string(view.Product.ID)+"/passport")
	return passportURLs{link: link, self: link + "?version=" + strconv.Itoa(view.Version.Number), api: api, versions: api + "/versions"}
}

// ldContext is the JSON-LD context of the passport document: schema.org as
// the default vocabulary, and the UNTP DPP and GS1 vocabularies under their
// prefixes (docs/sustainability.md lists the mapping).
func ldContext() []any {
	return []any{schemaContext, map[string]any{"untp": untpVocab, "gs1": gs1Vocab}}
}

// fraction turns hundredths of a percent into a fraction of one (0.295).
func fraction(h ecolaura.Hundredths) json.Number {
	return json.Number(strconv.FormatFloat(float64(h)/10_000, 'f', -1, 64))
}

// passportJSONLD renders the passport as a schema.org Product with UNTP DPP
// terms (the mapping is in docs/sustainability.md).
func (s *Server) passportJSONLD(c *fiber.Ctx, view passport.View) map[string]any {
	u := s.passportURLs(c, view)
	p, v := view.Product, view.Version
	pp := v.Passport
	doc := map[string]any{
		"@context":               ldContext(),
		"@id":                    u.link,
		"@type":                  []string{"Product", "untp:Product"},
		"gtin":                   string(pp.GTIN),
		"name":                   p.Name,
		"category":               p.Category,
		"url":                    u.link,
		"version":                strconv.Itoa(v.Number),
		"dateModified":           rfc3339(v.PublishedAt),
		"subjectOf":              map[string]any{"@id": u.self, "@type": "DigitalDocument", "name": "Digital Product Passport, version " + strconv.Itoa(v.Number), "encodingFormat": mediaJSONLD},
		"gs1:sustainabilityInfo": map[string]any{"@id": u.self},
	}
	if p.Description != "" {
		doc["description"] = p.Description
	}
	m := map[string]any{"@type": "Organization", "name": pp.Manufacturer.Name}
	if pp.Manufacturer.Address != "" {
		m["address"] = pp.Manufacturer.Address
	}
	if pp.Manufacturer.Contact != "" {
		m["contactPoint"] = map[string]any{"@type": "ContactPoint", "description": pp.Manufacturer.Contact}
	}
	doc["manufacturer"] = m
	if pp.CountryOfOrigin != "" {
		doc["countryOfOrigin"] = map[string]any{"@type": "Country", "identifier": pp.CountryOfOrigin}
		doc["untp:countryOfProduction"] = pp.CountryOfOrigin
	}
	var materials []any
	for _, mat := range pp.Materials {
		materials = append(materials, map[string]any{
			"@type": "untp:Material", "untp:name": mat.Material,
			"untp:massFraction": fraction(mat.SharePct), "untp:recycledMassFraction": fraction(mat.RecycledPct),
			"additionalProperty": map[string]any{"@type": "PropertyValue", "propertyID": "renewableMassFraction", "value": fraction(mat.RenewablePct)},
		})
	}
	if len(materials) > 0 {
		doc["untp:materialsProvenance"] = materials
		names := make([]string, 0, len(pp.Materials))
		for _, mat := range pp.Materials {
			names = append(names, mat.Material)
		}
		doc["material"] = names
	}
	if pct, _, ok := pp.RecycledContent(); ok {
		doc["untp:circularityScorecard"] = map[string]any{"@type": "untp:CircularityPerformance", "untp:recycledContent": fraction(pct)}
	}
	var props []any
	prop := func(id string, value any, unit string) {
		pv := map[string]any{"@type": "PropertyValue", "propertyID": id, "value": value}
		if unit != "" {
			pv["unitCode"] = unit
		}
		props = append(props, pv)
	}
	if y := pp.ExpectedLifetimeYears; y != nil {
		prop("expectedLifetime", *y, "ANN")
	}
	if r := pp.Repairability; r != nil {
		doc["untp:repairabilityScore"] = json.Number(r.Score.String())
		prop("sparePartsAvailability", r.SparePartsYears, "ANN")
	}
	for _, sub := range pp.SubstancesOfConcern {
		pv := map[string]any{"@type": "PropertyValue", "propertyID": "substanceOfConcern", "name": sub.Name}
		if sub.CASNumber != "" {
			pv["identifier"] = "CAS " + sub.CASNumber
		}
		if sub.ConcentrationPct != nil {
			pv["value"], pv["unitCode"] = json.Number(sub.ConcentrationPct.String()), "P1"
		}
		props = append(props, pv)
	}
	if pp.CareInstructions != "" {
		prop("careInstructions", pp.CareInstructions, "")
	}
	if pp.EndOfLife != "" {
		prop("endOfLife", pp.EndOfLife, "")
	}
	if len(props) > 0 {
		doc["additionalProperty"] = props
	}
	var certs []any
	for _, cert := range pp.Certifications {
		status := "CertificationActive"
		if cert.StatusAt(view.At) != ecolaura.CertificateValid {
			status = "CertificationInactive"
		}
		ce := map[string]any{
			"@type": "Certification", "name": cert.Scheme, "issuedBy": map[string]any{"@type": "Organization", "name": cert.Issuer},
			"certificationIdentification": cert.Number, "validFrom": string(cert.ValidFrom), "certificationStatus": status,
		}
		if cert.ValidUntil != "" {
			ce["expires"] = string(cert.ValidUntil)
		}
		if cert.VerificationURL != "" {
			ce["url"] = cert.VerificationURL
		}
		certs = append(certs, ce)
	}
	if len(certs) > 0 {
		doc["hasCertification"] = certs
	}
	if fp := pp.CarbonFootprint; fp != nil {
		doc["untp:emissionsScorecard"] = map[string]any{
			"@type": "untp:EmissionsPerformance", "untp:carbonFootprint": json.Number(strconv.FormatFloat(ecolaura.CO2e(fp.KgCO2e).Kg(), 'f', -1, 64)),
			"untp:declaredUnit": "KGM", "untp:operationalScope": fp.Boundary, "untp:reportingStandard": fp.Method,
		}
	}
	return doc
}

// linksetLink is one target of an RFC 9264 link set.
type linksetLink struct {
	Href     string   `json:"href"`
	Type     string   `json:"type,omitempty"`
	Title    string   `json:"title,omitempty"`
	Hreflang []string `json:"hreflang,omitempty"`
}

// passportLinkset lists what the resolver offers for the GTIN (RFC 9264,
// GS1 link types as relation types).
func (s *Server) passportLinkset(c *fiber.Ctx, view passport.View) map[string]any {
	u := s.passportURLs(c, view)
	name := view.Product.Name
	ctx := map[string]any{
		"anchor":                 u.link,
		gs1Vocab + "defaultLink": []linksetLink{{Href: u.link, Type: fiber.MIMETextHTML, Title: "Product passport of " + name, Hreflang: []string{"en"}}},
		gs1Vocab + "pip":         []linksetLink{{Href: u.link, Type: fiber.MIMETextHTML, Title: "Product passport of " + name, Hreflang: []string{"en"}}},
		gs1Vocab + "sustainabilityInfo": []linksetLink{
			{Href: u.link + "?linkType=" + linkTypeSustainability, Type: mediaJSONLD, Title: "Digital Product Passport (JSON-LD)"},
		},
		"describedby":     []linksetLink{{Href: u.api, Type: fiber.MIMEApplicationJSON, Title: "Passport in the Ecolaura API"}},
		"latest-version":  []linksetLink{{Href: u.link + "?version=" + strconv.Itoa(view.Versions[0].Number), Type: fiber.MIMETextHTML}},
		"version-history": []linksetLink{{Href: u.versions, Type: fiber.MIMEApplicationJSON}},
	}
	var older []linksetLink
	for _, info := range view.Versions[1:] {
		older = append(older, linksetLink{Href: u.link + "?version=" + strconv.Itoa(info.Number), Type: fiber.MIMETextHTML, Title: "Version " + strconv.Itoa(info.Number)})
	}
	if len(older) > 0 {
		ctx["predecessor-version"] = older
	}
	return map[string]any{"linkset": []any{ctx}}
}

// passportPageStyle is the page's only style sheet, inline; the Content
// Security Policy allows exactly it by its hash.
const passportPageStyle = `body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:0 auto;padding:1rem;color:#111;background:#fff}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:1.5rem;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #ccc;vertical-align:top}
caption{text-align:left;font-weight:bold}.expired{text-decoration:line-through}.note{color:#333}
a{color:#0645ad}@media print{nav,.noprint{display:none}a{color:#111}body{font-size:11pt}}`

var passportPageCSP = func() string {
	sum := sha256.Sum256([]byte(passportPageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'"
}()

var passportPage = template.Must(template.New("passport").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Product passport: {{.Name}}</title>
<link rel="alternate" type="application/ld+json" href="{{.LDURL}}">
<style>{{.Style}}</style>
</head>
<body>
<main>
<h1>Product passport: {{.Name}}</h1>
<p>GTIN {{.GTIN}}. {{if .Current}}Current version {{.Version}}{{else}}Version {{.Version}} (not the current one: <a href="{{.LatestURL}}">see version {{.Latest}}</a>){{end}}, published {{.Published}}.</p>
<h2 id="manufacturer">Manufacturer</h2>
<p>{{.Manufacturer.Name}}{{if .Manufacturer.Address}}<br>{{.Manufacturer.Address}}{{end}}{{if .Manufacturer.Contact}}<br>Contact: {{.Manufacturer.Contact}}{{end}}</p>
{{if .Country}}<p>Country of origin: {{.Country}}</p>{{end}}
{{if .Materials}}<h2 id="materials">Materials</h2>
<table><caption>Material composition (share of the product's mass)</caption>
<thead><tr><th scope="col">Material</th><th scope="col">Share</th><th scope="col">Recycled</th><th scope="col">Renewable</th></tr></thead>
<tbody>{{range .Materials}}<tr><th scope="row">{{.Material}}</th><td>{{.SharePct.Percent}}</td><td>{{.RecycledPct.Percent}}</td><td>{{.RenewablePct.Percent}}</td></tr>{{end}}</tbody></table>{{end}}
{{if .RecycledContent}}<p>Recycled content of the whole product: {{.RecycledContent}}</p>{{end}}
<h2 id="durability">Durability and repair</h2>
<ul>
<li>Expected lifetime: {{if .Lifetime}}{{.Lifetime}} years{{else}}not declared{{end}}</li>
<li>Repairability score: {{if .Repair}}{{.Repair.Score}} out of 10; spare parts for {{.Repair.SparePartsYears}} years{{else}}not declared{{end}}</li>
</ul>
{{if .Substances}}<h2 id="substances">Substances of concern</h2>
<table><caption>Substances of concern</caption>
<thead><tr><th scope="col">Substance</th><th scope="col">CAS number</th><th scope="col">Concentration</th></tr></thead>
<tbody>{{range .Substances}}<tr><th scope="row">{{.Name}}</th><td>{{.CASNumber}}</td><td>{{if .ConcentrationPct}}{{.ConcentrationPct.Percent}}{{end}}</td></tr>{{end}}</tbody></table>{{end}}
{{if .Certificates}}<h2 id="certificates">Certificates</h2>
<table><caption>Certificates and their status on {{.Today}}</caption>
<thead><tr><th scope="col">Scheme</th><th scope="col">Issuer</th><th scope="col">Number</th><th scope="col">Valid</th><th scope="col">Status</th></tr></thead>
<tbody>{{range .Certificates}}<tr><th scope="row">{{if .VerificationURL}}<a href="{{.VerificationURL}}">{{.Scheme}}</a>{{else}}{{.Scheme}}{{end}}</th><td>{{.Issuer}}</td><td>{{.Number}}</td><td>{{.ValidFrom}} to {{if .ValidUntil}}{{.ValidUntil}}{{else}}open-ended{{end}}</td><td{{if eq .Status "Expired"}} class="expired"{{end}}>{{.Status}}</td></tr>{{end}}</tbody></table>{{end}}
{{if .Footprint}}<h2 id="footprint">Carbon footprint</h2>
<p>{{.Footprint}} per unit ({{.FootprintBoundary}}, {{.FootprintMethod}}).</p>{{end}}
{{if .Care}}<h2 id="care">Care</h2><p>{{.Care}}</p>{{end}}
{{if .EndOfLife}}<h2 id="end-of-life">End of life</h2><p>{{.EndOfLife}}</p>{{end}}
</main>
<nav aria-labelledby="versions">
<h2 id="versions">Versions</h2>
<ul>{{range .Versions}}<li>{{if .This}}Version {{.Number}} (this page){{else}}<a href="{{.URL}}">Version {{.Number}}</a>{{end}}, published {{.Published}}</li>{{end}}</ul>
<p class="noprint">Machine-readable: <a href="{{.LDURL}}" type="application/ld+json">JSON-LD</a>, <a href="{{.LinksetURL}}" type="application/linkset+json">link set</a>.</p>
</nav>
</body>
</html>
`))

type pageCertificate struct {
	ecolaura.PassportCertificate
	Status string
}

type pageVersion struct {
	Number         int
	Published, URL string
	This           bool
}

func (s *Server) sendPassportPage(c *fiber.Ctx, view passport.View) error {
	u := s.passportURLs(c, view)
	pp := view.Version.Passport
	day := func(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }
	data := map[string]any{
		"Style": template.CSS(passportPageStyle), "Name": view.Product.Name, "GTIN": string(pp.GTIN),
		"Current": view.Current(), "Version": view.Version.Number, "Latest": view.Versions[0].Number,
		"LatestURL": u.link + "?version=" + strconv.Itoa(view.Versions[0].Number), "Published": day(view.Version.PublishedAt),
		"Manufacturer": pp.Manufacturer, "Country": pp.CountryOfOrigin, "Materials": pp.Materials,
		"Lifetime": pp.ExpectedLifetimeYears, "Repair": pp.Repairability, "Substances": pp.SubstancesOfConcern,
		"Care": pp.CareInstructions, "EndOfLife": pp.EndOfLife, "Today": ecolaura.DateOf(view.At),
		"LDURL": u.self + "&linkType=" + linkTypeSustainability, "LinksetURL": u.link + "?linkType=linkset",
	}
	if pct, _, ok := pp.RecycledContent(); ok {
		data["RecycledContent"] = pct.Percent()
	}
	if fp := pp.CarbonFootprint; fp != nil {
		data["Footprint"], data["FootprintBoundary"], data["FootprintMethod"] = ecolaura.CO2e(fp.KgCO2e).String(), fp.Boundary, fp.Method
	}
	var certs []pageCertificate
	for _, cert := range pp.Certifications {
		st := map[ecolaura.CertificateStatus]string{ecolaura.CertificateValid: "Valid", ecolaura.CertificateExpired: "Expired", ecolaura.CertificateNotYetValid: "Not yet valid"}[cert.StatusAt(view.At)]
		certs = append(certs, pageCertificate{PassportCertificate: cert, Status: st})
	}
	data["Certificates"] = certs
	var versions []pageVersion
	for _, info := range view.Versions {
		versions = append(versions, pageVersion{Number: info.Number, Published: day(info.PublishedAt),
			URL: u.link + "?version=" + strconv.Itoa(info.Number), This: info.Number == view.Version.Number})
	}
	data["Versions"] = versions
	var b strings.Builder
	if err := passportPage.Execute(&b, data); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderContentSecurityPolicy, passportPageCSP)
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	return c.Status(http.StatusOK).SendString(b.String())
}
