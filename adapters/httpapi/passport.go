package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// The Digital Product Passport endpoints of /api/v2: staff publish a new
// version with PUT; anyone reads the current version, an older one
// (?version=N) and the list of versions. See docs/openapi.yaml.

// v2PassportInput is the body of PUT /api/v2/products/{id}/passport: the
// whole passport (absent optional parts are unknown).
type v2PassportInput struct {
	GTIN                  *string                `json:"gtin" decode:"nullable"`
	Manufacturer          *v2ManufacturerInput   `json:"manufacturer"`
	CountryOfOrigin       *string                `json:"country_of_origin" decode:"nullable"`
	Materials             []v2MaterialInput      `json:"materials" decode:"nullable"`
	RecycledContentPct    *decimalValue          `json:"recycled_content_pct" decode:"nullable"`
	ExpectedLifetimeYears *int                   `json:"expected_lifetime_years" decode:"nullable"`
	Repairability         *v2RepairabilityInput  `json:"repairability" decode:"nullable"`
	SubstancesOfConcern   []v2SubstanceInput     `json:"substances_of_concern" decode:"nullable"`
	Certifications        []v2CertificateInput   `json:"certifications" decode:"nullable"`
	CarbonFootprint       *v2PassportFootprintIn `json:"carbon_footprint" decode:"nullable"`
	CareInstructions      *string                `json:"care_instructions" decode:"nullable"`
	EndOfLife             *string                `json:"end_of_life" decode:"nullable"`
}

type v2ManufacturerInput struct {
	Name    *string `json:"name"`
	Address *string `json:"address" decode:"nullable"`
	Contact *string `json:"contact" decode:"nullable"`
}

type v2MaterialInput struct {
	Material     *string       `json:"material"`
	SharePct     *decimalValue `json:"share_pct"`
	RecycledPct  *decimalValue `json:"recycled_pct"`
	RenewablePct *decimalValue `json:"renewable_pct"`
}

type v2RepairabilityInput struct {
	Score           *decimalValue `json:"score"`
	SparePartsYears *int          `json:"spare_parts_years"`
}

type v2SubstanceInput struct {
	Name             *string       `json:"name"`
	CASNumber        *string       `json:"cas_number" decode:"nullable"`
	ConcentrationPct *decimalValue `json:"concentration_pct" decode:"nullable"`
}

type v2CertificateInput struct {
	Scheme          *string `json:"scheme"`
	Issuer          *string `json:"issuer"`
	Number          *string `json:"number"`
	ValidFrom       *string `json:"valid_from"`
	ValidUntil      *string `json:"valid_until" decode:"nullable"`
	VerificationURL *string `json:"verification_url" decode:"nullable"`
}

type v2PassportFootprintIn struct {
	KgCO2e   *decimalValue `json:"kg_co2e"`
	Method   *string       `json:"method"`
	Boundary *string       `json:"boundary"`
}

// hundredths parses a percentage or score given with at most two decimal
// places; a malformed or too precise one is recorded on field.
func hundredths(d *decimalValue, field string, errs *fieldErrors) ecolaura.Hundredths {
	if d == nil {
		return 0
	}
	v, err := ecolaura.ParseDecimal(d.text, 2)
	if err != nil {
		errs.add(field, "must be a decimal number with at most 2 decimal places")
		return 0
	}
	return ecolaura.Hundredths(v)
}

// decodeV2Passport decodes a PUT body strictly and records every field
// error in errs. It returns only a malformed-JSON error.
func decodeV2Passport(body []byte, errs *fieldErrors) (ecolaura.Passport, error) {
	var in v2PassportInput
	if err := decodeBody(body, &in, true, v2Dialect, errs); err != nil {
		return ecolaura.Passport{}, err
	}
	var p ecolaura.Passport
	if in.GTIN != nil {
		g, err := ecolaura.ParseGTIN(*in.GTIN)
		if err != nil {
			_ = errs.mergeDomain(err, nil)
		}
		p.GTIN = g
	}
	errs.require(in.Manufacturer != nil, "manufacturer", v2Dialect)
	if m := in.Manufacturer; m != nil {
		errs.require(m.Name != nil, "manufacturer.name", v2Dialect)
		p.Manufacturer = ecolaura.Manufacturer{Name: deref(m.Name), Address: deref(m.Address), Contact: deref(m.Contact)}
	}
	p.CountryOfOrigin = deref(in.CountryOfOrigin)
	for i, m := range in.Materials {
		f := "materials[" + strconv.Itoa(i) + "]"
		errs.require(m.Material != nil, f+".material", v2Dialect)
		errs.require(m.SharePct != nil, f+".share_pct", v2Dialect)
		p.Materials = append(p.Materials, ecolaura.Material{
			Material: deref(m.Material), SharePct: hundredths(m.SharePct, f+".share_pct", errs),
			RecycledPct: hundredths(m.RecycledPct, f+".recycled_pct", errs), RenewablePct: hundredths(m.RenewablePct, f+".renewable_pct", errs),
		})
	}
	if in.RecycledContentPct != nil {
		h := hundredths(in.RecycledContentPct, "recycled_content_pct", errs)
		p.RecycledContentPct = &h
	}
	p.ExpectedLifetimeYears = in.ExpectedLifetimeYears
	if r := in.Repairability; r != nil {
		errs.require(r.Score != nil, "repairability.score", v2Dialect)
		p.Repairability = &ecolaura.Repairability{Score: hundredths(r.Score, "repairability.score", errs), SparePartsYears: deref(r.SparePartsYears)}
	}
	for i, s := range in.SubstancesOfConcern {
		f := "substances_of_concern[" + strconv.Itoa(i) + "]"
		errs.require(s.Name != nil, f+".name", v2Dialect)
		sub := ecolaura.Substance{Name: deref(s.Name), CASNumber: deref(s.CASNumber)}
		if s.ConcentrationPct != nil {
			h := hundredths(s.ConcentrationPct, f+".concentration_pct", errs)
			sub.ConcentrationPct = &h
		}
		p.SubstancesOfConcern = append(p.SubstancesOfConcern, sub)
	}
	for i, c := range in.Certifications {
		f := "certifications[" + strconv.Itoa(i) + "]"
		errs.require(c.Scheme != nil, f+".scheme", v2Dialect)
		errs.require(c.Issuer != nil, f+".issuer", v2Dialect)
		errs.require(c.Number != nil, f+".number", v2Dialect)
		errs.require(c.ValidFrom != nil, f+".valid_from", v2Dialect)
		p.Certifications = append(p.Certifications, ecolaura.PassportCertificate{
			Scheme: deref(c.Scheme), Issuer: deref(c.Issuer), Number: deref(c.Number),
			ValidFrom: ecolaura.Date(deref(c.ValidFrom)), ValidUntil: ecolaura.Date(deref(c.ValidUntil)), VerificationURL: deref(c.VerificationURL),
		})
	}
	if fp := in.CarbonFootprint; fp != nil {
		errs.require(fp.KgCO2e != nil, "carbon_footprint.kg_co2e", v2Dialect)
		errs.require(fp.Method != nil, "carbon_footprint.method", v2Dialect)
		errs.require(fp.Boundary != nil, "carbon_footprint.boundary", v2Dialect)
		out := &ecolaura.PassportFootprint{Method: deref(fp.Method), Boundary: deref(fp.Boundary)}
		if fp.KgCO2e != nil {
			g, err := ecolaura.ParseFootprintKg(fp.KgCO2e.text)
			_ = errs.mergeDomain(err, func(string) string { return "carbon_footprint.kg_co2e" })
			out.KgCO2e = ecolaura.KgCO2e(g)
		}
		p.CarbonFootprint = out
	}
	p.CareInstructions, p.EndOfLife = deref(in.CareInstructions), deref(in.EndOfLife)
	return p, nil
}

// v2Certificate is a certificate with its status at the time of the response.
type v2Certificate struct {
	ecolaura.PassportCertificate
	Status ecolaura.CertificateStatus `json:"status"`
}

// v2PassportBody is the passport of a response: the stored shape, with
// each certificate's status and the recycled content used by the score.
type v2PassportBody struct {
	ecolaura.Passport
	Certifications []v2Certificate `json:"certifications"`
	// RecycledContent is recycled_content_pct or, without it, the
	// share-weighted recycled share of the materials (null when neither).
	RecycledContent *v2RecycledContent `json:"recycled_content"`
}

type v2RecycledContent struct {
	Pct ecolaura.Hundredths `json:"pct"`
	// Source is "declared" (recycled_content_pct) or "materials".
	Source string `json:"source"`
}

type v2PassportVersion struct {
	ProductID     ecolaura.ID    `json:"product_id"`
	Version       int            `json:"version"`
	LatestVersion int            `json:"latest_version"`
	Current       bool           `json:"current"`
	PublishedAt   string         `json:"published_at"`
	PublishedBy   *ecolaura.ID   `json:"published_by"`
	Passport      v2PassportBody `json:"passport"`
	Links         v2PassportLink `json:"links"`
}

type v2PassportLink struct {
	// DigitalLink is the GS1 Digital Link URI of the passport's GTIN (what
	// the QR code encodes), null without a GTIN.
	DigitalLink *string `json:"digital_link"`
	Self        string  `json:"self"`
	Versions    string  `json:"versions"`
	QRPNG       string  `json:"qr_png"`
	QRSVG       string  `json:"qr_svg"`
}

// toV2PassportVersion renders version v of a passport whose latest
// version is latest, with certificate statuses as of at.
func (s *Server) toV2PassportVersion(c *fiber.Ctx, v ecolaura.PassportVersion, latest int, at time.Time) v2PassportVersion {
	base := "/api/v2/products/" + string(v.ProductID) + "/passport"
	out := v2PassportVersion{
		ProductID: v.ProductID, Version: v.Number, LatestVersion: latest, Current: v.Number == latest,
		PublishedAt: rfc3339(v.PublishedAt), Passport: v2PassportBody{Passport: v.Passport, Certifications: []v2Certificate{}},
		Links: v2PassportLink{
			Self: s.absURL(c, base+"?version="+strconv.Itoa(v.Number)), Versions: s.absURL(c, base+"/versions"),
			QRPNG: s.absURL(c, base+"/qr.png"), QRSVG: s.absURL(c, base+"/qr.svg"),
		},
	}
	if v.PublishedBy != "" {
		by := v.PublishedBy
		out.PublishedBy = &by
	}
	if v.Passport.GTIN != "" {
		dl := s.digitalLink(c, v.Passport.GTIN)
		out.Links.DigitalLink = &dl
	}
	for _, cert := range v.Passport.Certifications {
		out.Passport.Certifications = append(out.Passport.Certifications, v2Certificate{PassportCertificate: cert, Status: cert.StatusAt(at)})
	}
	if pct, declared, ok := v.Passport.RecycledContent(); ok {
		src := "materials"
		if declared {
			src = "declared"
		}
		out.Passport.RecycledContent = &v2RecycledContent{Pct: pct, Source: src}
	}
	return out
}

func (s *Server) v2PutPassport(c *fiber.Ctx) error {
	actor, id, err := staffPathID(c, "id")
	if err != nil {
		return err
	}
	var errs fieldErrors
	p, err := decodeV2Passport(c.Body(), &errs)
	if err != nil {
		return err
	}
	if len(errs.list) > 0 {
		if err := errs.mergeDomain(s.svc.Passports.Validate(p), nil); err != nil {
			return err
		}
		return errs.err()
	}
	v, err := s.svc.Passports.Publish(c.UserContext(), actor, id, p)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if v.Number == 1 {
		status = http.StatusCreated
		c.Location(s.absURL(c, "/api/v2/products/"+string(id)+"/passport"))
	}
	return sendJSON(c, status, s.toV2PassportVersion(c, v, v.Number, v.PublishedAt))
}

func (s *Server) v2GetPassport(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	q, err := v2Query(c)
	if err != nil {
		return err
	}
	if err := onlyParams(q, "version"); err != nil {
		return err
	}
	number := 0
	if q.Has("version") {
		n, err := strconv.Atoi(q.Get("version"))
		if err != nil || n < 1 {
			return ecolaura.Invalid("version", "must be a version number (1, 2, ...)")
		}
		number = n
	}
	view, err := s.svc.Passports.Get(c.UserContext(), principal(c), id, number)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, s.toV2PassportVersion(c, view.Version, view.Versions[0].Number, view.At))
}

type v2PassportVersionItem struct {
	Version     int          `json:"version"`
	PublishedAt string       `json:"published_at"`
	PublishedBy *ecolaura.ID `json:"published_by"`
	URL         string       `json:"url"`
}

type v2PassportVersions struct {
	ProductID     ecolaura.ID             `json:"product_id"`
	LatestVersion int                     `json:"latest_version"`
	Items         []v2PassportVersionItem `json:"items"`
}

func (s *Server) v2PassportVersions(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := noQueryParams(c); err != nil {
		return err
	}
	versions, err := s.svc.Passports.Versions(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	out := v2PassportVersions{ProductID: id, LatestVersion: versions[0].Number, Items: make([]v2PassportVersionItem, 0, len(versions))}
	for _, v := range versions {
		item := v2PassportVersionItem{Version: v.Number, PublishedAt: rfc3339(v.PublishedAt),
			URL: s.absURL(c, "/api/v2/products/"+string(id)+"/passport?version="+strconv.Itoa(v.Number))}
		if v.PublishedBy != "" {
			by := v.PublishedBy
			item.PublishedBy = &by
		}
		out.Items = append(out.Items, item)
	}
	return sendJSON(c, http.StatusOK, out)
}
