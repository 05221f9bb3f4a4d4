// Command bareserver is the baseline of the HTTP benchmarks in
// docs/benchmarks.md: a bare Fiber handler that returns a 20-product JSON
// body shaped like /api/v1/products/, encoded on every request, with no
// middleware, no store and no cache.
//
//	go run ./adapters/httpapi/internal/bareserver -addr 127.0.0.1:18081
package main

import (
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/gofiber/fiber/v2"
)

type metric struct {
	CarbonFootprint float64 `json:"carbon_footprint"`
	Recyclable      bool    `json:"recyclable"`
	Biodegradable   bool    `json:"biodegradable"`
}

type product struct {
	ID                   string  `json:"id"`
	Name                 string  `json:"name"`
	Description          string  `json:"description"`
	Category             string  `json:"category"`
	Price                string  `json:"price"`
	Stock                int     `json:"stock"`
	SustainabilityScore  int     `json:"sustainability_score"`
	SustainabilityMetric *metric `json:"sustainability_metric"`
	CreatedAt            string  `json:"created_at"`
	UpdatedAt            string  `json:"updated_at"`
}

type page struct {
	Count    int       `json:"count"`
	Next     *string   `json:"next"`
	Previous *string   `json:"previous"`
	Results  []product `json:"results"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	flag.Parse()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	next := "http://" + *addr + "/products/?category=kitchen&page=2"
	body := page{Count: 40, Next: &next}
	for i := range 20 {
		body.Results = append(body.Results, product{
			ID: fmt.Sprintf("01a21425-113c-717b-a1b2-b610b1e2%04d", i), Name: fmt.Sprintf("Organic Cotton Produce Bags %d", i),
			Description: "Mesh and muslin bags for fruit, vegetables and bulk goods, with tare weight labels.",
			Category:    "kitchen", Price: "12.00", Stock: 260, SustainabilityScore: 62,
			SustainabilityMetric: &metric{CarbonFootprint: 0.6, Biodegradable: true}, CreatedAt: now, UpdatedAt: now,
		})
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/products/", func(c *fiber.Ctx) error { return c.JSON(body) })
	log.Fatal(app.Listen(*addr))
}
