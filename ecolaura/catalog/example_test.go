package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
)

// Staff create and edit products; the score follows the metrics; customers
// may read but not write.
func Example() {
	ctx := context.Background()
	svc, err := catalog.New(memory.NewDatabase(), memory.NewManualClock(time.Date(2026, 4, 22, 9, 0, 0, 0, time.UTC)), memory.NewSequentialIDs())
	if err != nil {
		panic(err)
	}
	staff := ecolaura.Principal{UserID: "00000000-0000-7000-8000-00000000000a", Role: ecolaura.RoleStaff}
	customer := ecolaura.Principal{UserID: "00000000-0000-7000-8000-00000000000b", Role: ecolaura.RoleCustomer}

	price, _ := ecolaura.ParsePrice("24.90", ecolaura.DefaultCurrency)
	board, err := svc.Create(ctx, staff, catalog.ProductInput{
		Name: "Bamboo Cutting Board", Category: "kitchen", Price: price, Stock: 12,
		Metrics: &ecolaura.SustainabilityMetrics{
			CarbonFootprint: 1800, // grams CO2e per unit
			Biodegradable:   true,
			Certifications:  []ecolaura.Certification{ecolaura.CertFSC},
		},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(board.Name, board.Price, "score", board.Score, "version", board.Version)

	// A partial, conditional update: the stock changes, nothing else.
	stock := 11
	board, err = svc.Update(ctx, staff, board.ID, catalog.Patch{Stock: &stock, ExpectedVersion: &board.Version})
	if err != nil {
		panic(err)
	}
	fmt.Println("stock", board.Stock, "version", board.Version)

	// The same expected version again loses: someone else changed it.
	_, err = svc.Update(ctx, staff, board.ID, catalog.Patch{Stock: &stock, ExpectedVersion: ptr(int64(1))})
	fmt.Println(errors.Is(err, ecolaura.ErrConflict))

	// Customers may not edit the catalog.
	err = svc.Delete(ctx, customer, board.ID)
	fmt.Println(errors.Is(err, ecolaura.ErrForbidden))

	// Invalid input is reported field by field.
	_, err = svc.Create(ctx, staff, catalog.ProductInput{Name: " ", Category: "Kitchen Stuff", Stock: -1})
	var ve *ecolaura.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			fmt.Printf("%s: %s\n", f.Field, f.Message)
		}
	}
	// Output:
	// Bamboo Cutting Board 24.90 EUR score 51 version 1
	// stock 11 version 2
	// true
	// true
	// category: must be a slug of lower-case letters, digits and hyphens (1-50 characters)
	// name: must not be blank
	// stock: must not be negative
}

// Numbered pages carry a total (as the DRF-compatible API needs); cursor
// pages continue with NextCursor.
func ExampleService_List() {
	ctx := context.Background()
	svc, err := catalog.New(memory.NewDatabase(), memory.NewManualClock(time.Date(2026, 4, 22, 9, 0, 0, 0, time.UTC)), memory.NewSequentialIDs())
	if err != nil {
		panic(err)
	}
	for i, name := range []string{"Soap Bar", "Shampoo Bar", "Bamboo Brush", "Safety Razor", "Loofah"} {
		_, err := svc.Create(ctx, ecolaura.System(), catalog.ProductInput{
			Name: name, Category: "personal-care", Price: ecolaura.Money{Amount: int64(500 + 250*i)}, Stock: 5, Score: 50 + i,
		})
		if err != nil {
			panic(err)
		}
	}
	page, err := svc.List(ctx, ecolaura.Anonymous, catalog.ListParams{Sort: ecolaura.SortPriceDesc, Page: 1, PageSize: 2})
	if err != nil {
		panic(err)
	}
	fmt.Println("total", page.Total, "pages", page.Page.Pages)
	params := catalog.ListParams{Sort: ecolaura.SortPriceDesc, PageSize: 2}
	for {
		res, err := svc.List(ctx, ecolaura.Anonymous, params)
		if err != nil {
			panic(err)
		}
		for _, p := range res.Items {
			fmt.Println(p.Name, p.Price)
		}
		if res.NextCursor == "" {
			break
		}
		params.Cursor = res.NextCursor
	}
	// Output:
	// total 5 pages 3
	// Loofah 15.00 EUR
	// Safety Razor 12.50 EUR
	// Bamboo Brush 10.00 EUR
	// Shampoo Bar 7.50 EUR
	// Soap Bar 5.00 EUR
}
